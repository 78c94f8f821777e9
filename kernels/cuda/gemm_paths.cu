// The GEMM paths (gemm_paths.h): the weights each path caches, and RunGemm's
// dispatch onto the FP8, FP16, W4A16 and GEMV-loop pieces.
#include <cstring>
#include <vector>

#include "gemm_common.cuh"
#include "kpolicy/kernels/fp8.h"
#include "kpolicy/kernels/gemv_launch.h"
#include "kpolicy/kernels/half.h"
#include "kpolicy/kernels/w4a16_layout.h"

namespace kpolicy::kernels::gpu {

std::string_view GemmPathName(GemmPath path) {
  switch (path) {
    case GemmPath::kFp8Lt: return "fp8_lt";
    case GemmPath::kF16Cublas: return "f16_cublas";
    case GemmPath::kW4a16Interleaved: return "w4a16_interleaved";
    case GemmPath::kGemvLoop: return "gemv_loop";
  }
  return "?";
}

int GemmPathMinCc(GemmPath path) {
  switch (path) {
    case GemmPath::kFp8Lt: return 89;
    case GemmPath::kW4a16Interleaved: return 70;
    default: return 75;
  }
}

GemmPath PrefillGemmPath(bool batched_prefill, bool fp8_prefill) {
  if (!batched_prefill) return GemmPath::kGemvLoop;
  return fp8_prefill ? GemmPath::kFp8Lt : GemmPath::kF16Cublas;
}

std::optional<GemmPath> DecodeGemmPath(int m, bool is_q4k, bool fp8_decode, bool hgemm_decode,
                                       bool w4a16_interleaved) {
  if (m == 1) return hgemm_decode ? std::optional<GemmPath>(GemmPath::kF16Cublas) : std::nullopt;
  if (w4a16_interleaved && is_q4k && m <= kMaxW4a16Rows) return GemmPath::kW4a16Interleaved;
  if (fp8_decode) return GemmPath::kFp8Lt;
  return std::nullopt;
}

// ---- GemmWeights ---------------------------------------------------------------

GemmWeights::State::~State() {
  if (data) cudaFree(data);
  if (fp8_scale_device) cudaFree(fp8_scale_device);
}

GemmWeights::GemmWeights(std::unique_ptr<State> state) : state_(std::move(state)) {}
GemmWeights::GemmWeights(GemmWeights&&) noexcept = default;
GemmWeights& GemmWeights::operator=(GemmWeights&&) noexcept = default;
GemmWeights::~GemmWeights() = default;

GemmPath GemmWeights::path() const { return state_->path; }
WeightFormat GemmWeights::source_format() const { return state_->source_format; }
int64_t GemmWeights::rows() const { return state_->n; }
int64_t GemmWeights::cols() const { return state_->k; }
const void* GemmWeights::device_data() const { return state_->data; }
int64_t GemmWeights::device_bytes() const { return state_->bytes; }
float GemmWeights::fp8_scale() const { return state_->fp8_scale; }
const float* GemmWeights::device_fp8_scale() const { return state_->fp8_scale_device; }

namespace {

Status CheckPathCapability(const GemmContext& context, GemmPath path) {
  if (path == GemmPath::kFp8Lt) return CheckFp8Capability(context.cc_major(), context.cc_minor());
  if (path == GemmPath::kW4a16Interleaved) return CheckW4a16Capability(context.cc_major(), context.cc_minor());
  return {};
}

Status CheckWeights(GemmPath path, const WeightView& w) {
  KPOLICY_CHECK_ARG(w.format == WeightFormat::kQ4K || w.format == WeightFormat::kQ6K);
  KPOLICY_CHECK_ARG(path != GemmPath::kW4a16Interleaved || w.format == WeightFormat::kQ4K);
  KPOLICY_CHECK_ARG(w.rows >= 1 && w.rows < (int64_t{1} << 31));
  KPOLICY_CHECK_ARG(w.cols >= 256 && w.cols % 256 == 0 && w.cols < (int64_t{1} << 31));
  KPOLICY_CHECK_ARG(static_cast<int64_t>(w.bytes.size()) == w.rows * RowBytes(w.format, w.cols));
  return {};
}

Status Upload(const void* host, int64_t bytes, GemmWeights::State* s) {
  KPOLICY_CUDA_CHECK(cudaMalloc(&s->data, static_cast<size_t>(bytes)));
  s->bytes = bytes;
  KPOLICY_CUDA_CHECK(cudaMemcpy(s->data, host, static_cast<size_t>(bytes), cudaMemcpyHostToDevice));
  return {};
}

Status Prepare(GemmPath path, const WeightView& w, GemmWeights::State* s) {
  switch (path) {
    case GemmPath::kFp8Lt: {
      // Dequantised exactly as the float-path kernels see the weights, then
      // one per-tensor FP8 scale (the CPU quantiser: the GPU never encodes
      // weights, so the codes are QuantizeFp8PerTensor's by construction).
      const Fp8Tensor fp8 = QuantizeFp8PerTensor(DequantizeAll(w));
      KPOLICY_TRY(Upload(fp8.codes.data(), static_cast<int64_t>(fp8.codes.size()), s));
      s->fp8_scale = fp8.scale;
      KPOLICY_CUDA_CHECK(cudaMalloc(&s->fp8_scale_device, sizeof(float)));
      KPOLICY_CUDA_CHECK(cudaMemcpy(s->fp8_scale_device, &fp8.scale, sizeof(float), cudaMemcpyHostToDevice));
      return {};
    }
    case GemmPath::kF16Cublas: {
      const std::vector<float> values = DequantizeAll(w);
      std::vector<uint16_t> halves(values.size());
      for (size_t i = 0; i < values.size(); ++i) halves[i] = FloatToHalf(values[i]);
      return Upload(halves.data(), static_cast<int64_t>(halves.size() * sizeof(uint16_t)), s);
    }
    case GemmPath::kW4a16Interleaved: {
      const std::vector<uint8_t> bytes = InterleaveQ4KForW4a16(w);
      return Upload(bytes.data(), static_cast<int64_t>(bytes.size()), s);
    }
    case GemmPath::kGemvLoop:
      return Upload(w.bytes.data(), static_cast<int64_t>(w.bytes.size()), s);
  }
  return Fail(ArgumentError(__FILE__, __LINE__, "path is a GemmPath"));
}

}  // namespace

Expected<GemmWeights> GemmWeights::Create(const GemmContext& context, GemmPath path,
                                                      const WeightView& weights) {
  Status status = CheckPathCapability(context, path);
  if (status.ok()) status = CheckWeights(path, weights);
  auto state = std::make_unique<State>();
  state->path = path;
  state->source_format = weights.format;
  state->n = weights.rows;
  state->k = weights.cols;
  if (status.ok()) status = Prepare(path, weights, state.get());
  if (!status.ok()) return Fail(status.error());
  return GemmWeights(std::move(state));
}

// ---- RunGemm ---------------------------------------------------------------------

namespace {

constexpr int64_t kAlign = 256;

Status RunFp8(GemmContext& context, const GemmWeights& w, const float* x, int m, float* y) {
  GemmContext::State& s = context.state();
  const int64_t count = static_cast<int64_t>(m) * w.cols();
  // Scratch: [0, 256) the absmax word, [256, 512) the activation scale,
  // [512, ...) the activation codes.
  KPOLICY_TRY(s.ReserveScratch(2 * kAlign + AlignUp(count, kAlign)));
  uint8_t* base = static_cast<uint8_t*>(s.scratch);
  uint32_t* absmax = reinterpret_cast<uint32_t*>(base);
  float* x_scale = reinterpret_cast<float*>(base + kAlign);
  uint8_t* codes = base + 2 * kAlign;
  KPOLICY_TRY(LaunchQuantizeFp8PerTensor(x, count, codes, x_scale, absmax, s.stream));
  return Fp8Matmul(context, static_cast<const uint8_t*>(w.device_data()), w.device_fp8_scale(), codes,
                   x_scale, m, w.rows(), w.cols(), y);
}

Status RunF16(GemmContext& context, const GemmWeights& w, const float* x, int m, float* y) {
  GemmContext::State& s = context.state();
  const int64_t count = static_cast<int64_t>(m) * w.cols();
  KPOLICY_TRY(s.ReserveScratch(2 * count));
  KPOLICY_TRY(detail::LaunchFloatToHalf(x, count, s.scratch, s.stream));
  return F16Matmul(context, w.device_data(), s.scratch, m, w.rows(), w.cols(), y);
}

Status RunW4a16(GemmContext& context, const GemmWeights& w, const float* x, int m, float* y) {
  GemmContext::State& s = context.state();
  KPOLICY_CHECK_ARG(m <= kMaxW4a16Rows);
  const int64_t partials = detail::W4a16PartialFloats(w.rows(), w.cols(), m, s.sms);
  if (partials > 0) KPOLICY_TRY(s.ReserveScratch(partials * static_cast<int64_t>(sizeof(float))));
  return detail::LaunchW4a16(w.device_data(), x, m, w.rows(), w.cols(), y,
                             partials > 0 ? static_cast<float*>(s.scratch) : nullptr, s.sms, s.stream);
}

Status RunGemvLoop(GemmContext& context, const GemmWeights& w, const float* x, int m, float* y) {
  GemmContext::State& s = context.state();
  const GemvOp op = w.source_format() == WeightFormat::kQ4K ? GemvOp::kQ4K : GemvOp::kQ6K;
  const GemvVariant* variant = FindGemvVariant(op, "HwDp4a");
  if (variant == nullptr || !variant->built()) {
    return Fail(ErrorCode::kInternal, "the GEMV variant table has no built HwDp4a variant");
  }
  const int64_t n = w.rows(), k = w.cols();
  KPOLICY_TRY(s.ReserveScratch(Q8_1ActivationBytes(1, k)));
  for (int t = 0; t < m; ++t) {
    KPOLICY_TRY(LaunchQuantizeQ8_1(x + t * k, 1, k, s.scratch, s.stream));
    GemvArgs args;
    args.weights = w.device_data();
    args.x = x + t * k;
    args.x_q8 = s.scratch;
    args.y = y + t * n;
    args.n = n;
    args.k = k;
    args.m = 1;
    args.stream = s.stream;
    KPOLICY_TRY(variant->launch(args));
  }
  return {};
}

}  // namespace

Status RunGemm(GemmContext& context, const GemmWeights& weights, const float* x, int m, float* y) {
  KPOLICY_CHECK_ARG(x != nullptr && y != nullptr && m >= 1);
  KPOLICY_CHECK_ARG(reinterpret_cast<uintptr_t>(x) % 16 == 0);
  KPOLICY_CHECK_ARG(static_cast<int64_t>(m) * weights.cols() < (int64_t{1} << 31));
  switch (weights.path()) {
    case GemmPath::kFp8Lt: return RunFp8(context, weights, x, m, y);
    case GemmPath::kF16Cublas: return RunF16(context, weights, x, m, y);
    case GemmPath::kW4a16Interleaved: return RunW4a16(context, weights, x, m, y);
    case GemmPath::kGemvLoop: return RunGemvLoop(context, weights, x, m, y);
  }
  return Fail(ArgumentError(__FILE__, __LINE__, "path is a GemmPath"));
}

}  // namespace kpolicy::kernels::gpu
