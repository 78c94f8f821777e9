// JSON: a small writer for policyctl's machine-readable output and the
// runtime's log line, and a reader for batch input lines. Only what those
// need: no comments, numbers kept as their text. The reader refuses what
// readers of JSON disagree on or what is not text: a key written twice in
// one object, bytes that are not UTF-8, lone surrogates, \u0000. The writer
// writes UTF-8 whatever its input, control, C1 and bidirectional characters
// escaped (printable.h).
//
// Thread-safety: JsonWriter is a value owned by one thread; ParseJson is pure.
#ifndef KPOLICY_JSON_H_
#define KPOLICY_JSON_H_

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kpolicy/expected.h"

namespace kpolicy {

// `text` as a JSON string literal, quotes included; bytes of `text` that are
// not UTF-8 become U+FFFD.
std::string JsonQuote(std::string_view text);

// Builds JSON text in order. With indent > 0, pretty-prints.
class JsonWriter {
 public:
  explicit JsonWriter(int indent = 0) : indent_(indent) {}

  JsonWriter& BeginObject();
  JsonWriter& EndObject();
  JsonWriter& BeginArray();
  JsonWriter& EndArray();
  JsonWriter& Key(std::string_view key);
  JsonWriter& String(std::string_view value);
  JsonWriter& Int(int64_t value);
  JsonWriter& Double(double value);
  JsonWriter& Bool(bool value);
  JsonWriter& Null();
  // Writes `json`, one complete value another writer rendered (an eval or
  // explain object, a decision), as the next value. With indent > 0 its
  // lines after the first are indented by the current depth, so a
  // pretty-printed value nests as if written here; trailing newlines are
  // dropped. `json` is trusted to be valid: it is not parsed.
  JsonWriter& Raw(std::string_view json);

  const std::string& text() const { return out_; }

 private:
  void BeforeValue();
  void Open(char c);
  void Close(char c);

  int indent_;
  std::string out_;
  std::vector<int> counts_;  // values written so far at each open level
  bool after_key_ = false;
};

struct JsonValue {
  enum Kind { kNull, kBool, kNumber, kString, kArray, kObject } kind = kNull;
  bool boolean = false;
  std::string text;  // kString: the decoded string; kNumber: its source text
  std::vector<JsonValue> items;                             // kArray
  std::vector<std::pair<std::string, JsonValue>> members;   // kObject, in order

  // The member named `key`, or nullptr.
  const JsonValue* Find(std::string_view key) const;

  // Declared here, defined (defaulted) in json.cpp where the type is
  // complete: clang with libstdc++ otherwise instantiates the members'
  // destructors inside this definition, while the pair's JsonValue is
  // still incomplete.
  JsonValue();
  ~JsonValue();
  JsonValue(const JsonValue&);
  JsonValue(JsonValue&&) noexcept;
  JsonValue& operator=(const JsonValue&);
  JsonValue& operator=(JsonValue&&) noexcept;
};

// Parses one JSON document; the error (kInvalidInput) names the column
// (1-based) in its message, and its place.offset is that byte offset
// (place.file stays empty: callers that know the file fill it in).
//
// `keep`, when given, decides which members are built: it sees the keys from
// the root to the member (array levels add none) and returns false for one
// that is only checked and dropped, with everything under it. A large
// document of which little is read (`kubectl get nodes -o json`) then costs
// a scan, not a tree.
//
// `stream`, when given, takes the elements of one array as they are parsed,
// instead of the tree keeping them: the array named by `path` (the member
// keys from the root, {"items"}) appears in the result empty, and each of
// its elements goes to `take` with its index, then is freed. A 100,000-node
// inventory is then read one node at a time. An error `take` returns stops
// the parse and is returned as it is.
using JsonKeep = bool (*)(std::span<const std::string_view> path);
struct JsonArrayStream {
  std::vector<std::string_view> path;
  std::function<Status(size_t index, JsonValue&& element)> take;
};
Expected<JsonValue> ParseJson(std::string_view text, JsonKeep keep = nullptr,
                              const JsonArrayStream* stream = nullptr);

}  // namespace kpolicy

#endif  // KPOLICY_JSON_H_
