// The CUDA batch scan kernel library (kernels/scan/scan_kernel.h): ruvector_cuda.so, built
// by `make WITH_CUDA=1` and loaded by the extension at run time (ruvector.gpu), never linked
// into ruvector.so. Static cudart, so the library needs only the driver.
//
// Scan: one block per job, the job's query planes in shared memory, one thread per code;
// each thread runs scan_device.h's estimate_from_dot, the host's own code, compiled with
// --fmad=false so that every estimate is bit-identical to the CPU kernel's.
// Rerank: one block per candidate, coordinates shared among the threads, partial sums in
// double combined in a fixed tree order.
//
// The codes, factors and vectors of the last image are kept on the device under the
// image's key, so a batch against a cached collection uploads nothing but its queries.
#include <cuda_runtime.h>

#include <cstdio>
#include <cstring>
#include <mutex>

#include "kernels/scan/scan_device.h"
#include "kernels/scan/scan_kernel.h"

namespace {

namespace rk = ruvector::kernels;

constexpr int kScanThreads = 256;
constexpr int kRerankThreads = 128;
constexpr unsigned kMaxPaddedDim = 16000;

__global__ void scan_kernel(const uint64_t* codes, const RvCodeFactors* factors, uint32_t words,
                            const RvScanJob* jobs, const uint64_t* planes, bool inner_product,
                            float* out) {
  extern __shared__ uint64_t job_planes[];
  const RvScanJob job = jobs[blockIdx.x];
  for (uint32_t i = threadIdx.x; i < 4 * words; i += blockDim.x)
    job_planes[i] = planes[job.planes + i];
  __syncthreads();
  for (uint64_t s = job.first + threadIdx.x; s < job.end; s += blockDim.x) {
    const uint32_t dot = rk::bitplane_dot4_portable(codes + s * words, job_planes, words);
    out[job.out + (s - job.first)] = rk::estimate_from_dot(dot, factors[s], job, inner_product);
  }
}

__global__ void rerank_kernel(const float* vectors, uint32_t dim, const float* queries,
                              const RvRerankJob* jobs, int metric, double* out) {
  __shared__ rk::ExactParts parts[kRerankThreads];
  const RvRerankJob job = jobs[blockIdx.x];
  const float* row = vectors + job.slot * dim;
  const float* query = queries + static_cast<size_t>(job.query) * dim;
  rk::ExactParts mine{0, 0, 0};
  for (uint32_t j = threadIdx.x; j < dim; j += blockDim.x)
    rk::exact_accumulate(metric, row[j], query[j], &mine);
  parts[threadIdx.x] = mine;
  __syncthreads();
  for (unsigned half = blockDim.x / 2; half > 0; half /= 2) {
    if (threadIdx.x < half) rk::exact_combine(&parts[threadIdx.x], parts[threadIdx.x + half]);
    __syncthreads();
  }
  if (threadIdx.x == 0) out[blockIdx.x] = rk::exact_from_parts(metric, parts[0]);
}

// A device buffer that grows and is reused across calls.
struct DeviceBuffer {
  void* ptr = nullptr;
  size_t bytes = 0;
  cudaError_t reserve(size_t want) {
    if (want <= bytes) return cudaSuccess;
    if (ptr != nullptr) cudaFree(ptr);
    ptr = nullptr;
    bytes = 0;
    cudaError_t e = cudaMalloc(&ptr, want);
    if (e == cudaSuccess) bytes = want;
    return e;
  }
};

struct State {
  std::mutex lock;
  // The image on the device: valid for `key` (0: nothing kept).
  uint64_t key = 0;
  uint64_t rows = 0;
  uint32_t words = 0;
  uint32_t dim = 0;
  bool has_codes = false;
  bool has_vectors = false;
  DeviceBuffer codes, factors, vectors;
  DeviceBuffer jobs, planes, out, queries;
};
State state;

bool failed(cudaError_t e, const char* what, char* err, size_t errlen) {
  if (e == cudaSuccess) return false;
  std::snprintf(err, errlen, "%s: %s", what, cudaGetErrorString(e));
  return true;
}

// Forgets the kept image when `image` is another one (or unnamed).
void select_image(const RvScanImage* image) {
  if (image->key != 0 && image->key == state.key && image->rows == state.rows &&
      image->words == state.words && image->dim == state.dim)
    return;
  state.key = image->key;
  state.rows = image->rows;
  state.words = image->words;
  state.dim = image->dim;
  state.has_codes = false;
  state.has_vectors = false;
}

int upload(DeviceBuffer* buffer, const void* host, size_t bytes, const char* what, char* err,
           size_t errlen) {
  if (failed(buffer->reserve(bytes), what, err, errlen)) return 1;
  if (bytes == 0) return 0;
  return failed(cudaMemcpy(buffer->ptr, host, bytes, cudaMemcpyHostToDevice), what, err, errlen)
             ? 1
             : 0;
}

int cuda_scan(void*, const RvScanImage* image, int metric, const RvScanJob* jobs, size_t njobs,
              const uint64_t* planes, size_t plane_words, float* out, size_t nout, char* err,
              size_t errlen) {
  std::lock_guard<std::mutex> hold(state.lock);
  const uint32_t words = image->words;
  for (size_t j = 0; j < njobs; j++) {
    const RvScanJob& job = jobs[j];
    if (job.first > job.end || job.end > image->rows || job.out + (job.end - job.first) > nout ||
        job.planes + 4 * static_cast<uint64_t>(words) > plane_words) {
      std::snprintf(err, errlen, "scan job %zu lies outside its buffers", j);
      return 1;
    }
  }
  if (njobs == 0 || nout == 0) return 0;
  if (njobs > 0x7fffffffu) {
    std::snprintf(err, errlen, "%zu scan jobs exceed one launch", njobs);
    return 1;
  }
  select_image(image);
  if (!state.has_codes) {
    if (upload(&state.codes, image->codes, image->rows * words * sizeof(uint64_t),
               "uploading codes", err, errlen) ||
        upload(&state.factors, image->factors, image->rows * sizeof(RvCodeFactors),
               "uploading factors", err, errlen))
      return 1;
    state.has_codes = true;
  }
  if (upload(&state.jobs, jobs, njobs * sizeof(RvScanJob), "uploading jobs", err, errlen) ||
      upload(&state.planes, planes, plane_words * sizeof(uint64_t), "uploading planes", err,
             errlen) ||
      failed(state.out.reserve(nout * sizeof(float)), "allocating estimates", err, errlen))
    return 1;
  const size_t shared = 4 * static_cast<size_t>(words) * sizeof(uint64_t);
  scan_kernel<<<static_cast<unsigned>(njobs), kScanThreads, shared>>>(
      static_cast<const uint64_t*>(state.codes.ptr),
      static_cast<const RvCodeFactors*>(state.factors.ptr), words,
      static_cast<const RvScanJob*>(state.jobs.ptr), static_cast<const uint64_t*>(state.planes.ptr),
      metric == RV_METRIC_IP, static_cast<float*>(state.out.ptr));
  if (failed(cudaGetLastError(), "launching the scan", err, errlen) ||
      failed(cudaMemcpy(out, state.out.ptr, nout * sizeof(float), cudaMemcpyDeviceToHost),
             "reading estimates", err, errlen))
    return 1;
  return 0;
}

int cuda_rerank(void*, const RvScanImage* image, int metric, const float* queries, size_t nqueries,
                const RvRerankJob* jobs, size_t njobs, double* out, char* err, size_t errlen) {
  std::lock_guard<std::mutex> hold(state.lock);
  for (size_t i = 0; i < njobs; i++) {
    if (jobs[i].slot >= image->rows || jobs[i].query >= nqueries) {
      std::snprintf(err, errlen, "rerank job %zu lies outside its buffers", i);
      return 1;
    }
  }
  if (njobs == 0) return 0;
  if (njobs > 0x7fffffffu) {
    std::snprintf(err, errlen, "%zu rerank jobs exceed one launch", njobs);
    return 1;
  }
  select_image(image);
  if (!state.has_vectors) {
    if (upload(&state.vectors, image->vectors, image->rows * image->dim * sizeof(float),
               "uploading vectors", err, errlen))
      return 1;
    state.has_vectors = true;
  }
  // The job buffer is shared with the scan: it no longer needs its jobs.
  if (upload(&state.jobs, jobs, njobs * sizeof(RvRerankJob), "uploading candidates", err, errlen) ||
      upload(&state.queries, queries, nqueries * image->dim * sizeof(float), "uploading queries",
             err, errlen) ||
      failed(state.out.reserve(njobs * sizeof(double)), "allocating distances", err, errlen))
    return 1;
  rerank_kernel<<<static_cast<unsigned>(njobs), kRerankThreads>>>(
      static_cast<const float*>(state.vectors.ptr), image->dim,
      static_cast<const float*>(state.queries.ptr), static_cast<const RvRerankJob*>(state.jobs.ptr),
      metric, static_cast<double*>(state.out.ptr));
  if (failed(cudaGetLastError(), "launching the rerank", err, errlen) ||
      failed(cudaMemcpy(out, state.out.ptr, njobs * sizeof(double), cudaMemcpyDeviceToHost),
             "reading distances", err, errlen))
    return 1;
  return 0;
}

}  // namespace

