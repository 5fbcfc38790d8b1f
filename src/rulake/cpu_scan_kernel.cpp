// See cpu_scan_kernel.h. Estimates go through kernels/scan/scan_device.h, the code the
// CUDA kernel compiles too; this file is built with -ffp-contract=off (Makefile,
// CMakeLists.txt) so that no multiply-add is fused on any target.
#include "rulake/cpu_scan_kernel.h"

#include <algorithm>
#include <cstdio>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "kernels/cpu/distance.h"
#include "kernels/cpu/estimate_rows.h"
#include "kernels/scan/scan_device.h"
#include "rabitq/code.h"
#include "rabitq/metric.h"
#include "util/error.h"

namespace ruvector::rulake {

namespace {

static_assert(sizeof(RvCodeFactors) == sizeof(rabitq::CodeFactors));
static_assert(offsetof(RvCodeFactors, popcount) == offsetof(rabitq::CodeFactors, popcount));
static_assert(static_cast<int>(rabitq::Metric::kL2) == RV_METRIC_L2 &&
              static_cast<int>(rabitq::Metric::kInnerProduct) == RV_METRIC_IP &&
              static_cast<int>(rabitq::Metric::kCosine) == RV_METRIC_COSINE);

constexpr std::size_t kRowsPerBlock = 256;

int cpu_scan(void*, const RvScanImage* image, int metric, const RvScanJob* jobs, size_t njobs,
             const uint64_t* planes, size_t plane_words, float* out, size_t nout, char* err,
             size_t errlen) {
  const auto& k = kernels::distance_kernels();
  const auto& e = kernels::estimate_kernels();
  const std::size_t words = image->words;
  const bool ip = metric == RV_METRIC_IP;
  for (size_t j = 0; j < njobs; j++) {
    const RvScanJob& job = jobs[j];
    if (job.first > job.end || job.end > image->rows || job.out + (job.end - job.first) > nout ||
        job.planes + 4 * words > plane_words) {
      std::snprintf(err, errlen, "scan job %zu lies outside its buffers", j);
      return 1;
    }
    const uint64_t* q = planes + job.planes;
    float* o = out + job.out;
    // A block's dots back to back, then their estimates in one kernel call.
    std::uint32_t dots[kRowsPerBlock];
    for (uint64_t from = job.first; from < job.end; from += kRowsPerBlock) {
      const auto n = static_cast<std::size_t>(std::min<uint64_t>(kRowsPerBlock, job.end - from));
      for (std::size_t r = 0; r < n; r++) {
        dots[r] = k.bitplane_dot4(image->codes + (from + r) * words, q, words);
      }
      e.distances(dots, image->factors + from, n, job, ip, o + (from - job.first));
    }
  }
  return 0;
}

// Asks for a row's vector in the core's L2 cache, one prefetch per 64-byte line.
void prefetch_l2(const float* row, std::size_t dim) {
  const char* p = reinterpret_cast<const char*>(row);
  const std::size_t bytes = sizeof(float) * dim;
  for (std::size_t at = 0; at < bytes; at += 64) __builtin_prefetch(p + at, 0, 2);
}

// A search reranks rows scattered over the image (tens to hundreds per query), which a
// large image holds in DRAM: each row's first lines miss before the hardware prefetcher
// follows it. Fetching the next job's row while this one is computed hides that (100 rows
// of 784 floats from a 188 MB array: 40 µs -> 24 µs). The answers do not change.
int cpu_rerank(void*, const RvScanImage* image, int metric, const float* queries, size_t nqueries,
               const RvRerankJob* jobs, size_t njobs, double* out, char* err, size_t errlen) {
  const int dim = static_cast<int>(image->dim);
  for (size_t i = 0; i < njobs; i++) {
    if (jobs[i].slot >= image->rows || jobs[i].query >= nqueries) {
      std::snprintf(err, errlen, "rerank job %zu lies outside its buffers", i);
      return 1;
    }
    if (i + 1 < njobs && jobs[i + 1].slot < image->rows) {
      prefetch_l2(image->vectors + jobs[i + 1].slot * image->dim, image->dim);
    }
    out[i] = rabitq::exact_distance(static_cast<rabitq::Metric>(metric),
                                    image->vectors + jobs[i].slot * image->dim,
                                    queries + std::size_t{jobs[i].query} * image->dim, dim);
  }
  return 0;
}

const RvScanKernel kCpuKernel = {RV_SCAN_ABI_VERSION, "cpu",   1,        1,
                                 UINT32_MAX,          nullptr, cpu_scan, cpu_rerank};

}  // namespace

const RvScanKernel& cpu_scan_kernel() { return kCpuKernel; }

// Candidates come nearest estimate first, so the k-th exact distance found early is close to
// the final one, and most later rows pass it within their first kCheckFloats dimensions
// (77% of 70 a shard on Fashion-MNIST). Only those first dimensions of the next rows are
// prefetched: a row that is read further is followed by the hardware prefetcher, and
// fetching whole rows, most of which are not read to the end, measured slower.
void cpu_rerank_l2_nearest(const RvScanImage& image, const float* query, const RvRerankJob* jobs,
                           std::size_t n, std::uint32_t k, double* out) {
  const auto& kernels = kernels::distance_kernels();
  const std::size_t dim = image.dim;
  constexpr std::size_t kAhead = 4;
  const std::size_t head = std::min<std::size_t>(dim, kernels::kCheckFloats);
  for (std::size_t i = 0; i < n; i++) {
    if (jobs[i].slot >= image.rows) fail(ErrorKind::kInternal, "rerank job lies outside the image");
  }
  auto row_of = [&](std::size_t i) { return image.vectors + jobs[i].slot * dim; };
  for (std::size_t i = 0; i < std::min(n, kAhead); i++) prefetch_l2(row_of(i), head);
  // The k smallest distances so far as append_nearest compares them (floats), largest on top.
  std::vector<float> nearest;
  nearest.reserve(k);
  for (std::size_t i = 0; i < n; i++) {
    if (i + kAhead < n) prefetch_l2(row_of(i + kAhead), head);
    if (k == 0) {
      out[i] = std::numeric_limits<double>::infinity();
      continue;
    }
    const float* row = row_of(i);
    float sum;
    if (nearest.size() == k) {
      const float kth = nearest.front();
      const float limit = static_cast<float>(double{kth} * kth);
      sum = kernels.l2_squared_until(row, query, dim, limit);
      if (sum > limit) {
        // float(sqrt(whole sum)) >= float(sqrt(partial sum)): both roundings are monotone,
        // so the row is farther than the k-th and append_nearest would not keep it.
        if (static_cast<float>(std::sqrt(static_cast<double>(sum))) > kth) {
          out[i] = std::numeric_limits<double>::infinity();
          continue;
        }
        sum = kernels.l2_squared(row, query, dim);  // rounding left it level with the k-th
      }
    } else {
      sum = kernels.l2_squared(row, query, dim);
    }
    out[i] = std::sqrt(static_cast<double>(sum));  // rabitq::exact_distance's L2, bit for bit
    const float d = static_cast<float>(out[i]);
    if (nearest.size() < k) {
      nearest.push_back(d);
      std::push_heap(nearest.begin(), nearest.end());
    } else if (d < nearest.front()) {
      std::pop_heap(nearest.begin(), nearest.end());
      nearest.back() = d;
      std::push_heap(nearest.begin(), nearest.end());
    }
  }
}

}  // namespace ruvector::rulake
