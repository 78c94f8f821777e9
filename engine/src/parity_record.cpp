#include "kpolicy/parity_record.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <optional>
#include <filesystem>

#include "kpolicy/contract.h"
#include "kpolicy/device_catalog.h"
#include "kpolicy/spelling.h"
#include "kpolicy/json.h"
#include "yaml_document.h"

namespace kpolicy {

std::string Provenance::Describe() const {
  if (kind == "reported") return "reported " + date + ": " + source;
  std::string out = "measured " + date;
  if (!driver.empty()) out += ", driver " + driver;
  if (!tool_version.empty()) out += ", " + tool_version;
  if (!git_commit.empty()) out += " (" + git_commit + ")";
  return out;
}

bool ParityRecord::Matches(const DeviceFacts& d) const {
  if (covers_range) return d.cc() >= covers_cc_min && d.cc() <= covers_cc_max;
  return device.cc_major == d.cc_major && device.cc_minor == d.cc_minor && device.num_sms == d.num_sms;
}

bool ParityRecord::MatchesModel(const ModelFacts& m) const {
  if (model.empty()) return true;
  if (m.empty()) return false;
  for (auto field : {&ModelFacts::architecture, &ModelFacts::name, &ModelFacts::quantisation, &ModelFacts::size}) {
    if (!(model.*field).empty() && !(m.*field).empty() && model.*field != m.*field) return false;
  }
  return true;
}

namespace {

constexpr const char* kFormatKey = "kpolicy_record";

// The provenance's optional text fields, in file order: the reader and the
// writer both walk this list, so a new field is one line here.
constexpr std::pair<const char*, std::string Provenance::*> kOptionalProvenance[] = {
    {"source", &Provenance::source},           {"driver", &Provenance::driver},
    {"cuda_runtime", &Provenance::cuda_runtime}, {"tool_version", &Provenance::tool_version},
    {"git_commit", &Provenance::git_commit},   {"command", &Provenance::command},
    {"speed_method", &Provenance::speed_method},
};

// YAML 1.2's spellings of NaN and the infinities, as a record's metrics may
// hold them; nullopt for anything else.
std::optional<double> NonFiniteNumber(const YAML::Node& node) {
  if (!node.IsScalar()) return std::nullopt;
  const std::string& text = node.Scalar();
  if (text == ".nan" || text == ".NaN" || text == ".NAN") return std::numeric_limits<double>::quiet_NaN();
  if (text == ".inf" || text == "+.inf" || text == ".Inf" || text == "+.Inf") return std::numeric_limits<double>::infinity();
  if (text == "-.inf" || text == "-.Inf") return -std::numeric_limits<double>::infinity();
  return std::nullopt;
}

class RecordReader : public YamlDocument {
 public:
  using YamlDocument::YamlDocument;

  ParityRecord Read(const YAML::Node& root) {
    ParityRecord r;
    r.file = file();
    r.device_key = std::filesystem::path(file()).stem().string();
    if (!root.IsMap()) {
      Error(Loc(root), "a parity record is a mapping with 'kpolicy_record: 1', device, provenance, results");
      return r;
    }
    const Misspelt misspelt =
        CheckKeys(root, {kFormatKey, "device", "covers", "model", "provenance", "results"}, "the record");
    YAML::Node format = Get(root, kFormatKey);
    if (!format) {
      if (!misspelt.count(kFormatKey)) Error(Loc(root), "missing 'kpolicy_record: 1'");
    } else if (!format.IsScalar() || format.Scalar() != "1") {
      Error(Loc(format), "unsupported record format '" + ScalarOr(format, "?") + "': this build reads 1");
    }
    if (YAML::Node d = Get(root, "device")) ReadDevice(d, r.device);
    else if (!misspelt.count("device")) Error(Loc(root), "missing 'device'");
    if (YAML::Node p = Get(root, "provenance")) ReadProvenance(p, r.provenance);
    else if (!misspelt.count("provenance")) Error(Loc(root), "missing 'provenance'");
    if (YAML::Node c = Get(root, "covers")) ReadCovers(c, r);
    if (YAML::Node m = Get(root, "model")) ReadModel(m, r.model);
    // The driver the figures were taken with is the recorded device's.
    if (r.device.driver_version.empty()) r.device.driver_version = r.provenance.driver;
    if (r.device.runtime_version.empty()) r.device.runtime_version = r.provenance.cuda_runtime;
    YAML::Node results = Get(root, "results");
    if (!results) {
      if (!misspelt.count("results")) Error(Loc(root), "missing 'results'");
    } else if (!results.IsSequence()) {
      Error(Loc(results), "'results' is a list of measurements, not a " + Kind(results));
    } else {
      for (auto it = results.begin(); it != results.end(); ++it) r.results.push_back(ReadMeasurement(*it));
    }
    r.device.source = "record " + file();
    return r;
  }

