// Expected<T>: the result of an operation that can fail, holding either the
// value or the Error (error.h) that says what went wrong and where. Used at
// every module border instead of exceptions (LevelDB's Status, with a
// payload). Expected<void> (alias Status) is the result of an operation
// that returns nothing. KPOLICY_TRY propagates a failure to the caller.
//
// Thread-safety: a value type; const access from several threads is safe.
#ifndef KPOLICY_EXPECTED_H_
#define KPOLICY_EXPECTED_H_

#include <cassert>
#include <utility>
#include <variant>

#include "kpolicy/error.h"

namespace kpolicy {

// Wraps an error so that Expected's constructor can tell it from a value even
// when T and E are the same type.
template <typename E>
struct Unexpected {
  E error;
};

template <typename E>
Unexpected<std::decay_t<E>> Fail(E&& error) {
  return {std::forward<E>(error)};
}

template <typename T, typename E = Error>
class Expected {
 public:
  Expected(T value) : state_(std::in_place_index<0>, std::move(value)) {}
  template <typename U>
  Expected(Unexpected<U> failure) : state_(std::in_place_index<1>, E(std::move(failure.error))) {}

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  // Precondition: ok().
  T& value() & { assert(ok()); return std::get<0>(state_); }
  const T& value() const& { assert(ok()); return std::get<0>(state_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(state_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  // Precondition: !ok().
  const E& error() const& { assert(!ok()); return std::get<1>(state_); }
  E&& error() && { assert(!ok()); return std::get<1>(std::move(state_)); }

 private:
  std::variant<T, E> state_;
};

// An operation that returns nothing: success, or the error.
template <typename E>
class Expected<void, E> {
 public:
  Expected() = default;
  template <typename U>
  Expected(Unexpected<U> failure) : state_(std::in_place_index<1>, E(std::move(failure.error))) {}

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  // Precondition: !ok().
  const E& error() const& { assert(!ok()); return std::get<1>(state_); }
  E&& error() && { assert(!ok()); return std::get<1>(std::move(state_)); }

 private:
  std::variant<std::monostate, E> state_;
};

using Status = Expected<void>;

// Shorthand for Fail(Error(code, message)) and Fail(Error(code, place, message)).
inline Unexpected<Error> Fail(ErrorCode code, std::string message) {
  return {Error(code, std::move(message))};
}
inline Unexpected<Error> Fail(ErrorCode code, SourceLocation place, std::string message) {
  return {Error(code, std::move(place), std::move(message))};
}

}  // namespace kpolicy

// Evaluates `expr` (an Expected of any T); on failure returns its error from
// the enclosing function, which must return an Expected over the same error.
#define KPOLICY_TRY(expr)                                               \
  do {                                                                  \
    auto&& kpolicy_try_result_ = (expr);                                \
    if (!kpolicy_try_result_.ok()) {                                    \
      return ::kpolicy::Fail(std::move(kpolicy_try_result_).error());   \
    }                                                                   \
  } while (0)

#endif  // KPOLICY_EXPECTED_H_
