// GemmContext (gemm_context.h) and the paths' capability checks.
#include <cstddef>

#include "gemm_common.cuh"

namespace kpolicy::kernels::gpu {
namespace {

// "PREFIX X.Y" for every cc = 10X + Y in 0..99, built at compile time so that
// CudaStatus::what (static storage) can say which device it is.
struct CcMessages {
  char text[100][112];
};

template <size_t N>
constexpr CcMessages MakeCcMessages(const char (&prefix)[N]) {
  static_assert(N + 4 <= 112);
  CcMessages m{};
  for (int cc = 0; cc < 100; ++cc) {
    size_t i = 0;
    for (; i + 1 < N; ++i) m.text[cc][i] = prefix[i];
    m.text[cc][i++] = static_cast<char>('0' + cc / 10);
    m.text[cc][i++] = '.';
    m.text[cc][i++] = static_cast<char>('0' + cc % 10);
    m.text[cc][i] = '\0';
  }
  return m;
}

constexpr CcMessages kFp8Messages =
    MakeCcMessages("FP8 needs compute capability 8.9+, this device is ");
constexpr CcMessages kW4a16Messages =
    MakeCcMessages("W4A16 needs compute capability 7.0+ (FP16 tensor cores, WMMA), this device is ");

CudaStatus CapabilityError(const CcMessages& messages, const char* unknown, int major, int minor) {
  const bool printable = major >= 0 && major <= 9 && minor >= 0 && minor <= 9;
  return CudaStatus{static_cast<int>(cudaErrorNotSupported), __FILE__, __LINE__,
                    printable ? messages.text[major * 10 + minor] : unknown};
}

}  // namespace

CudaStatus CheckFp8Capability(int cc_major, int cc_minor) {
  if (cc_major > 8 || (cc_major == 8 && cc_minor >= 9)) return {};
  return CapabilityError(kFp8Messages,
                         "FP8 needs compute capability 8.9+, this device reports an invalid one",
                         cc_major, cc_minor);
}

CudaStatus CheckW4a16Capability(int cc_major, int cc_minor) {
  if (cc_major >= 7) return {};
  return CapabilityError(
      kW4a16Messages,
      "W4A16 needs compute capability 7.0+ (FP16 tensor cores, WMMA), this device reports an invalid one",
      cc_major, cc_minor);
}

Fp8Plan::~Fp8Plan() {
  if (d) cublasLtMatrixLayoutDestroy(d);
  if (b) cublasLtMatrixLayoutDestroy(b);
  if (a) cublasLtMatrixLayoutDestroy(a);
  if (desc) cublasLtMatmulDescDestroy(desc);
}

GemmContext::State::~State() {
  fp8_plans.clear();
  if (lt) cublasLtDestroy(lt);
  if (cublas) cublasDestroy(cublas);
  if (scratch) cudaFree(scratch);
  if (workspace) cudaFree(workspace);
}

CudaStatus GemmContext::State::ReserveScratch(int64_t bytes) {
  if (bytes <= scratch_bytes) return {};
  if (scratch) {
    // The stream may still read the old scratch.
    KPOLICY_GEMM_CUDA(cudaStreamSynchronize(stream));
    KPOLICY_GEMM_CUDA(cudaFree(scratch));
    scratch = nullptr;
    scratch_bytes = 0;
  }
  const int64_t rounded = AlignUp(bytes, int64_t{1} << 20);
  KPOLICY_GEMM_CUDA(cudaMalloc(&scratch, static_cast<size_t>(rounded)));
  scratch_bytes = rounded;
  return {};
}

GemmContext::GemmContext(std::unique_ptr<State> state) : state_(std::move(state)) {}
GemmContext::GemmContext(GemmContext&&) noexcept = default;
GemmContext& GemmContext::operator=(GemmContext&&) noexcept = default;
GemmContext::~GemmContext() = default;

StreamHandle GemmContext::stream() const { return state_->stream; }
int GemmContext::cc_major() const { return state_->cc_major; }
int GemmContext::cc_minor() const { return state_->cc_minor; }
int GemmContext::sm_count() const { return state_->sms; }

namespace {

CudaStatus InitState(GemmContext::State& s, StreamHandle stream, int64_t workspace_bytes) {
  KPOLICY_GEMM_ARG(workspace_bytes >= 0);
  s.stream = static_cast<cudaStream_t>(stream);
  int device = 0;
  KPOLICY_GEMM_CUDA(cudaGetDevice(&device));
  KPOLICY_GEMM_CUDA(cudaDeviceGetAttribute(&s.cc_major, cudaDevAttrComputeCapabilityMajor, device));
  KPOLICY_GEMM_CUDA(cudaDeviceGetAttribute(&s.cc_minor, cudaDevAttrComputeCapabilityMinor, device));
  KPOLICY_GEMM_CUDA(cudaDeviceGetAttribute(&s.sms, cudaDevAttrMultiProcessorCount, device));
  if (workspace_bytes > 0) {
    KPOLICY_GEMM_CUDA(cudaMalloc(&s.workspace, static_cast<size_t>(workspace_bytes)));
    s.workspace_bytes = workspace_bytes;
  }
  KPOLICY_GEMM_CUBLAS(cublasCreate(&s.cublas));
  KPOLICY_GEMM_CUBLAS(cublasSetStream(s.cublas, s.stream));
  if (s.workspace != nullptr) {
    KPOLICY_GEMM_CUBLAS(cublasSetWorkspace(s.cublas, s.workspace, static_cast<size_t>(s.workspace_bytes)));
  }
  KPOLICY_GEMM_CUBLAS(cublasLtCreate(&s.lt));
  return {};
}

}  // namespace

Expected<GemmContext, CudaStatus> GemmContext::Create(StreamHandle stream, int64_t workspace_bytes) {
  auto state = std::make_unique<State>();
  const CudaStatus status = InitState(*state, stream, workspace_bytes);
  if (!status.ok()) return Fail(status);
  return GemmContext(std::move(state));
}

}  // namespace kpolicy::kernels::gpu
