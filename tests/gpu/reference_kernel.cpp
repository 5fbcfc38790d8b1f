// A scan kernel library that runs the GPU kernel's own per-code and per-candidate code
// (kernels/scan/scan_device.h) in plain host loops, in the rerank's tree order. It stands in
// for ruvector_cuda.so where there is no GPU: the loader, the dispatch and the conformance
// harness are tested against it, and through it the arithmetic the device runs.
//
// It links nothing from the core (the dlopen'd copy would duplicate the process's own).
// RUVECTOR_REFERENCE_KERNEL=fail makes its entry point refuse, as a GPU library does on a
// machine without a device; =nondeterministic makes it report itself non-deterministic;
// =scanfail makes every scan fail, as a device that is lost does.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "kernels/scan/scan_device.h"
#include "kernels/scan/scan_kernel.h"

namespace {

namespace rk = ruvector::kernels;

// The block size of the CUDA rerank: partial sums are combined in the same tree.
constexpr unsigned kThreads = 128;

bool scans_fail = false;

int reference_scan(void*, const RvScanImage* image, int metric, const RvScanJob* jobs, size_t njobs,
                   const uint64_t* planes, size_t plane_words, float* out, size_t nout, char* err,
                   size_t errlen) {
  if (scans_fail) {
    std::snprintf(err, errlen, "device lost (reference kernel told to fail)");
    return 1;
  }
  for (size_t j = 0; j < njobs; j++) {
    const RvScanJob& job = jobs[j];
    if (job.first > job.end || job.end > image->rows || job.out + (job.end - job.first) > nout ||
        job.planes + 4 * static_cast<uint64_t>(image->words) > plane_words) {
      std::snprintf(err, errlen, "scan job %zu lies outside its buffers", j);
      return 1;
    }
    for (uint64_t s = job.first; s < job.end; s++) {
      const uint32_t dot = rk::bitplane_dot4_portable(image->codes + s * image->words,
                                                      planes + job.planes, image->words);
      out[job.out + (s - job.first)] =
          rk::estimate_from_dot(dot, image->factors[s], job, metric == RV_METRIC_IP);
    }
  }
  return 0;
}

int reference_rerank(void*, const RvScanImage* image, int metric, const float* queries,
                     size_t nqueries, const RvRerankJob* jobs, size_t njobs, double* out, char* err,
                     size_t errlen) {
  rk::ExactParts parts[kThreads];
  for (size_t i = 0; i < njobs; i++) {
    if (jobs[i].slot >= image->rows || jobs[i].query >= nqueries) {
      std::snprintf(err, errlen, "rerank job %zu lies outside its buffers", i);
      return 1;
    }
    const float* row = image->vectors + jobs[i].slot * image->dim;
    const float* query = queries + static_cast<size_t>(jobs[i].query) * image->dim;
    for (unsigned t = 0; t < kThreads; t++) {
      parts[t] = rk::ExactParts{0, 0, 0};
      for (uint32_t j = t; j < image->dim; j += kThreads)
        rk::exact_accumulate(metric, row[j], query[j], &parts[t]);
    }
    for (unsigned half = kThreads / 2; half > 0; half /= 2) {
      for (unsigned t = 0; t < half; t++) rk::exact_combine(&parts[t], parts[t + half]);
    }
    out[i] = rk::exact_from_parts(metric, parts[0]);
  }
  return 0;
}

}  // namespace

extern "C" __attribute__((visibility("default"))) int ruvector_scan_kernel(uint32_t abi_version,
                                                                           RvScanKernel* out,
                                                                           char* err,
                                                                           size_t errlen) {
  const char* mode = std::getenv("RUVECTOR_REFERENCE_KERNEL");
  if (mode != nullptr && std::strcmp(mode, "fail") == 0) {
    std::snprintf(err, errlen, "no device (reference kernel told to fail)");
    return 1;
  }
  if (abi_version != RV_SCAN_ABI_VERSION) {
    std::snprintf(err, errlen, "reference kernel speaks ABI %u, not %u", RV_SCAN_ABI_VERSION,
                  abi_version);
    return 1;
  }
  std::memset(out, 0, sizeof(*out));
  out->abi_version = RV_SCAN_ABI_VERSION;
  out->name = "reference";
  out->deterministic = mode != nullptr && std::strcmp(mode, "nondeterministic") == 0 ? 0 : 1;
  scans_fail = mode != nullptr && std::strcmp(mode, "scanfail") == 0;
  out->min_batch = 8;
  out->max_dim = 16000;
  out->scan = reference_scan;
  out->rerank = reference_rerank;
  return 0;
}
