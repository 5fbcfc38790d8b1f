// kernels::isa(): one ISA for every kernel family, RUVECTOR_ISA honoured. CTest also runs
// these under RUVECTOR_ISA=scalar (isa_forced_scalar), where a family that chose its ISA
// by itself would differ.
#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>

#include "kernels/cpu/bitplane_sum.h"
#include "kernels/cpu/distance.h"
#include "kernels/cpu/isa.h"
#include "kernels/cpu/query_planes.h"

namespace k = ruvector::kernels;

TEST(Isa, EveryFamilyUsesTheProcessIsa) {
  const k::Isa isa = k::isa();
  ASSERT_TRUE(k::cpu_supports(isa));
  const char* name = k::isa_name(isa);
  EXPECT_STREQ(k::distance_kernels().isa, name);
  EXPECT_EQ(k::bitplane_sum(), k::bitplane_sum_for(name));
  EXPECT_EQ(&k::query_plane_kernels(), k::query_plane_kernels_for(name));
}

TEST(Isa, FollowsRuvectorIsaElseTheBest) {
  const char* forced = std::getenv("RUVECTOR_ISA");
  if (forced != nullptr && k::usable_isa(forced).has_value()) {
    EXPECT_STREQ(k::isa_name(k::isa()), forced) << "RUVECTOR_ISA not honoured";
    return;
  }
  k::Isa best = k::Isa::kScalar;
  for (int i = 0; i < k::kIsaCount; i++) {
    if (k::cpu_supports(static_cast<k::Isa>(i))) best = static_cast<k::Isa>(i);
  }
  EXPECT_EQ(k::isa(), best);
}

TEST(Isa, NamesOfUsableIsasOnly) {
  for (int i = 0; i < k::kIsaCount; i++) {
    const auto isa = static_cast<k::Isa>(i);
    const std::optional<k::Isa> named = k::usable_isa(k::isa_name(isa));
    EXPECT_EQ(named.has_value(), k::cpu_supports(isa)) << k::isa_name(isa);
    if (named) {
      EXPECT_EQ(*named, isa);
    }
    // The families offer exactly the ISAs the CPU supports.
    EXPECT_EQ(k::distance_kernels_for(k::isa_name(isa)) != nullptr, k::cpu_supports(isa));
    EXPECT_EQ(k::bitplane_sum_for(k::isa_name(isa)) != nullptr, k::cpu_supports(isa));
    EXPECT_EQ(k::query_plane_kernels_for(k::isa_name(isa)) != nullptr, k::cpu_supports(isa));
  }
  EXPECT_TRUE(k::cpu_supports(k::Isa::kScalar));
  EXPECT_FALSE(k::usable_isa("sse9").has_value());
  EXPECT_FALSE(k::usable_isa("").has_value());
  EXPECT_FALSE(k::usable_isa(nullptr).has_value());
}
