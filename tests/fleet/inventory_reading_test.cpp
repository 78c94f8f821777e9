// How a large inventory is read: the JSON string scan (eight bytes at a
// time), an array streamed element by element (JsonArrayStream: the nodes
// in order, a bad node the first error), the file mapped rather than read
// (special files refused up front), and JsonWriter::Raw, which nests one
// rendered document in another.
#define BOOST_TEST_MODULE inventory_reading
#include <boost/test/unit_test.hpp>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "kpolicy/inventory.h"
#include "kpolicy/json.h"

namespace kpolicy {
namespace {

namespace fs = std::filesystem;

struct TempPath {
  fs::path path;
  explicit TempPath(const std::string& ext) {
    std::random_device rd;
    path = fs::temp_directory_path() / ("kpolicy-reading-" + std::to_string(rd()) + ext);
  }
  ~TempPath() { fs::remove_all(path); }
  std::string Write(const std::string& text) const {
    std::ofstream(path, std::ios::binary) << text;
    return path.string();
  }
};

// A List of `n` GPU nodes named node-0..., with `bad` (if >= 0) carrying a
// compute capability that is not a number.
std::string Nodes(int n, int bad = -1, const std::string& tail = "]}") {
  std::string out = R"({"apiVersion":"v1","kind":"List","items":[)";
  for (int i = 0; i < n; ++i) {
    out += i ? "," : "";
    out += R"({"kind":"Node","metadata":{"name":"node-)" + std::to_string(i) +
           R"(","labels":{"nvidia.com/gpu.product":"NVIDIA-L4","nvidia.com/gpu.compute.major":")" +
           (i == bad ? std::string("x") : std::string("8")) +
           R"(","nvidia.com/gpu.compute.minor":"9"}},"status":{"capacity":{"cpu":"64"}}})";
  }
  return out + tail;
}

BOOST_AUTO_TEST_SUITE(json_strings)

// The scan tests words of eight bytes: put each byte that ends a run of
// plain characters at every offset of a word, and past the last whole word.
BOOST_AUTO_TEST_CASE(every_special_byte_is_found_at_every_offset) {
  for (size_t at = 0; at < 40; ++at) {
    const std::string plain(at, 'a');
    auto quoted = ParseJson("\"" + plain + "\"");
    BOOST_REQUIRE(quoted.ok());
    BOOST_TEST(quoted->text == plain);
    auto escaped = ParseJson("\"" + plain + "\\\"b\\\\c\\u00e9\"");
    BOOST_REQUIRE(escaped.ok());
    BOOST_TEST(escaped->text == plain + "\"b\\c\xc3\xa9");
    for (char control : {'\x00', '\x01', '\n', '\x1f'}) {
      auto bad = ParseJson("\"" + plain + std::string(1, control) + "zzzzzzzzzzzzzzzz\"");
      BOOST_REQUIRE(!bad.ok());
      BOOST_TEST(bad.error().message == "column " + std::to_string(at + 2) + ": control character in a string",
                 bad.error().message);
    }
  }
}

