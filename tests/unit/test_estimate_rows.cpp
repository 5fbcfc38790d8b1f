// The estimate kernels of every ISA against estimate_from_dot, the function the GPU kernel
// runs: bit for bit, for both metrics, rows whose inv_x0 is 0, extreme factors and
// lengths that leave tails.
#include <gtest/gtest.h>

#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "kernels/cpu/estimate_rows.h"
#include "kernels/scan/scan_device.h"

namespace k = ruvector::kernels;

TEST(EstimateRows, EveryIsaGivesTheScalarBits) {
  std::mt19937_64 rng(19);
  std::uniform_real_distribution<float> unit(-1.0f, 1.0f);
  std::uniform_real_distribution<float> positive(1e-3f, 50.0f);
  int checked = 0;
  for (const char* isa : {"scalar", "avx2", "avx512"}) {
    const k::EstimateKernels* t = k::estimate_kernels_for(isa);
    if (t == nullptr) continue;  // not on this CPU
    checked++;
    for (std::size_t n : {1u, 7u, 8u, 15u, 16u, 17u, 61u, 256u}) {
      for (bool ip : {false, true}) {
        RvScanJob job{};
        job.low = unit(rng);
        job.delta = positive(rng) / 15;
        job.sum = static_cast<float>(rng() % 10000);
        job.sqrt_d = std::sqrt(static_cast<float>(64 * (1 + rng() % 64)));
        job.norm = positive(rng);
        job.centroid_dot = unit(rng) * 100;
        std::vector<std::uint32_t> dots(n);
        std::vector<RvCodeFactors> factors(n);
        for (std::size_t i = 0; i < n; i++) {
          dots[i] = static_cast<std::uint32_t>(rng() % (15 * 4096));
          factors[i].residual_norm = positive(rng);
          factors[i].inv_x0 = i % 5 == 3 ? 0.0f : positive(rng);
          factors[i].error_unit = unit(rng);
          factors[i].popcount = static_cast<std::uint32_t>(rng() % 4096);
        }
        if (n > 2) {
          factors[1].residual_norm = 0.0f;
          factors[2].inv_x0 = -0.0f;
        }
        std::vector<float> want(n), got(n + 1, 7.0f);
        for (std::size_t i = 0; i < n; i++)
          want[i] = k::estimate_from_dot(dots[i], factors[i], job, ip);
        t->distances(dots.data(), factors.data(), n, job, ip, got.data());
        EXPECT_EQ(0, std::memcmp(got.data(), want.data(), sizeof(float) * n))
            << isa << " n=" << n << (ip ? " ip" : " l2");
        EXPECT_EQ(got[n], 7.0f) << isa << " wrote past n=" << n;
      }
    }
  }
  EXPECT_GE(checked, 1);
}