 private:
  void ReadDevice(const YAML::Node& node, DeviceFacts& d) {
    if (!node.IsMap()) {
      Error(Loc(node), "'device' is a mapping {name, cc, num_sms}, not a " + Kind(node));
      return;
    }
    const Misspelt misspelt =
        CheckKeys(node, {"name", "cc", "num_sms", "memory_mib", "bandwidth_gbps", "driver"}, "the device");
    if (YAML::Node drv = Get(node, "driver")) {
      d.driver_version = String(drv, "driver");
      if (!IsVersionText(d.driver_version)) Error(Loc(drv), "driver '" + d.driver_version + "' is not a version such as 570.207");
    }
    d.name = RequiredString(node, "name", "the device", misspelt);
    const std::string cc = RequiredString(node, "cc", "the device", misspelt);
    if (!cc.empty()) {
      if (auto parsed = ParseComputeCapability(cc); parsed.ok()) {
        d.cc_major = parsed->first;
        d.cc_minor = parsed->second;
      } else {
        Error(Loc(Get(node, "cc")), parsed.error().message);
      }
    }
    auto integer = [&](const char* key, bool required) -> int64_t {
      YAML::Node n = Get(node, key);
      if (!n) {
        if (required && !misspelt.count(key)) Error(Loc(node), std::string("missing '") + key + "' in the device");
        return 0;
      }
      auto v = Number(n, key);
      if (v && (*v < 0 || *v != static_cast<double>(static_cast<int64_t>(*v)))) {
        Error(Loc(n), std::string("'") + key + "' must be a whole number of 0 or more");
        return 0;
      }
      return v ? static_cast<int64_t>(*v) : 0;
    };
    d.num_sms = static_cast<int>(integer("num_sms", true));
    d.memory_mib = integer("memory_mib", false);
    d.bandwidth_gbps = integer("bandwidth_gbps", false);
  }

  // covers: {cc: ["8.0", "8.9"]} or {family: Ada}: a family is the cc range
  // of the catalog's GPUs of that architecture.
  void ReadCovers(const YAML::Node& node, ParityRecord& r) {
    if (!node.IsMap() || node.size() != 1) {
      Error(Loc(node), "'covers' is {cc: [MIN, MAX]} or {family: NAME}");
      return;
    }
    CheckKeys(node, {"cc", "family"}, "'covers'");
    if (YAML::Node f = Get(node, "family")) {
      const std::string family = String(f, "family");
      std::vector<std::string> families;
      for (const CatalogEntry& e : DeviceCatalog()) {
        const int cc = e.cc_major * 10 + e.cc_minor;
        if (std::find(families.begin(), families.end(), e.architecture) == families.end()) families.emplace_back(e.architecture);
        if (e.architecture != family) continue;
        r.covers_cc_min = r.covers_range ? std::min(r.covers_cc_min, cc) : cc;
        r.covers_cc_max = r.covers_range ? std::max(r.covers_cc_max, cc) : cc;
        r.covers_range = true;
      }
      if (!r.covers_range) {
        Error(Loc(f), "unknown product family '" + family + "'" + DidYouMean(family, families));
        return;
      }
      r.covers_text = family + " (cc " + CcText(r.covers_cc_min) + ".." + CcText(r.covers_cc_max) + ")";
      return;
    }
    YAML::Node cc = Get(node, "cc");
    if (!cc || !cc.IsSequence() || cc.size() != 2) {
      Error(Loc(cc ? cc : node), "covers.cc is [MIN, MAX], e.g. [\"8.0\", \"8.9\"]");
      return;
    }
    int bounds[2] = {0, 0};
    for (int i = 0; i < 2; ++i) {
      auto parsed = ParseComputeCapability(String(cc[i], "covers.cc"));
      if (!parsed.ok()) {
        Error(Loc(cc[i]), parsed.error().message);
        return;
      }
      bounds[i] = parsed->first * 10 + parsed->second;
    }
    if (bounds[0] > bounds[1]) {
      Error(Loc(cc), "covers.cc range is empty: MIN is above MAX");
      return;
    }
    r.covers_range = true;
    r.covers_cc_min = bounds[0];
    r.covers_cc_max = bounds[1];
    r.covers_text = "cc " + CcText(bounds[0]) + ".." + CcText(bounds[1]);
  }