// Bytes just above the ones the scan stops at, and UTF-8 sequences of two,
// three and four bytes (where the word scan hands over to the UTF-8 check),
// are plain characters; a byte that starts no UTF-8 sequence is refused at
// its own column wherever it falls in the scan's 8-byte words.
BOOST_AUTO_TEST_CASE(bytes_near_the_special_ones_are_plain) {
  const std::string text = " !#[]\x7f\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\x21\x23 abcdefgh";
  auto v = ParseJson("\"" + text + "\"");
  BOOST_REQUIRE(v.ok());
  BOOST_TEST(v->text == text);
  for (size_t at = 0; at < 17; ++at) {
    for (const char* bad : {"\x80", "\xa0", "\xff", "\xc3("}) {
      auto refused = ParseJson("\"" + std::string(at, 'a') + bad + "zzzzzzzzzzzzzzzz\"");
      BOOST_REQUIRE(!refused.ok());
      BOOST_TEST(refused.error().message == "column " + std::to_string(at + 2) + ": not UTF-8: JSON text is UTF-8",
                 refused.error().message);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(array_stream)

BOOST_AUTO_TEST_CASE(elements_go_to_take_in_order_and_the_array_stays_empty) {
  std::vector<std::pair<size_t, std::string>> seen;
  const JsonArrayStream stream{{"items"}, [&](size_t i, JsonValue&& v) -> Status {
                                 seen.emplace_back(i, v.Find("n")->text);
                                 return {};
                               }};
  auto doc = ParseJson(R"({"kind":"List","items":[{"n":"a"},{"n":"b"},{"n":"c"}],"other":[1,2]})", nullptr, &stream);
  BOOST_REQUIRE(doc.ok());
  BOOST_TEST(doc->Find("items")->kind == JsonValue::kArray);
  BOOST_TEST(doc->Find("items")->items.empty());
  BOOST_TEST(doc->Find("other")->items.size() == 2u);  // only the named array streams
  BOOST_REQUIRE(seen.size() == 3u);
  BOOST_TEST(seen[2].first == 2u);
  BOOST_TEST(seen[2].second == "c");
}

BOOST_AUTO_TEST_CASE(an_error_from_take_stops_the_parse_and_is_returned_as_is) {
  int taken = 0;
  const JsonArrayStream stream{{"items"}, [&](size_t i, JsonValue&&) -> Status {
                                 ++taken;
                                 if (i == 1) return Fail(ErrorCode::kNotFound, "element 1 refused");
                                 return {};
                               }};
  auto doc = ParseJson(R"({"items":[1,2,3,4]})", nullptr, &stream);
  BOOST_REQUIRE(!doc.ok());
  BOOST_TEST((doc.error().code == ErrorCode::kNotFound));
  BOOST_TEST(doc.error().message == "element 1 refused");
  BOOST_TEST(taken == 2);
}

BOOST_AUTO_TEST_CASE(a_named_member_that_is_not_an_array_parses_as_itself) {
  const JsonArrayStream stream{{"items"}, [](size_t, JsonValue&&) -> Status { return {}; }};
  auto doc = ParseJson(R"({"items":{"a":1}})", nullptr, &stream);
  BOOST_REQUIRE(doc.ok());
  BOOST_TEST(doc->Find("items")->kind == JsonValue::kObject);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(kubectl_nodes)

BOOST_AUTO_TEST_CASE(streamed_nodes_keep_their_order) {
  auto inv = ReadKubectlNodes(Nodes(5000), "nodes.json");
  BOOST_REQUIRE(inv.ok());
  BOOST_REQUIRE(inv->nodes.size() == 5000u);
  for (size_t i = 0; i < inv->nodes.size(); ++i) {
    if (inv->nodes[i].name != "node-" + std::to_string(i)) BOOST_FAIL("node " << i << " is " << inv->nodes[i].name);
  }
  BOOST_TEST(inv->nodes[4999].catalog_key.value_or("") == "l4");
}

BOOST_AUTO_TEST_CASE(the_first_bad_node_is_the_error) {
  for (int bad : {0, 255, 256, 3000, 4999}) {
    auto inv = ReadKubectlNodes(Nodes(5000, bad), "nodes.json");
    BOOST_REQUIRE(!inv.ok());
    BOOST_TEST(inv.error().message.find(".items[" + std::to_string(bad) + "]") == 0u, inv.error().message);
  }
}

// A bad node before a syntax error is the error, as it is read first; a
// syntax error alone names its line and column.
BOOST_AUTO_TEST_CASE(a_bad_node_comes_before_a_later_syntax_error) {
  auto both = ReadKubectlNodes(Nodes(3000, 1000, "]"), "nodes.json");  // the List's '}' is missing
  BOOST_REQUIRE(!both.ok());
  BOOST_TEST(both.error().message.find(".items[1000]") == 0u, both.error().message);
  auto syntax = ReadKubectlNodes(Nodes(3000, -1, "]"), "nodes.json");
  BOOST_REQUIRE(!syntax.ok());
  BOOST_TEST(syntax.error().ToString().find("nodes.json:1:") == 0u, syntax.error().ToString());
  BOOST_TEST(syntax.error().message.find("not JSON") == 0u, syntax.error().message);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(inventory_files)

BOOST_AUTO_TEST_CASE(a_mapped_file_reads_as_its_text) {
  TempPath file(".json");
  auto inv = LoadInventoryFile(file.Write(Nodes(3)));
  BOOST_REQUIRE(inv.ok());
  BOOST_TEST(inv->nodes.size() == 3u);
  BOOST_TEST(inv->file == file.path.string());
}

BOOST_AUTO_TEST_CASE(special_files_are_refused_up_front) {
  TempPath dir("");
  fs::create_directories(dir.path);
  auto directory = LoadInventoryFile(dir.path.string());
  BOOST_REQUIRE(!directory.ok());
  BOOST_TEST((directory.error().code == ErrorCode::kUnreadable));
  BOOST_TEST(directory.error().message == "is a directory, not a regular file");
  // A FIFO with no writer would block a read for ever; it is refused at once.
  const std::string fifo = (dir.path / "fifo").string();
  BOOST_REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  auto pipe = LoadInventoryFile(fifo);
  BOOST_REQUIRE(!pipe.ok());
  BOOST_TEST(pipe.error().message == "is a FIFO, not a regular file");
  auto missing = LoadInventoryFile((dir.path / "missing.json").string());
  BOOST_REQUIRE(!missing.ok());
  BOOST_TEST(missing.error().message.find("cannot open: ") == 0u, missing.error().message);
}

BOOST_AUTO_TEST_CASE(an_empty_file_is_an_empty_plain_inventory_error) {
  TempPath file(".yaml");
  auto inv = LoadInventoryFile(file.Write(""));
  BOOST_TEST(!inv.ok());  // not a crash on a zero-length mapping
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(json_writer_raw)

BOOST_AUTO_TEST_CASE(a_rendered_value_nests_at_the_writers_depth) {
  JsonWriter inner(2);
  inner.BeginObject().Key("a").Int(1).Key("b").BeginArray().Int(2).EndArray().EndObject();
  JsonWriter outer(2);
  outer.BeginObject().Key("devices").BeginArray().Raw(inner.text() + "\n").EndArray().EndObject();
  BOOST_TEST(outer.text() == "{\n  \"devices\": [\n    {\n      \"a\": 1,\n      \"b\": [\n        2\n      ]\n    }\n  ]\n}");
  JsonWriter flat;
  flat.BeginArray().Raw(R"({"x":"a\nb"})").Raw("2").EndArray();
  BOOST_TEST(flat.text() == R"([{"x":"a\nb"},2])");
  BOOST_TEST(ParseJson(outer.text()).ok());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace kpolicy
