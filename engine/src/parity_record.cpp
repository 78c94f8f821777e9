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
#include "kpolicy/parity_vocabulary.h"
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

// YYYY-MM-DD with a month 01-12 and a day 01-31: records are sorted and
// compared by it, so "yesterday" or 2026-13-45 is a slip.
bool IsIsoDate(const std::string& t) {
  if (t.size() != 10 || t[4] != '-' || t[7] != '-') return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (t[i] < '0' || t[i] > '9') return false;
  }
  const int month = (t[5] - '0') * 10 + (t[6] - '0'), day = (t[8] - '0') * 10 + (t[9] - '0');
  return month >= 1 && month <= 12 && day >= 1 && day <= 31;
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
    if (YAML::Node d = Get(root, "device")) {
      r.device_location = Loc(d);
      ReadDevice(d, r.device);
    } else if (!misspelt.count("device")) Error(Loc(root), "missing 'device'");
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
    // A record speaks for devices of its SM count (ParityRecord::Matches):
    // a count that wrapped or was 0 would claim evidence for another chip.
    auto integer = [&](const char* key, bool required, int64_t min, int64_t max) -> int64_t {
      YAML::Node n = Get(node, key);
      if (!n) {
        if (required && !misspelt.count(key)) Error(Loc(node), std::string("missing '") + key + "' in the device");
        return 0;
      }
      return WholeNumber(n, key, min, max).value_or(0);
    };
    // 0: no chip (the CPU emulation's record); a folder of GPU records
    // refuses it (LoadParityRecordDirectory).
    d.num_sms = static_cast<int>(integer("num_sms", true, 0, kMaxRecordedSms));
    d.memory_mib = integer("memory_mib", false, 1, kMaxRecordedMemoryMib);
    d.bandwidth_gbps = integer("bandwidth_gbps", false, 1, kMaxRecordedBandwidthGbps);
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
    if (!p.date.empty() && !IsIsoDate(p.date)) {
      Error(Loc(Get(node, "date")), "provenance date '" + p.date + "' is not a date YYYY-MM-DD");
    }
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

  // metrics: each a known metric within its domain (NaN and +inf only
  // where a broken kernel's output makes them: check then names the
  // contract they break instead of the file being refused).
  void ReadMetrics(const YAML::Node& node, std::map<std::string, double>& out) {
    if (!node.IsMap()) {
      Error(Loc(node), "'metrics' maps metric names to numbers, not a " + Kind(node));
      return;
    }
    CheckKeys(node, KnownParityMetrics(), "'metrics'");
    for (auto it = node.begin(); it != node.end(); ++it) {
      const RecordedMetric* metric = it->first.IsScalar() ? FindRecordedMetric(it->first.Scalar()) : nullptr;
      if (metric == nullptr) continue;  // reported by CheckKeys
      NumberDomain domain;
      domain.min = metric->min;
      domain.max = metric->max;
      domain.whole = metric->whole;
      domain.may_be_nan = metric->may_be_nan;
      domain.may_be_infinite = metric->may_be_infinite;
      if (auto v = Number(it->second, std::string(metric->name), domain)) out[std::string(metric->name)] = *v;
    }
  }

  // speed: free names (us_m1, weight_gbps, ...), each a time, rate or ratio
  // of 0 or more.
  void ReadSpeed(const YAML::Node& node, std::map<std::string, double>& out) {
    if (!node.IsMap()) {
      Error(Loc(node), "'speed' maps names to numbers, not a " + Kind(node));
      return;
    }
    CheckKeys(node, {}, "'speed'");
    NumberDomain domain;
    domain.min = 0;
    for (auto it = node.begin(); it != node.end(); ++it) {
      if (!it->first.IsScalar()) continue;
      if (auto v = Number(it->second, it->first.Scalar(), domain)) out[it->first.Scalar()] = *v;
    }
  }

  // An operation and workload of the vocabulary (parity_vocabulary.h):
  // anything else would be evidence no contract can ever count.
  void CheckVocabulary(const YAML::Node& row, const Measurement& m) {
    if (!m.operation.empty() && !FindMeasuredOperation(m.operation)) {
      const std::vector<std::string> known = MeasuredOperationNames();
      Error(Loc(Get(row, "operation")), "unknown operation '" + m.operation + "'" + DidYouMean(m.operation, known) +
                                            "; records measure " + JoinNames(known));
    }
    if (!m.workload.empty() && !IsMeasuredWorkload(m.workload)) {
      const std::vector<std::string> known = MeasuredWorkloadNames();
      Error(Loc(Get(row, "workload")), "unknown workload '" + m.workload + "'" + DidYouMean(m.workload, known) +
                                           "; the standard workloads are " + JoinNames(known));
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
    m.variant_location = Get(node, "variant") ? Loc(Get(node, "variant")) : m.location;
    m.workload = RequiredString(node, "workload", "a measurement", misspelt);
    if (YAML::Node s = Get(node, "shape")) m.shape = String(s, "shape");
    if (YAML::Node n = Get(node, "note")) m.note = String(n, "note");
    CheckVocabulary(node, m);
    if (YAML::Node metrics = Get(node, "metrics")) {
      ReadMetrics(metrics, m.metrics);
    } else if (!misspelt.count("metrics")) {
      Error(m.location, "missing 'metrics' in a measurement");
    }
    if (YAML::Node speed = Get(node, "speed")) ReadSpeed(speed, m.speed);
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

Checked<ParityRecord> ParseParityRecord(std::string_view text, const std::string& file) {
  return ParseYamlText<RecordReader>(text, file);
}

Checked<std::vector<ParityRecord>> LoadParityRecordDirectory(const std::string& directory) {
  Diagnostics diagnostics;
  auto files = ListYamlFiles(directory, "records");
  if (!files.ok()) return Fail(std::move(files).error());
  std::vector<ParityRecord> records;
  for (const std::string& file : *files) {
    auto loaded = LoadParityRecord(file);
    if (!loaded.ok()) {
      diagnostics.Append(loaded.error());
    } else if (loaded->device.num_sms == 0) {
      // Evaluated as a device of 0 SMs and matching none: evidence for nothing.
      diagnostics.Error(loaded->device_location, "num_sms 0 names no GPU (a CPU emulation's record); the records " +
                                                     std::string("here are GPUs': keep it elsewhere, as contracts/emulation/"));
    } else {
      records.push_back(std::move(loaded).value());
    }
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
