// The ruLake index image: recall against brute force, determinism and relocation, bad
// input, streamed builds, and federation's merge.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <set>
#include <stdexcept>
#include <vector>

#include "rabitq/metric.h"
#include "rulake/collection_index.h"
#include "util/error.h"

namespace rl = ruvector::rulake;
using ruvector::rabitq::Metric;

namespace {

struct Data {
  std::uint32_t dim;
  std::vector<std::int64_t> ids;
  std::vector<float> rows;
};

// Gaussian clusters: 16 centres, unit noise.
Data clustered(std::size_t n, std::uint32_t dim, std::uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::normal_distribution<float> noise(0.0f, 1.0f);
  std::vector<float> centres(16 * dim);
  for (float& c : centres) c = noise(gen) * 4;
  Data d{dim, {}, {}};
  for (std::size_t i = 0; i < n; i++) {
    d.ids.push_back(static_cast<std::int64_t>(i * 3 + 1));
    const float* c = centres.data() + (i % 16) * dim;
    for (std::uint32_t j = 0; j < dim; j++) d.rows.push_back(c[j] + noise(gen));
  }
  return d;
}

std::vector<std::int64_t> exact_top(const Data& d, const float* q, Metric m, std::size_t k) {
  std::vector<std::pair<double, std::int64_t>> all;
  for (std::size_t i = 0; i < d.ids.size(); i++) {
    all.emplace_back(ruvector::rabitq::exact_distance(m, d.rows.data() + i * d.dim, q, d.dim),
                     d.ids[i]);
  }
  std::partial_sort(all.begin(), all.begin() + k, all.end());
  std::vector<std::int64_t> out;
  for (std::size_t i = 0; i < k; i++) out.push_back(all[i].second);
  return out;
}

double recall(const Data& d, const std::vector<unsigned char>& image, Metric m,
              std::uint32_t probes) {
  Data queries = clustered(50, d.dim, 99);
  double found = 0;
  for (std::size_t qi = 0; qi < 50; qi++) {
    const float* q = queries.rows.data() + qi * d.dim;
    rl::SearchParams p;
    p.k = 10;
    p.rerank_factor = 20;
    p.probes = probes;
    std::vector<rl::Hit> hits;
    rl::search_index(image.data(), image.size(), q, p, &hits);
    std::vector<std::int64_t> truth = exact_top(d, q, m, 10);
    std::set<std::int64_t> want(truth.begin(), truth.end());
    for (const rl::Hit& h : hits) found += want.count(h.id);
  }
  return found / (50.0 * 10);
}

std::vector<unsigned char> build(const Data& d, Metric m, std::uint32_t lists,
                                 unsigned threads = 1) {
  rl::IndexParams p;
  p.dim = d.dim;
  p.metric = m;
  p.seed = 42;
  p.lists = lists;
  p.threads = threads;
  return rl::build_index(p, d.ids.data(), d.rows.data(), d.ids.size());
}

}  // namespace

TEST(RulakeIndex, RecallAgainstBruteForce) {
  for (std::uint32_t dim : {64u, 100u}) {
    Data d = clustered(5000, dim, 7);
    for (Metric m : {Metric::kL2, Metric::kInnerProduct, Metric::kCosine}) {
      auto image = build(d, m, 32);
      EXPECT_GE(recall(d, image, m, 0), 0.95) << "dim " << dim << " metric " << int(m);
      EXPECT_GE(recall(d, image, m, 8), 0.90) << "dim " << dim << " metric " << int(m);
    }
  }
}

TEST(RulakeIndex, DeterministicAndRelocatable) {
  Data d = clustered(3000, 48, 3);
  auto a = build(d, Metric::kL2, 16, 1);
  auto b = build(d, Metric::kL2, 16, 4);
  ASSERT_EQ(a, b) << "thread count changed the image";
  std::vector<unsigned char> moved(a.size() + 64);
  std::memcpy(moved.data() + 64, a.data(), a.size());  // another address, still aligned
  rl::SearchParams p;
  std::vector<rl::Hit> h1, h2, h3;
  const float* q = d.rows.data() + 17 * d.dim;
  rl::search_index(a.data(), a.size(), q, p, &h1);
  rl::search_index(a.data(), a.size(), q, p, &h2);
  rl::search_index(moved.data() + 64, a.size(), q, p, &h3);
  ASSERT_EQ(h1.size(), 10u);
  for (std::size_t i = 0; i < h1.size(); i++) {
    EXPECT_EQ(h1[i].id, h2[i].id);
    EXPECT_EQ(h1[i].id, h3[i].id);
    EXPECT_EQ(std::memcmp(&h1[i].distance, &h3[i].distance, sizeof(float)), 0);
  }
  EXPECT_EQ(h1[0].id, d.ids[17]);
  EXPECT_EQ(h1[0].distance, 0.0f);
  rl::ImageInfo info = rl::image_info(a.data(), a.size());
  EXPECT_EQ(info.dim, 48u);
  EXPECT_EQ(info.padded_dim, 64u);
  EXPECT_EQ(info.lists, 16u);
  EXPECT_EQ(info.rows, 3000u);
  EXPECT_EQ(info.seed, 42u);
}

