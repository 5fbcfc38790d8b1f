// The batch scan kernel interface: the phase of a RaBitQ search that estimates the distance
// of every code in the probed lists, for many (query, list) jobs at once, plus the exact
// distances of the rerank candidates. The CPU implementation is always built
// (src/rulake/cpu_scan_kernel.cpp); a GPU implementation lives in a separate shared library loaded
// at run time (kernels/cuda), so this header is plain C: no C++ type, no exception crosses it.
//
// Determinism contract: a kernel that reports deterministic = 1 writes estimates that are
// bit-identical to the CPU kernel's for the same inputs (same formula, estimate.h, with no
// fused multiply-add), so the candidate set of a search never depends on the kernel.
// Exact distances may differ in rounding.
#ifndef RUVECTOR_KERNELS_SCAN_KERNEL_H
#define RUVECTOR_KERNELS_SCAN_KERNEL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RV_SCAN_ABI_VERSION 1u

// Same layout as ruvector::rabitq::CodeFactors (static_assert in src/rulake/cpu_scan_kernel.cpp).
typedef struct RvCodeFactors {
  float residual_norm;
  float inv_x0;
  float error_unit;
  uint32_t popcount;
} RvCodeFactors;

// The searchable part of one index image. `key` names its content (0: unnamed); a kernel
// may keep device copies of images by key and must treat equal keys as equal content.
typedef struct RvScanImage {
  uint64_t key;
  uint64_t rows;
  uint32_t words;                // code words per row: padded_dim / 64
  uint32_t dim;                  // floats per row in `vectors`
  const uint64_t* codes;         // rows × words
  const RvCodeFactors* factors;  // rows
  const float* vectors;          // rows × dim, for exact distances
} RvScanImage;

// One query against one list: the quantized query's scalars (see rabitq/query.h) and where
// its bit planes and its estimates go.
typedef struct RvScanJob {
  uint64_t first;  // slots [first, end) of the image
  uint64_t end;
  uint64_t out;     // estimates of slot s go to out + (s - first)
  uint64_t planes;  // 4 × words plane words at planes + this offset
  float low;
  float delta;
  float sum;
  float sqrt_d;
  float norm;          // ||residual of the query||
  float centroid_dot;  // inner product metric: <query, centroid>; else unused
} RvScanJob;

// One exact distance: row `slot` of the image against query `query` of a batch.
typedef struct RvRerankJob {
  uint64_t slot;
  uint32_t query;
  uint32_t pad;
} RvRerankJob;

// Metric codes, as rabitq::Metric.
enum { RV_METRIC_L2 = 1, RV_METRIC_IP = 2, RV_METRIC_COSINE = 3 };

typedef struct RvScanKernel {
  uint32_t abi_version;  // RV_SCAN_ABI_VERSION
  const char* name;      // "cpu", "cuda"
  int deterministic;     // 1: estimates bit-identical to the CPU kernel's
  uint32_t min_batch;    // queries per call below which the CPU is as fast
  uint32_t max_dim;      // largest padded dimension it accepts
  void* self;
  // Writes the estimate of every slot of every job. metric: RV_METRIC_*. Returns 0, or
  // non-zero with a message in err.
  int (*scan)(void* self, const RvScanImage* image, int metric, const RvScanJob* jobs, size_t njobs,
              const uint64_t* planes, size_t plane_words, float* out, size_t nout, char* err,
              size_t errlen);
  // out[i] = exact distance (as rabitq::exact_distance) of jobs[i]; queries holds the
  // batch's queries, dim floats each, prepared as the rows were (normalised for cosine,
  // the query as given otherwise).
  int (*rerank)(void* self, const RvScanImage* image, int metric, const float* queries,
                size_t nqueries, const RvRerankJob* jobs, size_t njobs, double* out, char* err,
                size_t errlen);
} RvScanKernel;

// The entry point a kernel library exports: fills *out or returns non-zero with a reason
// (for example "no CUDA device"). Called once per process.
typedef int (*RvScanKernelEntry)(uint32_t abi_version, RvScanKernel* out, char* err, size_t errlen);
#define RV_SCAN_KERNEL_ENTRY "ruvector_scan_kernel"

#ifdef __cplusplus
}
#endif

#endif  // RUVECTOR_KERNELS_SCAN_KERNEL_H