  static std::string CcText(int cc) { return std::to_string(cc / 10) + "." + std::to_string(cc % 10); }

  void ReadModel(const YAML::Node& node, ModelFacts& m) {
    if (!node.IsMap()) {
      Error(Loc(node), "'model' is a mapping {architecture, name, quantisation, size}, not a " + Kind(node));
      return;
    }
    CheckKeys(node, {"architecture", "name", "quantisation", "size"}, "the model");
    const std::pair<const char*, std::string ModelFacts::*> kFields[] = {
        {"architecture", &ModelFacts::architecture}, {"name", &ModelFacts::name},
        {"quantisation", &ModelFacts::quantisation}, {"size", &ModelFacts::size}};
    for (const auto& [key, field] : kFields) {
      if (YAML::Node n = Get(node, key)) m.*field = String(n, key);
    }
  }

  void ReadProvenance(const YAML::Node& node, Provenance& p) {
    if (!node.IsMap()) {
      Error(Loc(node), "'provenance' is a mapping, not a " + Kind(node));
      return;
    }
    std::vector<std::string> keys = {"kind", "date"};
    for (const auto& [key, field] : kOptionalProvenance) keys.push_back(key);
    const Misspelt misspelt = CheckKeys(node, keys, "the provenance");
    p.kind = RequiredString(node, "kind", "the provenance", misspelt);
    p.date = RequiredString(node, "date", "the provenance", misspelt);
    for (const auto& [key, field] : kOptionalProvenance) {
      if (YAML::Node n = Get(node, key)) p.*field = String(n, key);
    }
    if (p.kind == "reported") {
      if (p.source.empty()) Error(Loc(node), "a reported record names its 'source'");
    } else if (p.kind == "measured") {
      for (const char* key : {"driver", "tool_version", "git_commit", "command"}) {
        if (!Get(node, key)) Error(Loc(node), std::string("a measured record gives its '") + key + "'");
      }
    } else if (!p.kind.empty()) {
      Error(Loc(Get(node, "kind")), "provenance kind is 'measured' or 'reported', not '" + p.kind + "'");
    }
  }

  void ReadNumbers(const YAML::Node& node, const std::string& what, const std::vector<std::string>* allowed,
                   std::map<std::string, double>& out) {
    if (!node.IsMap()) {
      Error(Loc(node), "'" + what + "' maps names to numbers, not a " + Kind(node));
      return;
    }
    CheckKeys(node, allowed ? *allowed : std::vector<std::string>{}, "'" + what + "'");
    for (auto it = node.begin(); it != node.end(); ++it) {
      if (!it->first.IsScalar()) continue;
      const std::string key = it->first.Scalar();
      if (allowed && std::find(allowed->begin(), allowed->end(), key) == allowed->end()) continue;
      // A broken kernel's metrics are NaN or inf (cosine of an output with
      // inf in it): YAML's .nan / .inf, which FormatParityRecord writes, so
      // that check can name the contract they break instead of refusing the
      // file.
      if (auto special = NonFiniteNumber(it->second)) {
        out[key] = *special;
      } else if (auto v = Number(it->second, key)) {
        out[key] = *v;
      }
    }
  }