TEST(RulakeIndex, RejectsCorruptImagesAndBadQueries) {
  Data d = clustered(500, 16, 5);
  auto image = build(d, Metric::kL2, 8);
  EXPECT_THROW(rl::image_info(image.data(), image.size() - 1), std::runtime_error);
  EXPECT_THROW(rl::image_info(image.data(), 10), std::runtime_error);
  auto bad = image;
  bad[0] ^= 1;
  EXPECT_THROW(rl::image_info(bad.data(), bad.size()), std::runtime_error);
  bad = image;
  bad[12] ^= 1;  // dim
  EXPECT_THROW(rl::image_info(bad.data(), bad.size()), std::runtime_error);
  std::vector<float> q(16, 1.0f);
  q[3] = std::nanf("");
  std::vector<rl::Hit> hits;
  EXPECT_THROW(rl::search_index(image.data(), image.size(), q.data(), {}, &hits),
               std::invalid_argument);
  auto cosine = build(d, Metric::kCosine, 8);
  std::vector<float> zero(16, 0.0f);
  EXPECT_THROW(rl::search_index(cosine.data(), cosine.size(), zero.data(), {}, &hits),
               std::invalid_argument);
  rl::IndexParams p;
  p.dim = 0;
  EXPECT_THROW(rl::build_index(p, nullptr, nullptr, 0), std::invalid_argument);
  p.dim = 16;
  std::vector<float> nan_row(16, std::nanf(""));
  std::int64_t id = 1;
  EXPECT_THROW(rl::build_index(p, &id, nan_row.data(), 1), std::invalid_argument);
}

// A damaged image is stored data failing verification: kIntegrity (XX001), not a bare
// std::runtime_error that the boundary would report as an internal error (XX000).
TEST(RulakeIndex, CorruptImagesAreIntegrityErrors) {
  Data d = clustered(300, 16, 5);
  auto image = build(d, Metric::kL2, 8);
  auto kind_of = [](const std::vector<unsigned char>& bytes, std::size_t size) {
    std::vector<float> q(16, 1.0f);
    std::vector<rl::Hit> hits;
    for (int call = 0; call < 2; call++) {
      try {
        if (call == 0) {
          rl::image_info(bytes.data(), size);
        } else {
          rl::search_index(bytes.data(), size, q.data(), {}, &hits);
        }
        ADD_FAILURE() << "no error for a corrupt image (call " << call << ")";
      } catch (const ruvector::Error& e) {
        EXPECT_EQ(e.kind(), ruvector::ErrorKind::kIntegrity) << e.what();
      }
    }
  };
  kind_of(image, image.size() - 1);                 // truncated
  kind_of(image, 10);                               // shorter than the header
  for (std::size_t at : {0u, 8u, 12u, 16u, 20u}) {  // magic, version, dim and beyond
    auto bad = image;
    bad[at] ^= 0x40;
    kind_of(bad, bad.size());
  }
}

TEST(RulakeIndex, EdgeCases) {
  rl::IndexParams p;
  p.dim = 4;
  auto empty = rl::build_index(p, nullptr, nullptr, 0);
  std::vector<float> q = {1, 2, 3, 4};
  std::vector<rl::Hit> hits;
  rl::search_index(empty.data(), empty.size(), q.data(), {}, &hits);
  EXPECT_TRUE(hits.empty());

  // Duplicates: ties come out by id; k beyond the rows returns them all, sorted.
  std::vector<std::int64_t> ids = {9, 3, 7, 5};
  std::vector<float> rows = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0};
  auto image = rl::build_index(p, ids.data(), rows.data(), ids.size());
  rl::SearchParams sp;
  sp.k = 100;
  rl::search_index(image.data(), image.size(), q.data(), sp, &hits);
  ASSERT_EQ(hits.size(), 4u);
  EXPECT_EQ(hits[0].id, 3);
  EXPECT_EQ(hits[1].id, 7);
  EXPECT_EQ(hits[2].id, 9);
  EXPECT_EQ(hits[3].id, 5);
  sp.k = 0;
  rl::search_index(image.data(), image.size(), q.data(), sp, &hits);
  EXPECT_TRUE(hits.empty());
  // A zero row has no cosine direction: left out.
  p.metric = Metric::kCosine;
  auto cosine = rl::build_index(p, ids.data(), rows.data(), ids.size());
  EXPECT_EQ(rl::image_info(cosine.data(), cosine.size()).rows, 3u);
}

