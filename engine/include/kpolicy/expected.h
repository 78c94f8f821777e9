// Expected<T, E>: the result of an operation that can fail, holding either
// the value or the error that says what went wrong and where. Used at every
// module border instead of exceptions (LevelDB's Status, with a payload).
//
// Thread-safety: a value type; const access from several threads is safe.
#ifndef KPOLICY_EXPECTED_H_
#define KPOLICY_EXPECTED_H_

#include <cassert>
#include <utility>
#include <variant>

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

template <typename T, typename E>
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

}  // namespace kpolicy

#endif  // KPOLICY_EXPECTED_H_