  Measurement ReadMeasurement(const YAML::Node& node) {
    Measurement m;
    m.location = Loc(node);
    if (!node.IsMap()) {
      Error(m.location, "a measurement is a mapping {operation, variant, workload, metrics}, not a " + Kind(node));
      return m;
    }
    const Misspelt misspelt = CheckKeys(
        node, {"operation", "variant", "workload", "shape", "metrics", "speed", "note"}, "a measurement");
    m.operation = RequiredString(node, "operation", "a measurement", misspelt);
    m.variant = RequiredString(node, "variant", "a measurement", misspelt);
    m.workload = RequiredString(node, "workload", "a measurement", misspelt);
    if (YAML::Node s = Get(node, "shape")) m.shape = String(s, "shape");
    if (YAML::Node n = Get(node, "note")) m.note = String(n, "note");
    if (YAML::Node metrics = Get(node, "metrics")) {
      ReadNumbers(metrics, "metrics", &KnownParityMetrics(), m.metrics);
      // An observed outcome, not a measure: anything but 0 or 1 is a typo.
      if (auto c = m.metrics.find("corrupted"); c != m.metrics.end() && c->second != 0 && c->second != 1) {
        Error(Loc(Get(metrics, "corrupted")), "corrupted is 1 (the output was corrupted) or 0 (intact), not " +
                                                  FormatNumber(c->second));
      }
    } else if (!misspelt.count("metrics")) {
      Error(m.location, "missing 'metrics' in a measurement");
    }
    if (YAML::Node speed = Get(node, "speed")) ReadNumbers(speed, "speed", nullptr, m.speed);
    return m;
  }
};

void AppendNumbers(std::string& out, const char* key, const std::map<std::string, double>& values) {
  if (values.empty()) return;
  out += std::string("    ") + key + ": {";
  bool first = true;
  for (const auto& [name, v] : values) {
    const std::string text = std::isnan(v) ? ".nan" : std::isinf(v) ? (v > 0 ? ".inf" : "-.inf") : FormatNumber(v);
    out += (first ? "" : ", ") + name + ": " + text;
    first = false;
  }
  out += "}\n";
}

}  // namespace

Checked<ParityRecord> LoadParityRecord(const std::string& path) {
  return ReadYamlFile<RecordReader>(path);
}

Checked<std::vector<ParityRecord>> LoadParityRecordDirectory(const std::string& directory) {
  Diagnostics diagnostics;
  auto files = ListYamlFiles(directory);
  if (!files.ok()) {
    diagnostics.Error({directory, 0, 0}, "cannot list records: " + files.error().message);
    return Fail(std::move(diagnostics));
  }
  std::vector<ParityRecord> records;
  for (const std::string& file : *files) {
    auto loaded = LoadParityRecord(file);
    if (loaded.ok()) records.push_back(std::move(loaded).value());
    else diagnostics.Append(loaded.error());
  }
  if (diagnostics.has_errors()) return Fail(std::move(diagnostics));
  return records;
}

std::string FormatParityRecord(const ParityRecord& r) {
  const Provenance& p = r.provenance;
  std::string out = "# kpolicy parity record: every kernel variant measured on one GPU.\n";
  out += "# Format: contracts/README.md. Checked by `policyctl check`.\n";
  out += "kpolicy_record: 1\ndevice:\n";
  out += "  name: " + JsonQuote(r.device.name) + "\n";
  out += "  cc: \"" + std::to_string(r.device.cc_major) + "." + std::to_string(r.device.cc_minor) + "\"\n";
  out += "  num_sms: " + std::to_string(r.device.num_sms) + "\n";
  if (r.device.memory_mib > 0) out += "  memory_mib: " + std::to_string(r.device.memory_mib) + "\n";
  if (r.device.bandwidth_gbps > 0) out += "  bandwidth_gbps: " + std::to_string(r.device.bandwidth_gbps) + "\n";
  out += "provenance:\n  kind: " + p.kind + "\n  date: " + JsonQuote(p.date) + "\n";
  for (const auto& [key, field] : kOptionalProvenance) {
    if (!(p.*field).empty()) out += std::string("  ") + key + ": " + JsonQuote(p.*field) + "\n";
  }
  out += "results:\n";
  for (const Measurement& m : r.results) {
    out += "  - operation: " + m.operation + "\n    variant: " + m.variant + "\n    workload: " + m.workload + "\n";
    if (!m.shape.empty()) out += "    shape: " + JsonQuote(m.shape) + "\n";
    AppendNumbers(out, "metrics", m.metrics);
    AppendNumbers(out, "speed", m.speed);
    if (!m.note.empty()) out += "    note: " + JsonQuote(m.note) + "\n";
  }
  return out;
}

}  // namespace kpolicy