// The builder fed in batches, and in two streams as a bundle's vectors file feeds it (every
// id, then the rows), gives the bytes of one build_index call over the same rows: the
// rows land in the image's memory across reallocations and are moved into their slots in
// place, so every path through that must agree with the whole build.
TEST(RulakeIndex, StreamedBuildGivesTheSameBytes) {
  for (Metric m : {Metric::kL2, Metric::kInnerProduct, Metric::kCosine}) {
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{2500}}) {
      Data d = clustered(n, 24, 17);
      for (std::size_t i = 5; i < n; i += 211)  // cosine leaves these out
        std::fill(d.rows.begin() + i * 24, d.rows.begin() + (i + 1) * 24, 0.0f);
      rl::IndexParams p;
      p.dim = 24;
      p.metric = m;
      p.seed = 9;
      auto whole = rl::build_index(p, d.ids.data(), d.rows.data(), n);
      for (std::size_t batch : {std::size_t{1}, std::size_t{7}, std::size_t{1000}}) {
        rl::IndexBuilder b(p);
        for (std::size_t at = 0; at < n; at += batch) {
          std::size_t count = std::min(batch, n - at);
          b.add(d.ids.data() + at, d.rows.data() + at * 24, count);
        }
        EXPECT_EQ(b.rows(), n);
        rl::Image image = b.finish();
        ASSERT_EQ(std::vector<unsigned char>(image.data(), image.data() + image.size()), whole)
            << "metric " << int(m) << " rows " << n << " batch " << batch;
      }
      rl::IndexBuilder split(p);
      split.add_ids(d.ids.data(), n);
      for (std::size_t at = 0; at < n; at += 300)
        split.add_vectors(d.rows.data() + at * 24, std::min<std::size_t>(300, n - at));
      rl::Image image = split.finish();
      ASSERT_EQ(std::vector<unsigned char>(image.data(), image.data() + image.size()), whole)
          << "ids apart, metric " << int(m) << " rows " << n;
      if (m != Metric::kCosine) {
        EXPECT_EQ(rl::image_bytes(p, n), whole.size());
      }
      EXPECT_GE(rl::build_memory_bytes(p, n), whole.size());
    }
  }
}

// A prime builds the image in memory the caller took first (ruLake's shared cache):
// finish_into must give finish()'s bytes, into memory that held anything before, with the
// rows moved over in several blocks (40000 x 64 floats pass the 8 MB block).
TEST(RulakeIndex, BuildIntoCallersMemoryGivesTheSameBytes) {
  for (Metric m : {Metric::kL2, Metric::kInnerProduct, Metric::kCosine}) {
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{2500}, std::size_t{40000}}) {
      const std::uint32_t dim = n > 10000 ? 64 : 24;
      if (n > 10000 && m != Metric::kL2) continue;  // one metric is enough for the blocks
      Data d = clustered(n, dim, 23);
      for (std::size_t i = 5; i < n; i += 211)  // cosine leaves these out
        std::fill(d.rows.begin() + i * dim, d.rows.begin() + (i + 1) * dim, 0.0f);
      rl::IndexParams p;
      p.dim = dim;
      p.metric = m;
      p.seed = 5;
      p.threads = 2;
      auto whole = rl::build_index(p, d.ids.data(), d.rows.data(), n);
      rl::IndexBuilder b(p);
      for (std::size_t at = 0; at < n; at += 999)
        b.add(d.ids.data() + at, d.rows.data() + at * dim, std::min<std::size_t>(999, n - at));
      const std::size_t size = b.image_size();
      ASSERT_EQ(size, whole.size()) << "metric " << int(m) << " rows " << n;
      std::vector<unsigned char> out(size + 1, 0xAB);
      EXPECT_THROW(b.finish_into(out.data(), size + 1), std::invalid_argument);
      b.finish_into(out.data(), size);
      EXPECT_EQ(out[size], 0xAB) << "wrote past the image";
      out.resize(size);
      ASSERT_EQ(out, whole) << "metric " << int(m) << " rows " << n;
      EXPECT_EQ(b.rows(), 0u) << "the builder still holds rows";
      rl::Image empty = b.finish();
      EXPECT_EQ(empty.size(), rl::image_bytes(p, 0));
    }
  }
}

