#include "kpolicy/inventory.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>
#include <unordered_map>
#include <variant>

#include "kpolicy/json.h"
#include "kpolicy/limits.h"
#include "mapped_file.h"
#include "yaml_document.h"

namespace kpolicy {
namespace {

// ---- numbers as label strings give them --------------------------------------

// A whole number written in decimal digits only ("06" is 6). Nine digits at
// most, so it fits an int; "" is no number (a GFD revision may be empty).
std::optional<int> ParseWholeNumber(std::string_view text) {
  if (text.empty() || text.size() > 9) return std::nullopt;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  int value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// ---- a node as its inventory states it, before the catalog is read ----------

struct StatedNode {
  std::string name;
  std::string product;
  std::optional<std::pair<int, int>> cc;
  std::optional<int> sms;
  std::optional<int64_t> memory_mib;
  DriverVersion driver;
  std::optional<int> count;
  MigLayout mig;
};

std::string CcText(int major, int minor) { return std::to_string(major) + "." + std::to_string(minor); }

std::string MigSummary(const MigLayout& mig) {
  std::string out = "MIG " + mig.strategy + ":";
  for (const MigProfile& p : mig.profiles) {
    out += " " + std::to_string(p.count) + "x " + p.name;
    if (p.sms > 0) out += " (" + std::to_string(p.sms) + " SMs)";
  }
  return out;
}

// MatchCatalogProduct, asked once per distinct product name: a fleet of
// 100,000 nodes names a handful of products.
class CatalogMatches {
 public:
  const std::optional<CatalogEntry>& Match(const std::string& product) {
    auto [it, inserted] = seen_.try_emplace(product);
    if (inserted) it->second = MatchCatalogProduct(product);
    return it->second;
  }

 private:
  std::unordered_map<std::string, std::optional<CatalogEntry>> seen_;
};

// The node the policy is evaluated for, or why it cannot be (never a guess).
std::variant<InventoryNode, SkippedNode> Resolve(StatedNode s, const std::string& file,
                                                 const std::string& missing_gpu_reason, CatalogMatches& catalog) {
  if (s.product.empty() && !s.cc) return SkippedNode{s.name, missing_gpu_reason};
  if (s.count && *s.count == 0) return SkippedNode{s.name, "GPU count is 0"};
  InventoryNode node;
  node.name = s.name;
  node.product = s.product;
  node.driver = s.driver;
  node.gpu_count = s.count.value_or(0);

  std::optional<CatalogEntry> entry;
  if (!s.product.empty()) entry = catalog.Match(s.product);
  if (entry && s.cc && (s.cc->first != entry->cc_major || s.cc->second != entry->cc_minor)) {
    node.flags.push_back("product '" + s.product + "' looks like catalog entry " + std::string(entry->key) +
                         " (cc " + CcText(entry->cc_major, entry->cc_minor) + ") but the node reports cc " +
                         CcText(s.cc->first, s.cc->second) + ": evaluated from the node's facts");
    entry.reset();
  }
  if (entry) {
    node.catalog_key = std::string(entry->key);
    node.facts = entry->ToFacts();
    // A catalog key names its compute capability; a product spelt otherwise
    // without compute labels is worth a look.
    if (!s.cc && !FindCatalogDevice(s.product)) {
      node.flags.push_back("no compute capability given: cc " + CcText(entry->cc_major, entry->cc_minor) +
                           " from catalog entry " + std::string(entry->key));
    }
  } else if (!s.cc) {
    return SkippedNode{s.name, "product '" + s.product +
                                   "' is not in the catalog and no compute capability is given"};
  } else {
    node.facts = DeviceFromComputeCapability(s.cc->first, s.cc->second, s.sms.value_or(-1), "");
    if (!s.product.empty()) node.facts.name = s.product;
    std::string flag = s.product.empty() ? "no product given" : "product '" + s.product + "' is not in the catalog";
    flag += ": evaluated from its facts (cc " + CcText(s.cc->first, s.cc->second) + ", ";
    flag += s.sms ? std::to_string(*s.sms) + " SMs)"
                  : "SM count unknown, assumed " + std::to_string(kFallbackNumSms) + ")";
    node.flags.push_back(std::move(flag));
  }
  if (s.sms) node.facts.num_sms = *s.sms;
  if (s.memory_mib) node.facts.memory_mib = *s.memory_mib;
  node.facts.driver_version = s.driver.ToString();
  node.facts.source = "node " + s.name + " of " + file;
  if (!s.mig.profiles.empty()) node.flags.push_back(MigSummary(s.mig));
  node.mig = std::move(s.mig);
  return node;
}

void AddResolved(Inventory& inventory, StatedNode stated, const std::string& missing_gpu_reason,
                 CatalogMatches& catalog) {
  auto resolved = Resolve(std::move(stated), inventory.file, missing_gpu_reason, catalog);
  if (auto* node = std::get_if<InventoryNode>(&resolved)) {
    inventory.nodes.push_back(std::move(*node));
  } else {
    inventory.skipped.push_back(std::get<SkippedNode>(std::move(resolved)));
  }
}

// ---- kubectl get nodes -o json ----------------------------------------------

// The labels GPU Feature Discovery writes (k8s-device-plugin's
// docs/gpu-feature-discovery/README.md, "Generated Labels").
constexpr std::string_view kLabelProduct = "nvidia.com/gpu.product";
constexpr std::string_view kLabelComputeMajor = "nvidia.com/gpu.compute.major";
constexpr std::string_view kLabelComputeMinor = "nvidia.com/gpu.compute.minor";
constexpr std::string_view kLabelCount = "nvidia.com/gpu.count";
constexpr std::string_view kLabelMemory = "nvidia.com/gpu.memory";
constexpr std::string_view kLabelMultiprocessors = "nvidia.com/gpu.multiprocessors";
constexpr std::string_view kLabelMigStrategy = "nvidia.com/mig.strategy";
constexpr std::string_view kMigTypePrefix = "nvidia.com/mig-";
// The driver: cuda.driver-version.* now, cuda.driver.* (deprecated) before.
constexpr std::string_view kLabelDriverFull = "nvidia.com/cuda.driver-version.full";
constexpr std::string_view kDriverLabels[2][3] = {
    {"nvidia.com/cuda.driver-version.major", "nvidia.com/cuda.driver-version.minor",
     "nvidia.com/cuda.driver-version.revision"},
    {"nvidia.com/cuda.driver.major", "nvidia.com/cuda.driver.minor", "nvidia.com/cuda.driver.rev"},
};

// Where a node is in the file: ".items[3]", or "" for a lone Node (no
// index). Spelt only for an error: a fleet's nodes are read by the 100,000.
std::string NodePath(std::optional<size_t> index) {
  return index ? ".items[" + std::to_string(*index) + "]" : "";
}

// Reads one node's labels; errors name the JSON path of the bad value.
class LabelReader {
 public:
  LabelReader(const JsonValue* labels, std::optional<size_t> index, const std::string& node, const std::string& file)
      : labels_(labels), index_(index), node_(node), file_(file) {}

  // The label's text; null when absent. A non-string value is an error.
  Expected<const std::string*> Text(std::string_view label) const {
    const JsonValue* v = labels_ ? labels_->Find(label) : nullptr;
    if (!v) return static_cast<const std::string*>(nullptr);
    if (v->kind != JsonValue::kString) return Fail(Bad(label, "a label value is a string"));
    return &v->text;
  }

  // The label as a whole number; nullopt when absent or "" (GFD writes an
  // empty revision for drivers that have none).
  Expected<std::optional<int>> Number(std::string_view label) const {
    auto text = Text(label);
    if (!text.ok()) return Fail(text.error());
    if (!*text || (*text)->empty()) return std::optional<int>();
    auto n = ParseWholeNumber(**text);
    if (!n) return Fail(Bad(label, "'" + **text + "' is not a whole number"));
    return std::optional<int>(*n);
  }

  Error Bad(std::string_view label, const std::string& message) const {
    return Error(ErrorCode::kInvalidInput, SourceLocation{file_},
                 NodePath(index_) + ".metadata.labels[" + JsonQuote(label) + "]: node '" + node_ + "': " + message);
  }

  const JsonValue* labels() const { return labels_; }

 private:
  const JsonValue* labels_;
  std::optional<size_t> index_;
  const std::string& node_;
  const std::string& file_;
};

Expected<DriverVersion> ReadDriver(const LabelReader& r) {
  auto full = r.Text(kLabelDriverFull);
  if (!full.ok()) return Fail(full.error());
  if (*full && !(*full)->empty()) {
    auto parsed = ParseDriverVersion(**full);
    if (!parsed.ok()) return Fail(r.Bad(kLabelDriverFull, parsed.error().message));
    return parsed;
  }
  for (const auto& names : kDriverLabels) {
    DriverVersion v;
    int* parts[3] = {&v.major, &v.minor, &v.revision};
    for (int i = 0; i < 3; ++i) {
      auto n = r.Number(names[i]);
      if (!n.ok()) return Fail(n.error());
      if (n->has_value()) *parts[i] = **n;
    }
    if (v.known()) return v;
  }
  return DriverVersion{};
}

Expected<MigLayout> ReadMig(const LabelReader& r, const StatedNode& node) {
  MigLayout mig;
  auto strategy = r.Text(kLabelMigStrategy);
  if (!strategy.ok()) return Fail(strategy.error());
  if (*strategy) mig.strategy = **strategy;
  if (mig.strategy == "single") {
    // The single strategy overloads gpu.product ("A100-SXM4-40GB-MIG-1g.5gb"),
    // gpu.count, gpu.memory; gpu.multiprocessors is the slice's SM count.
    const size_t at = Lower(node.product).find("-mig-");
    if (at != std::string::npos) {
      MigProfile p;
      p.name = node.product.substr(at + 5);
      p.count = node.count.value_or(0);
      p.memory_mib = node.memory_mib.value_or(0);
      p.sms = node.sms.value_or(0);
      mig.profiles.push_back(std::move(p));
    }
    return mig;
  }
  if (!r.labels()) return mig;
  // Mixed: nvidia.com/mig-<type>.count, .memory, .multiprocessors per type.
  for (const auto& [key, value] : r.labels()->members) {
    if (!key.starts_with(kMigTypePrefix) || !key.ends_with(".count")) continue;
    const std::string type = key.substr(kMigTypePrefix.size(), key.size() - kMigTypePrefix.size() - 6);
    const std::string base = std::string(kMigTypePrefix) + type;
    MigProfile p;
    p.name = type;
    auto count = r.Number(key);
    auto memory = r.Number(base + ".memory");
    auto sms = r.Number(base + ".multiprocessors");
    if (!count.ok()) return Fail(count.error());
    if (!memory.ok()) return Fail(memory.error());
    if (!sms.ok()) return Fail(sms.error());
    p.count = count->value_or(0);
    p.memory_mib = memory->value_or(0);
    p.sms = sms->value_or(0);
    mig.profiles.push_back(std::move(p));
  }
  return mig;
}

// Node `item` of the file, item `index` of its List (none: a lone Node).
Expected<StatedNode> ReadKubectlNode(const JsonValue& item, std::optional<size_t> index, const std::string& file) {
  auto bad = [&](const std::string& where, const std::string& message) {
    return Fail(ErrorCode::kInvalidInput, SourceLocation{file}, NodePath(index) + where + ": " + message);
  };
  if (item.kind != JsonValue::kObject) return bad("", "a node is a JSON object");
  const JsonValue* metadata = item.Find("metadata");
  if (!metadata || metadata->kind != JsonValue::kObject) return bad(".metadata", "missing (every Node has one)");
  const JsonValue* name = metadata->Find("name");
  if (!name || name->kind != JsonValue::kString || name->text.empty()) {
    return bad(".metadata.name", "missing or not a string");
  }
  const JsonValue* labels = metadata->Find("labels");
  if (labels && labels->kind != JsonValue::kObject) return bad(".metadata.labels", "not an object");
  StatedNode s;
  s.name = name->text;
  const LabelReader r(labels, index, s.name, file);
  auto product = r.Text(kLabelProduct);
  auto major = r.Number(kLabelComputeMajor);
  auto minor = r.Number(kLabelComputeMinor);
  auto count = r.Number(kLabelCount);
  auto memory = r.Number(kLabelMemory);
  auto sms = r.Number(kLabelMultiprocessors);
  KPOLICY_TRY(product);
  KPOLICY_TRY(major);
  KPOLICY_TRY(minor);
  KPOLICY_TRY(count);
  KPOLICY_TRY(memory);
  KPOLICY_TRY(sms);
  if (*product) s.product = **product;
  if (major->has_value() != minor->has_value()) {
    const std::string_view missing = major->has_value() ? kLabelComputeMinor : kLabelComputeMajor;
    return Fail(r.Bad(missing, "missing (the other compute capability label is set)"));
  }
  if (major->has_value()) {
    if (**major < 1 || **minor > 9) {
      return Fail(r.Bad(kLabelComputeMajor, "compute capability " + CcText(**major, **minor) +
                                                " is out of range (major 1 or more, minor 0-9)"));
    }
    s.cc = std::pair{**major, **minor};
  }
  s.count = *count;
  if (memory->has_value()) s.memory_mib = **memory;
  s.sms = *sms;
  if (s.sms && *s.sms == 0) return Fail(r.Bad(kLabelMultiprocessors, "0 SMs"));
  auto driver = ReadDriver(r);
  if (!driver.ok()) return Fail(driver.error());
  s.driver = *driver;
  auto mig = ReadMig(r, s);
  if (!mig.ok()) return Fail(mig.error());
  s.mig = std::move(mig).value();
  return s;
}

// FILE:LINE:COL of a byte offset in `text`.
SourceLocation PlaceOfOffset(std::string_view text, size_t offset, const std::string& file) {
  offset = std::min(offset, text.size());
  SourceLocation place{file, 1, 1};
  const std::string_view before = text.substr(0, offset);
  place.line += static_cast<int>(std::count(before.begin(), before.end(), '\n'));
  const size_t line_start = before.rfind('\n');
  place.column = static_cast<int>(offset - (line_start == std::string_view::npos ? 0 : line_start + 1)) + 1;
  place.offset = static_cast<int64_t>(offset);
  return place;
}

// ---- the plain YAML inventory -----------------------------------------------

// Inventories are far larger than policies: 100,000 nodes of eight keys
// is about 1.6 million YAML nodes and 10 MB (limits.h says why each bound).
LoadLimits InventoryLimits() {
  LoadLimits limits;
  limits.max_file_bytes = limits::kInventoryFileBytes;
  limits.max_line_bytes = limits.max_file_bytes;  // a flow-style list of nodes is one line
  limits.max_nodes = limits::kInventoryYamlNodes;
  limits.max_depth = limits::kInventoryYamlDepth;
  return limits;
}

class PlainInventoryReader : public YamlDocument {
 public:
  using YamlDocument::YamlDocument;

  Inventory Read(const YAML::Node& root) {
    Inventory inventory;
    inventory.file = file();
    YAML::Node list = root;
    if (root.IsMap()) {
      CheckKeys(root, {"nodes"}, "the inventory");
      list = Get(root, "nodes");
      if (!list) {
        Error(Loc(root), "missing 'nodes:' (a list of {node, product, cc, sms, memory, driver, count})");
        return inventory;
      }
    }
    if (!list.IsSequence()) {
      Error(Loc(list), "the inventory is a list of nodes (or 'nodes:' with one), not a " + Kind(list));
      return inventory;
    }
    CatalogMatches catalog;
    for (const YAML::Node& entry : list) {
      if (auto stated = ReadNode(entry)) {
        AddResolved(inventory, std::move(*stated), "neither product nor cc given", catalog);
      }
    }
    return inventory;
  }

 private:
  std::optional<StatedNode> ReadNode(const YAML::Node& entry) {
    if (!entry.IsMap()) {
      Error(Loc(entry), "a node is a mapping {node, product, cc, sms, memory, driver, count}, not a " + Kind(entry));
      return std::nullopt;
    }
    const Misspelt misspelt =
        CheckKeys(entry, {"node", "product", "cc", "sms", "memory", "driver", "count"}, "a node");
    StatedNode s;
    s.name = RequiredString(entry, "node", "a node", misspelt);
    if (s.name.empty()) return std::nullopt;
    if (YAML::Node product = Get(entry, "product")) s.product = String(product, "'product'");
    if (YAML::Node cc = Get(entry, "cc")) {
      auto parsed = ParseComputeCapability(String(cc, "'cc'"));
      if (!parsed.ok()) {
        Error(Loc(cc), parsed.error().message);
        return std::nullopt;
      }
      s.cc = *parsed;
    }
    const auto positive = [&](const char* key, std::optional<int>& out) {
      YAML::Node n = Get(entry, key);
      if (!n) return true;
      auto value = ParseWholeNumber(String(n, std::string("'") + key + "'"));
      if (!value || (*value == 0 && std::string_view(key) != "count")) {
        Error(Loc(n), std::string("'") + key + "' is a positive whole number, not " + Kind(n));
        return false;
      }
      out = value;
      return true;
    };
    std::optional<int> memory;
    if (!positive("sms", s.sms) || !positive("memory", memory) || !positive("count", s.count)) return std::nullopt;
    if (memory) s.memory_mib = *memory;
    if (YAML::Node driver = Get(entry, "driver")) {
      auto parsed = ParseDriverVersion(String(driver, "'driver'"));
      if (!parsed.ok()) {
        Error(Loc(driver), parsed.error().message);
        return std::nullopt;
      }
      s.driver = *parsed;
    }
    return s;
  }
};

}  // namespace

std::string DriverVersion::ToString() const {
  if (!known()) return "";
  std::string out = std::to_string(major);
  if (minor >= 0) out += "." + std::to_string(minor);
  if (revision >= 0) out += (revision < 10 ? ".0" : ".") + std::to_string(revision);
  return out;
}

Expected<DriverVersion> ParseDriverVersion(std::string_view text) {
  DriverVersion v;
  int* parts[3] = {&v.major, &v.minor, &v.revision};
  size_t start = 0;
  for (int i = 0; i < 3; ++i) {
    const size_t dot = text.find('.', start);
    const std::string_view part = text.substr(start, dot == std::string_view::npos ? dot : dot - start);
    auto n = ParseWholeNumber(part);
    if (!n) {
      return Fail(ErrorCode::kInvalidInput,
                  "driver version '" + std::string(text) + "' is not MAJOR[.MINOR[.REVISION]] in digits");
    }
    *parts[i] = *n;
    if (dot == std::string_view::npos) return v;
    start = dot + 1;
  }
  return Fail(ErrorCode::kInvalidInput, "driver version '" + std::string(text) + "' has more than three parts");
}

std::optional<CatalogEntry> MatchCatalogProduct(std::string_view product) {
  std::string text = Lower(product);
  if (const size_t mig = text.find("-mig-"); mig != std::string::npos) text.resize(mig);
  std::vector<std::string> words;
  std::string word;
  for (char c : text + "-") {
    if (c == '-' || c == ' ' || c == '_') {
      if (!word.empty()) words.push_back(std::move(word));
      word.clear();
    } else {
      word += c;
    }
  }
  static constexpr std::string_view kVendorWords[] = {"nvidia", "tesla", "geforce"};
  while (!words.empty() && std::find(std::begin(kVendorWords), std::end(kVendorWords), words.front()) !=
                               std::end(kVendorWords)) {
    words.erase(words.begin());
  }
  for (size_t k = words.size(); k > 0; --k) {
    std::string joined;
    for (size_t i = 0; i < k; ++i) joined += words[i];
    for (const CatalogEntry& e : DeviceCatalog()) {
      std::string key(e.key);
      key.erase(std::remove(key.begin(), key.end(), '-'), key.end());
      if (key == joined) return e;
    }
  }
  return std::nullopt;
}

namespace {

// Equality as a byte comparison the compiler inlines for a literal;
// string_view's == goes through a three-way compare call. The filter below
// runs for every label of every node.
bool Same(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size()) == 0;
}

// The labels ReadKubectlNode reads; the others are dropped while parsing.
bool IsLabelRead(std::string_view label) {
  if (label.size() < 11 || std::memcmp(label.data(), "nvidia.com/", 11) != 0) return false;
  if (label.starts_with(kMigTypePrefix)) return true;
  for (std::string_view name : {kLabelProduct, kLabelComputeMajor, kLabelComputeMinor, kLabelCount, kLabelMemory,
                                kLabelMultiprocessors, kLabelMigStrategy, kLabelDriverFull}) {
    if (Same(label, name)) return true;
  }
  for (const auto& names : kDriverLabels) {
    for (std::string_view name : names) {
      if (Same(label, name)) return true;
    }
  }
  return false;
}

// What of `kubectl get nodes -o json` is read: kind, items, and of each
// node its kind, metadata.name and the nvidia.com/ labels. The rest (status,
// images, annotations: most of a real node's bytes) is checked, not built.
// `path` is [items, MEMBER...] in a List, [MEMBER...] in a lone Node.
bool KeepKubectlMember(std::span<const std::string_view> path) {
  if (Same(path[0], "items")) {
    path = path.subspan(1);
    if (path.empty()) return true;
  }
  switch (path.size()) {
    case 1: return Same(path[0], "metadata") || Same(path[0], "kind");
    case 2: return Same(path[0], "metadata") && (Same(path[1], "name") || Same(path[1], "labels"));
    case 3: return Same(path[1], "labels") && Same(path[0], "metadata") && IsLabelRead(path[2]);
    default: return false;
  }
}

}  // namespace

Expected<Inventory> ReadKubectlNodes(std::string_view text, const std::string& file) {
  Inventory inventory;
  inventory.file = file;
  CatalogMatches catalog;
  const std::string no_labels = "no NVIDIA GPU Feature Discovery labels (" + std::string(kLabelProduct) + ", " +
                                std::string(kLabelComputeMajor) + ")";
  const auto add = [&](const JsonValue& item, std::optional<size_t> index) -> Status {
    auto stated = ReadKubectlNode(item, index, file);
    if (!stated.ok()) return Fail(stated.error());
    AddResolved(inventory, std::move(stated).value(), no_labels, catalog);
    return {};
  };
  // A List's nodes are read as the parser reaches them, each freed before
  // the next: the tree of 100,000 nodes is never built. (Reading them on a
  // second thread was tried: on a 2-core machine shared with other work it
  // cost more CPU, freeing across threads, than it saved in wall time.)
  bool a_node_failed = false;
  const JsonArrayStream items{{"items"}, [&](size_t i, JsonValue&& item) {
                                Status added = add(item, i);
                                a_node_failed = !added.ok();
                                return added;
                              }};
  auto parsed = ParseJson(text, KeepKubectlMember, &items);
  if (!parsed.ok() && a_node_failed) return Fail(std::move(parsed).error());  // a bad node, as it is
  if (!parsed.ok()) {
    const Error& e = parsed.error();
    const size_t offset = e.place.offset >= 0 ? static_cast<size_t>(e.place.offset) : 0;
    // The parser's message starts "column N: " (N = offset + 1 on one line).
    std::string message = e.message;
    const std::string prefix = "column " + std::to_string(offset + 1) + ": ";
    if (message.starts_with(prefix)) message.erase(0, prefix.size());
    return Fail(ErrorCode::kInvalidInput, PlaceOfOffset(text, offset, file), "not JSON: " + message);
  }
  const JsonValue& root = *parsed;
  const auto bad = [&](const std::string& message) {
    return Fail(ErrorCode::kInvalidInput, SourceLocation{file}, message);
  };
  if (root.kind != JsonValue::kObject) return bad("not `kubectl get nodes -o json` output: the top level is not an object");
  const JsonValue* kind = root.Find("kind");
  if (kind && kind->kind == JsonValue::kString && kind->text == "Node") {
    // One Node: itself, whatever an "items" member of it held.
    inventory.nodes.clear();
    inventory.skipped.clear();
    KPOLICY_TRY(add(root, std::nullopt));
    return inventory;
  }
  const JsonValue* items_member = root.Find("items");
  if (!items_member || items_member->kind != JsonValue::kArray) {
    return bad(".items: missing or not a list (expected `kubectl get nodes -o json` output, kind List)");
  }
  return inventory;
}

Expected<Inventory> ReadPlainInventory(std::string_view text, const std::string& file) {
  Diagnostics diagnostics;
  const LoadLimits limits = InventoryLimits();
  PlainInventoryReader reader(file, limits, diagnostics);
  std::optional<YAML::Node> root = reader.Parse(text);
  Inventory inventory;
  if (root) inventory = reader.Read(*root);
  if (diagnostics.has_errors()) {
    diagnostics.SortByLocation();
    diagnostics.Truncate(limits.max_errors);
    return Fail(diagnostics.ToError(ErrorCode::kInvalidInput));
  }
  return inventory;
}

Expected<Inventory> LoadInventoryFile(const std::string& path) {
  auto file = MappedFile::Open(path, limits::kInventoryFileBytes);
  if (!file.ok()) return Fail(ErrorCode::kUnreadable, SourceLocation{path}, file.error().message);
  const std::string_view text = file->text();
  const size_t first = text.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && text[first] == '{') return ReadKubectlNodes(text, path);
  return ReadPlainInventory(text, path);
}

}  // namespace kpolicy