extern "C" __attribute__((visibility("default"))) int ruvector_scan_kernel(uint32_t abi_version,
                                                                           RvScanKernel* out,
                                                                           char* err,
                                                                           size_t errlen) {
  if (abi_version != RV_SCAN_ABI_VERSION) {
    std::snprintf(err, errlen, "ruvector_cuda speaks scan kernel ABI %u, not %u",
                  RV_SCAN_ABI_VERSION, abi_version);
    return 1;
  }
  int devices = 0;
  cudaError_t e = cudaGetDeviceCount(&devices);
  if (e != cudaSuccess) {
    std::snprintf(err, errlen, "no CUDA device: %s", cudaGetErrorString(e));
    return 1;
  }
  if (devices == 0) {
    std::snprintf(err, errlen, "no CUDA device");
    return 1;
  }
  std::memset(out, 0, sizeof(*out));
  out->abi_version = RV_SCAN_ABI_VERSION;
  out->name = "cuda";
  out->deterministic = 1;
  // Below this many queries the transfers cost more than the CPU scan (measure with
  // bench/gpu_scan_bench before changing it).
  out->min_batch = 32;
  out->max_dim = kMaxPaddedDim;
  out->scan = cuda_scan;
  out->rerank = cuda_rerank;
  return 0;
}
