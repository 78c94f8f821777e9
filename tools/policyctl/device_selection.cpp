#include "device_selection.h"

#include "kpolicy/device_catalog.h"
#include "kpolicy/runtime/device_probe.h"
#include "kpolicy/spelling.h"

namespace kpolicy::tools {
namespace {

Expected<DeviceFacts> FromCatalog(const std::string& key) {
  if (auto entry = FindCatalogDevice(key)) return entry->ToFacts();
  std::vector<std::string> keys;
  for (const CatalogEntry& e : DeviceCatalog()) keys.emplace_back(e.key);
  return Fail(ErrorCode::kNotFound, "unknown device '" + key + "'" + DidYouMean(key, keys) +
                                        "; 'policyctl devices' lists the catalog");
}

}  // namespace

Expected<std::vector<DeviceFacts>> SelectDevices(const DeviceRequest& r, const runtime::DeviceProbe& local_probe) {
  using Devices = std::vector<DeviceFacts>;
  if (r.catalog_key && r.compute_capability) return Fail(ErrorCode::kInvalidArgument, "give --device or --cc, not both");
  if (r.sms && !r.compute_capability) {
    return Fail(ErrorCode::kInvalidArgument, "--sms goes with --cc (a catalog device has its own SM count)");
  }
  if (r.sms && *r.sms < 1) return Fail(ErrorCode::kInvalidArgument, "--sms must be 1 or more, not " + std::to_string(*r.sms));
  if (r.catalog_key) {
    auto entry = FromCatalog(*r.catalog_key);
    if (!entry.ok()) return Fail(std::move(entry).error());
    return Devices{std::move(entry).value()};
  }
  if (r.compute_capability) {
    auto cc = ParseComputeCapability(*r.compute_capability);
    if (!cc.ok()) return Fail(ErrorCode::kInvalidArgument, "--cc: " + cc.error().message);
    std::string source = "--cc " + *r.compute_capability;
    if (r.sms) source += " --sms " + std::to_string(*r.sms);
    return Devices{DeviceFromComputeCapability(cc->first, cc->second, r.sms.value_or(-1), source)};
  }
  auto local = local_probe.list ? local_probe.list() : runtime::ProbeLocalDevices();
  if (local.ok()) return local;
  if (r.fallback_key) {
    auto fallback = FromCatalog(*r.fallback_key);
    if (!fallback.ok()) return Fail(std::move(fallback).error());
    fallback->source += " (no local GPU: " + local.error().message + ")";
    return Devices{std::move(fallback).value()};
  }
  Error e = std::move(local).error();
  e.message += "; pass --device NAME (see 'policyctl devices') or --cc MAJOR.MINOR [--sms N]";
  return Fail(std::move(e));
}

}  // namespace kpolicy::tools