TEST(RulakeIndex, BuilderAsksItsBudgetBeforeHoldingRows) {
  Data d = clustered(3000, 8, 4);
  rl::IndexParams p;
  p.dim = 8;
  std::vector<std::uint64_t> asked;
  rl::IndexBuilder b(p, [&](std::uint64_t rows) {
    asked.push_back(rows);
    if (rows > 2000) throw std::runtime_error("over budget at " + std::to_string(rows));
  });
  b.add(d.ids.data(), d.rows.data(), 1500);
  EXPECT_THROW(b.add(d.ids.data() + 1500, d.rows.data() + 1500 * 8, 1000), std::runtime_error);
  EXPECT_EQ(b.rows(), 1500u) << "refused rows were kept";
  ASSERT_EQ(asked.size(), 2u);
  EXPECT_EQ(asked[0], 1500u);
  EXPECT_EQ(asked[1], 2500u);
  // Rows inside the room already taken are asked for too: the budget follows the rows.
  b.add(d.ids.data() + 1500, d.rows.data() + 1500 * 8, 10);
  EXPECT_EQ(asked.back(), 1510u);

  rl::IndexBuilder uneven(p);
  std::int64_t id = 1;
  uneven.add_ids(&id, 1);
  EXPECT_THROW(uneven.finish(), std::invalid_argument);
  std::vector<float> nan_row(8, 1.0f);
  nan_row[3] = std::nanf("");
  rl::IndexBuilder bad(p);
  bad.add(d.ids.data(), d.rows.data(), 10);
  try {
    bad.add(&id, nan_row.data(), 1);
    ADD_FAILURE() << "a NaN row was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "row 10 has a NaN or infinite value");
  }
}

// Values worked by hand from k + ceil(sqrt(k ln S)), capped at 4k.
TEST(RulakeIndex, PerShardKOverRequests) {
  EXPECT_EQ(rl::per_shard_k(10, 1), 10u);  // one shard: no skew to cover
  EXPECT_EQ(rl::per_shard_k(0, 8), 0u);
  EXPECT_EQ(rl::per_shard_k(10, 2), 13u);             // sqrt(6.93) = 2.63
  EXPECT_EQ(rl::per_shard_k(10, 4), 14u);             // sqrt(13.86) = 3.72
  EXPECT_EQ(rl::per_shard_k(10, 16), 16u);            // sqrt(27.73) = 5.27
  EXPECT_EQ(rl::per_shard_k(100, 4), 112u);           // sqrt(138.6) = 11.77
  EXPECT_EQ(rl::per_shard_k(1, 2), 2u);               // sqrt(0.69) = 0.83
  EXPECT_EQ(rl::per_shard_k(1, 1000000), 4u);         // 1 + ceil(3.72) = 5, capped at 4k
  EXPECT_EQ(rl::per_shard_k(1000000, 64), 1002040u);  // sqrt(4158883) = 2039.3
}

TEST(RulakeIndex, FederationMergesShards) {
  EXPECT_EQ(rl::per_shard_rerank(20, 4), 5u);
  EXPECT_EQ(rl::per_shard_rerank(40, 4), 10u);
  EXPECT_EQ(rl::per_shard_rerank(20, 1), 20u);
  EXPECT_EQ(rl::per_shard_rerank(3, 4), 3u);
  std::vector<std::vector<rl::Hit>> per = {{{1, 0.5f}, {2, 0.9f}}, {{8, 0.5f}, {9, 0.1f}}};
  auto merged = rl::merge_hits(per, 3);
  ASSERT_EQ(merged.size(), 3u);
  EXPECT_EQ(merged[0].id, 9);
  EXPECT_EQ(merged[1].shard, 0u);  // 0.5 tie: shard 0 first
  EXPECT_EQ(merged[2].id, 8);

  // Four shards merged answer like one collection of the same rows.
  Data d = clustered(4000, 32, 11);
  std::vector<Data> shards(4, Data{32, {}, {}});
  for (std::size_t i = 0; i < d.ids.size(); i++) {
    Data& s = shards[i % 4];
    s.ids.push_back(d.ids[i]);
    s.rows.insert(s.rows.end(), d.rows.begin() + i * 32, d.rows.begin() + (i + 1) * 32);
  }
  std::vector<std::vector<unsigned char>> images;
  for (const Data& s : shards) images.push_back(build(s, Metric::kL2, 8));
  Data queries = clustered(30, 32, 123);
  double found = 0;
  for (std::size_t qi = 0; qi < 30; qi++) {
    const float* q = queries.rows.data() + qi * 32;
    std::vector<std::vector<rl::Hit>> hits(4);
    rl::SearchParams sp;
    sp.rerank_factor = rl::per_shard_rerank(20, 4);
    for (int s = 0; s < 4; s++)
      rl::search_index(images[s].data(), images[s].size(), q, sp, &hits[s]);
    auto top = rl::merge_hits(hits, 10);
    std::vector<std::int64_t> truth = exact_top(d, q, Metric::kL2, 10);
    std::set<std::int64_t> want(truth.begin(), truth.end());
    for (const auto& h : top) found += want.count(h.id);
  }
  EXPECT_GE(found / 300.0, 0.95);
}
