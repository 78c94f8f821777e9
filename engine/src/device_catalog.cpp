#include "kpolicy/device_catalog.h"

#include <cctype>
#include <string>

namespace kpolicy {
namespace {

// Public specifications. Memory is what CUDA reports as one device (the K80
// is two GK210 devices; each is listed), bandwidth the vendor's theoretical
// figure. Jetson and GB10 memory is shared with the CPU.
constexpr CatalogEntry kCatalog[] = {
    // key          name                              arch         cc      SMs  memory MiB  GB/s
    {"k80",         "Tesla K80 (one GK210)",          "Kepler",    3, 7,   13,  12288,      240},
    {"jetson-nano", "Jetson Nano",                    "Maxwell",   5, 3,    1,  4096,       26},
    {"gtx1080",     "GeForce GTX 1080",               "Pascal",    6, 1,   20,  8192,       320},
    {"p100",        "Tesla P100 SXM2 16GB",           "Pascal",    6, 0,   56,  16384,      732},
    {"v100",        "Tesla V100 SXM2 32GB",           "Volta",     7, 0,   80,  32768,      900},
    {"t4",          "Tesla T4",                       "Turing",    7, 5,   40,  16384,      320},
    {"rtx2080ti",   "GeForce RTX 2080 Ti",            "Turing",    7, 5,   68,  11264,      616},
    {"a100",        "A100 SXM4 80GB",                 "Ampere",    8, 0,  108,  81920,      2039},
    {"a10",         "A10",                            "Ampere",    8, 6,   72,  24576,      600},
    {"rtx3090",     "GeForce RTX 3090",               "Ampere",    8, 6,   82,  24576,      936},
    {"jetson-orin", "Jetson AGX Orin 64GB",           "Ampere",    8, 7,   16,  65536,      205},
    {"l4",          "L4",                             "Ada",       8, 9,   58,  24576,      300},
    {"rtx4090",     "GeForce RTX 4090",               "Ada",       8, 9,  128,  24576,      1008},
    {"l40s",        "L40S",                           "Ada",       8, 9,  142,  49152,      864},
    {"h100-pcie",   "H100 PCIe 80GB",                 "Hopper",    9, 0,  114,  81920,      2000},
    {"h100",        "H100 SXM5 80GB",                 "Hopper",    9, 0,  132,  81920,      3350},
    {"h200",        "H200 SXM 141GB",                 "Hopper",    9, 0,  132,  144384,     4800},
    {"b200",        "B200",                           "Blackwell", 10, 0, 148,  184320,     8000},
    {"rtx5090",     "GeForce RTX 5090",               "Blackwell", 12, 0, 170,  32768,      1792},
    {"gb10",        "GB10 (DGX Spark)",               "Blackwell", 12, 1,  48,  131072,     273},
};

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

}  // namespace

DeviceFacts CatalogEntry::ToFacts() const {
  DeviceFacts d;
  d.name = std::string(name);
  d.cc_major = cc_major;
  d.cc_minor = cc_minor;
  d.num_sms = num_sms;
  d.memory_mib = memory_mib;
  d.bandwidth_gbps = bandwidth_gbps;
  d.source = "catalog entry " + std::string(key);
  return d;
}

std::span<const CatalogEntry> DeviceCatalog() { return kCatalog; }

std::optional<CatalogEntry> FindCatalogDevice(std::string_view key) {
  for (const CatalogEntry& e : kCatalog) {
    if (EqualsIgnoreCase(e.key, key)) return e;
  }
  return std::nullopt;
}

}  // namespace kpolicy
