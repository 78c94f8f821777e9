// GemmContext (gemm_context.h) and the paths' capability checks.
#include <cstddef>
#include <string>

#include "gemm_common.cuh"

namespace kpolicy::kernels::gpu {
namespace {

Status CapabilityError(const char* needs, int major, int minor) {
  return Fail(ErrorCode::kUnsupported,
              std::string(needs) + ", this device is " + std::to_string(major) + "." + std::to_string(minor));
}

// The name and meaning of a failed cuBLAS status.
struct CublasFailure {
  const char* name;
  const char* meaning;
};

CublasFailure DescribeCublas(cublasStatus_t status) {
  switch (status) {
    case CUBLAS_STATUS_NOT_INITIALIZED: return {"CUBLAS_STATUS_NOT_INITIALIZED", "cuBLAS could not initialise: no driver or no device"};
    case CUBLAS_STATUS_ALLOC_FAILED: return {"CUBLAS_STATUS_ALLOC_FAILED", "cuBLAS could not allocate memory"};
    case CUBLAS_STATUS_INVALID_VALUE: return {"CUBLAS_STATUS_INVALID_VALUE", "an argument or a type/layout combination cuBLAS rejects"};
    case CUBLAS_STATUS_ARCH_MISMATCH: return {"CUBLAS_STATUS_ARCH_MISMATCH", "the device lacks a feature this call needs"};
    case CUBLAS_STATUS_MAPPING_ERROR: return {"CUBLAS_STATUS_MAPPING_ERROR", "GPU memory access failed"};
    case CUBLAS_STATUS_EXECUTION_FAILED: return {"CUBLAS_STATUS_EXECUTION_FAILED", "a cuBLAS kernel failed to launch or run"};
    case CUBLAS_STATUS_INTERNAL_ERROR: return {"CUBLAS_STATUS_INTERNAL_ERROR", "cuBLAS internal error"};
    case CUBLAS_STATUS_NOT_SUPPORTED: return {"CUBLAS_STATUS_NOT_SUPPORTED", "configuration not supported"};
    case CUBLAS_STATUS_LICENSE_ERROR: return {"CUBLAS_STATUS_LICENSE_ERROR", "cuBLAS license error"};
    default: return {"unknown cublasStatus_t", "not a status this cuBLAS version documents"};
  }
}

}  // namespace

Status DeviceCallStatus(cublasStatus_t status, const char* file, int line, const char* expr) {
  if (status == CUBLAS_STATUS_SUCCESS) return {};
  const CublasFailure f = DescribeCublas(status);
  return Fail(ErrorCode::kDevice, std::string(file) + ":" + std::to_string(line) + ": " + expr + ": " + f.name +
                                      " (" + f.meaning + ")");
}

Status CheckFp8Capability(int cc_major, int cc_minor) {
  if (cc_major > 8 || (cc_major == 8 && cc_minor >= 9)) return {};
  return CapabilityError("FP8 needs compute capability 8.9+", cc_major, cc_minor);
}

Status CheckW4a16Capability(int cc_major, int cc_minor) {
  if (cc_major >= 7) return {};
  return CapabilityError("W4A16 needs compute capability 7.0+ (FP16 tensor cores, WMMA)", cc_major, cc_minor);
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

Status GemmContext::State::ReserveScratch(int64_t bytes) {
  if (bytes <= scratch_bytes) return {};
  if (scratch) {
    // The stream may still read the old scratch.
    KPOLICY_CUDA_CHECK(cudaStreamSynchronize(stream));
    KPOLICY_CUDA_CHECK(cudaFree(scratch));
    scratch = nullptr;
    scratch_bytes = 0;
  }
  const int64_t rounded = AlignUp(bytes, int64_t{1} << 20);
  KPOLICY_CUDA_CHECK(cudaMalloc(&scratch, static_cast<size_t>(rounded)));
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

Status InitState(GemmContext::State& s, StreamHandle stream, int64_t workspace_bytes) {
  KPOLICY_CHECK_ARG(workspace_bytes >= 0);
  s.stream = static_cast<cudaStream_t>(stream);
  int device = 0;
  KPOLICY_CUDA_CHECK(cudaGetDevice(&device));
  KPOLICY_CUDA_CHECK(cudaDeviceGetAttribute(&s.cc_major, cudaDevAttrComputeCapabilityMajor, device));
  KPOLICY_CUDA_CHECK(cudaDeviceGetAttribute(&s.cc_minor, cudaDevAttrComputeCapabilityMinor, device));
  KPOLICY_CUDA_CHECK(cudaDeviceGetAttribute(&s.sms, cudaDevAttrMultiProcessorCount, device));
  if (workspace_bytes > 0) {
    KPOLICY_CUDA_CHECK(cudaMalloc(&s.workspace, static_cast<size_t>(workspace_bytes)));
    s.workspace_bytes = workspace_bytes;
  }
  KPOLICY_CUDA_CHECK(cublasCreate(&s.cublas));
  KPOLICY_CUDA_CHECK(cublasSetStream(s.cublas, s.stream));
  if (s.workspace != nullptr) {
    KPOLICY_CUDA_CHECK(cublasSetWorkspace(s.cublas, s.workspace, static_cast<size_t>(s.workspace_bytes)));
  }
  KPOLICY_CUDA_CHECK(cublasLtCreate(&s.lt));
  return {};
}

}  // namespace

Expected<GemmContext> GemmContext::Create(StreamHandle stream, int64_t workspace_bytes) {
  auto state = std::make_unique<State>();
  const Status status = InitState(*state, stream, workspace_bytes);
  if (!status.ok()) return Fail(status.error());
  return GemmContext(std::move(state));
}

}  // namespace kpolicy::kernels::gpu
