// Overlays (src/rulake/overlay.h): a base image plus the rows written since must answer as
// a full rebuild of the current rows does, for any sequence of inserts, updates and
// deletes, carried over from overlay to overlay as ruLake carries them.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <random>
#include <limits>
#include <set>
#include <tuple>
#include <vector>

#include "rulake/batch_search.h"
#include "rulake/collection_index.h"
#include "rulake/cpu_scan_kernel.h"
#include "rulake/overlay.h"
#include "util/error.h"

namespace rl = ruvector::rulake;
using ruvector::rabitq::Metric;

namespace {

constexpr std::uint32_t kDim = 12;
using Rows = std::map<std::int64_t, std::vector<float>>;

std::vector<float> random_row(std::mt19937_64& gen) {
  std::normal_distribution<float> noise(0.0f, 1.0f);
  std::vector<float> v(kDim);
  for (float& x : v) x = noise(gen);
  return v;
}

rl::Image full_build(Metric metric, const Rows& rows, std::uint32_t lists) {
  std::vector<std::int64_t> ids;
  std::vector<float> data;
  for (const auto& [id, v] : rows) {
    ids.push_back(id);
    data.insert(data.end(), v.begin(), v.end());
  }
  rl::IndexParams p;
  p.dim = kDim;
  p.metric = metric;
  p.seed = 7;
  p.lists = lists;
  rl::IndexBuilder b(p);
  b.add(ids.data(), data.data(), ids.size());
  return b.finish();
}

// Every list probed and every row a candidate: the answer is exact.
rl::SearchParams exhaustive(std::uint32_t k, std::size_t rows) {
  rl::SearchParams s;
  s.k = k;
  s.probes = 0;
  s.rerank_factor = static_cast<std::uint32_t>(rows + 1);
  return s;
}

std::vector<std::vector<rl::Hit>> search_full(const rl::Image& image, const std::vector<float>& q,
                                              const rl::SearchParams& s) {
  std::vector<std::vector<rl::Hit>> out;
  rl::search_batch(image.data(), image.size(), q.data(), q.size() / kDim, s, rl::cpu_scan_kernel(),
                   0, &out);
  return out;
}

void expect_same(const std::vector<std::vector<rl::Hit>>& a,
                 const std::vector<std::vector<rl::Hit>>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t q = 0; q < a.size(); q++) {
    ASSERT_EQ(a[q].size(), b[q].size()) << "query " << q;
    for (std::size_t i = 0; i < a[q].size(); i++) {
      EXPECT_EQ(a[q][i].id, b[q][i].id) << "query " << q << " hit " << i;
      EXPECT_EQ(a[q][i].distance, b[q][i].distance) << "query " << q << " hit " << i;
    }
  }
}

// A batch of 1..max_writes writes to `rows`: inserts of new ids, updates and deletes of
// existing ones (sometimes of one id twice), plus `extra` changed ids that hold no row.
// What ruLake reads back for it: the changed ids, sorted, and the current rows of those
// that exist.
struct Batch {
  std::vector<std::int64_t> changed;
  std::vector<std::int64_t> ids;
  std::vector<float> rows;
};

Batch random_writes(std::mt19937_64& gen, Rows* rows, std::int64_t* next_id, int max_writes,
                    std::vector<std::int64_t> extra = {}) {
  std::set<std::int64_t> changed(extra.begin(), extra.end());
  for (int w = 1 + static_cast<int>(gen() % max_writes); w > 0; w--) {
    int op = static_cast<int>(gen() % 3);
    if (op == 0 || rows->empty()) {
      (*rows)[*next_id] = random_row(gen);
      changed.insert((*next_id)++);
      continue;
    }
    auto it = rows->begin();
    std::advance(it, static_cast<long>(gen() % rows->size()));
    changed.insert(it->first);
    if (op == 1) {
      it->second = random_row(gen);
    } else {
      rows->erase(it);
    }
  }
  Batch b;
  b.changed.assign(changed.begin(), changed.end());
  for (std::int64_t id : b.changed) {
    auto it = rows->find(id);
    if (it == rows->end()) continue;
    b.ids.push_back(id);
    b.rows.insert(b.rows.end(), it->second.begin(), it->second.end());
  }
  return b;
}

}  // namespace

TEST(RulakeOverlay, RandomWritesAnswerAsAFullRebuild) {
  for (Metric metric : {Metric::kL2, Metric::kInnerProduct, Metric::kCosine}) {
    for (std::uint64_t seed = 1; seed <= 4; seed++) {
      std::mt19937_64 gen(seed * 31 + static_cast<int>(metric));
      Rows rows;
      for (std::int64_t id = 0; id < 300; id++) rows[id * 3] = random_row(gen);
      const std::uint32_t lists = 6;
      rl::Image base = full_build(metric, rows, lists);
      rl::Image overlay;  // none yet
      std::vector<float> queries;
      for (int q = 0; q < 8; q++) {
        std::vector<float> v = random_row(gen);
        queries.insert(queries.end(), v.begin(), v.end());
      }
      std::int64_t next_id = 1000;
      for (int round = 0; round < 6; round++) {
        Batch b = random_writes(gen, &rows, &next_id, 25, {-5});
        const std::vector<std::int64_t>& ch = b.changed;
        const std::vector<std::int64_t>& fetched_ids = b.ids;
        const std::vector<float>& fetched = b.rows;
        const void* prev = overlay.size() > 0 ? overlay.data() : nullptr;
        std::size_t expect_tombstones =
            rl::next_tombstone_count(prev, overlay.size(), ch.data(), ch.size());
        overlay =
            rl::next_overlay(base.data(), base.size(), prev, overlay.size(), ch.data(), ch.size(),
                             fetched_ids.data(), fetched.data(), fetched_ids.size());
        EXPECT_EQ(rl::overlay_view(overlay.data(), overlay.size()).tombstone_count,
                  expect_tombstones);

        for (std::uint32_t k : {1u, 10u, 500u}) {
          rl::SearchParams s = exhaustive(k, 2000);
          std::vector<std::vector<rl::Hit>> got;
          rl::search_overlay_batch(base.data(), base.size(), overlay.data(), overlay.size(),
                                   queries.data(), queries.size() / kDim, s, rl::cpu_scan_kernel(),
                                   0, &got);
          rl::Image rebuilt = full_build(metric, rows, lists);
          SCOPED_TRACE(testing::Message() << "metric " << static_cast<int>(metric) << " seed "
                                          << seed << " round " << round << " k " << k);
          expect_same(got, search_full(rebuilt, queries, s));
        }
      }
    }
  }
}

TEST(RulakeOverlay, SkippedIdsTakeNoCandidateSlot) {
  std::mt19937_64 gen(3);
  Rows rows;
  for (std::int64_t id = 0; id < 200; id++) rows[id] = random_row(gen);
  rl::Image image = full_build(Metric::kL2, rows, 4);
  std::vector<float> q = random_row(gen);
  rl::SearchParams s = exhaustive(5, 200);
  std::vector<std::vector<rl::Hit>> all = search_full(image, q, s);
  // Skip the best three: the next five come back, with a candidate pool of exactly k rows.
  std::vector<std::int64_t> skip = {all[0][0].id, all[0][1].id, all[0][2].id};
  std::sort(skip.begin(), skip.end());
  s.skip = skip.data();
  s.skip_count = skip.size();
  s.rerank_factor = 1000;
  std::vector<std::vector<rl::Hit>> rest = search_full(image, q, s);
  ASSERT_EQ(rest[0].size(), 5u);
  EXPECT_EQ(rest[0][0].id, all[0][3].id);
  EXPECT_EQ(rest[0][1].id, all[0][4].id);
  for (const rl::Hit& h : rest[0]) EXPECT_FALSE(std::binary_search(skip.begin(), skip.end(), h.id));
}

TEST(RulakeOverlay, RejectsBadInputAndCorruptBytes) {
  std::mt19937_64 gen(5);
  Rows rows;
  for (std::int64_t id = 0; id < 50; id++) rows[id] = random_row(gen);
  rl::Image base = full_build(Metric::kL2, rows, 3);
  std::vector<std::int64_t> unsorted = {4, 2};
  EXPECT_THROW(rl::build_overlay(base.data(), base.size(), unsorted.data(), 2, nullptr, nullptr, 0),
               std::invalid_argument);
  std::vector<std::int64_t> tomb = {2, 4};
  std::vector<std::int64_t> outside = {3};
  std::vector<float> row = random_row(gen);
  EXPECT_THROW(
      rl::build_overlay(base.data(), base.size(), tomb.data(), 2, outside.data(), row.data(), 1),
      std::invalid_argument);
  row[0] = std::nanf("");
  std::vector<std::int64_t> inside = {4};
  EXPECT_THROW(
      rl::build_overlay(base.data(), base.size(), tomb.data(), 2, inside.data(), row.data(), 1),
      std::invalid_argument);

  row[0] = 1;
  rl::Image ov =
      rl::build_overlay(base.data(), base.size(), tomb.data(), 2, inside.data(), row.data(), 1);
  EXPECT_TRUE(rl::is_overlay(ov.data(), ov.size()));
  EXPECT_FALSE(rl::is_overlay(base.data(), base.size()));
  std::vector<unsigned char> bad(ov.data(), ov.data() + ov.size());
  EXPECT_THROW(rl::overlay_view(bad.data(), bad.size() - 64), ruvector::Error);
  bad[8] = 9;  // version
  EXPECT_THROW(rl::overlay_view(bad.data(), bad.size()), ruvector::Error);
  // An overlay searched with another base of other lists is refused, not misread.
  rl::Image other = full_build(Metric::kL2, rows, 5);
  std::vector<std::vector<rl::Hit>> out;
  EXPECT_THROW(
      rl::search_overlay_batch(other.data(), other.size(), ov.data(), ov.size(), row.data(), 1,
                               exhaustive(3, 50), rl::cpu_scan_kernel(), 0, &out),
      ruvector::Error);
}

// The layers ruLake keeps (an image, an older l1 overlay, a small l0 over it), folded as the
// extension folds them with a small l0 so that l1 takes it in every few rounds.
TEST(RulakeOverlay, LayersFoldedWriteByWriteAnswerAsAFullRebuild) {
  for (Metric metric : {Metric::kL2, Metric::kCosine}) {
    std::mt19937_64 gen(17 + static_cast<int>(metric));
    Rows rows;
    for (std::int64_t id = 0; id < 400; id++) rows[id] = random_row(gen);
    rl::Image image = full_build(metric, rows, 7);
    rl::Image l1, l0;
    std::vector<float> queries;
    for (int q = 0; q < 6; q++) {
      std::vector<float> v = random_row(gen);
      queries.insert(queries.end(), v.begin(), v.end());
    }
    std::int64_t next_id = 5000;
    int merges = 0;
    for (int round = 0; round < 40; round++) {
      Batch b = random_writes(gen, &rows, &next_id, 4);
      const std::vector<std::int64_t>& ch = b.changed;
      const std::vector<std::int64_t>& ids = b.ids;
      const std::vector<float>& data = b.rows;
      const void* p1 = l1.size() > 0 ? l1.data() : nullptr;
      const void* p0 = l0.size() > 0 ? l0.data() : nullptr;
      std::size_t expect =
          rl::folded_tombstones(p1, l1.size(), p0, l0.size(), ch.data(), ch.size());
      rl::Folded f = rl::fold_layers(image.data(), image.size(), p1, l1.size(), p0, l0.size(),
                                     ch.data(), ch.size(), ids.data(), data.data(), ids.size(), 8);
      if (f.over_l1) {
        l0 = std::move(f.overlay);
      } else {
        if (l1.size() > 0) merges++;
        l1 = std::move(f.overlay);
        l0 = rl::Image();
      }
      rl::Layers layers{image.data(), image.size(), 0, {nullptr, nullptr}, {0, 0}};
      for (const rl::Image* o : {&l1, &l0}) {
        if (o->size() == 0) continue;
        layers.overlay[layers.overlays] = o->data();
        layers.overlay_size[layers.overlays++] = o->size();
      }
      std::size_t total = 0;
      {
        // Tombstones at the image: the union over both layers.
        std::set<std::int64_t> all;
        for (int i = 0; i < layers.overlays; i++) {
          rl::OverlayView v = rl::overlay_view(layers.overlay[i], layers.overlay_size[i]);
          all.insert(v.tombstones, v.tombstones + v.tombstone_count);
        }
        total = all.size();
      }
      EXPECT_EQ(total, expect);
      rl::SearchParams s = exhaustive(10, 3000);
      std::vector<std::vector<rl::Hit>> got;
      rl::search_layers(layers, queries.data(), queries.size() / kDim, s, rl::cpu_scan_kernel(), 0,
                        &got);
      SCOPED_TRACE(testing::Message() << "metric " << static_cast<int>(metric) << " round " << round
                                      << " overlays " << layers.overlays);
      expect_same(got, search_full(full_build(metric, rows, 7), queries, s));
    }
    EXPECT_GE(merges, 2) << "l1 never took l0 in";
  }
}

namespace {

// What search_layers answered before the layers shared one probe order: each layer ranked
// the image's centroids itself, and the layers' hits merged by (distance, id).
std::vector<std::vector<rl::Hit>> layers_ranked_each(const rl::Layers& layers,
                                                     const std::vector<float>& queries,
                                                     const rl::SearchParams& params) {
  const std::size_t n = queries.size() / kDim;
  const rl::ImageView root = rl::image_view(layers.image, layers.image_size);
  std::vector<rl::OverlayView> ov;
  for (int i = 0; i < layers.overlays; i++)
    ov.push_back(rl::overlay_view(layers.overlay[i], layers.overlay_size[i]));
  std::vector<std::vector<rl::Hit>> out(n);
  for (int layer = 0; layer <= layers.overlays; layer++) {
    rl::ImageView v = root;
    if (layer > 0) {
      v = rl::image_view(ov[layer - 1].delta, ov[layer - 1].delta_size);
      v.centroids = root.centroids;
    }
    rl::SearchParams p = params;
    std::vector<std::int64_t> skip;
    for (int j = layer; j < layers.overlays; j++)
      skip.insert(skip.end(), ov[j].tombstones, ov[j].tombstones + ov[j].tombstone_count);
    std::sort(skip.begin(), skip.end());
    skip.erase(std::unique(skip.begin(), skip.end()), skip.end());
    p.skip = skip.data();
    p.skip_count = skip.size();
    std::vector<std::vector<rl::Hit>> hits;
    rl::search_view(v, queries.data(), n, p, rl::cpu_scan_kernel(), 0, &hits);
    for (std::size_t q = 0; q < n; q++) out[q].insert(out[q].end(), hits[q].begin(), hits[q].end());
  }
  for (auto& hits : out) {
    std::sort(hits.begin(), hits.end(), [](const rl::Hit& a, const rl::Hit& b) {
      return std::tie(a.distance, a.id) < std::tie(b.distance, b.id);
    });
    hits.resize(std::min<std::size_t>(params.k, hits.size()));
  }
  return out;
}

}  // namespace

// Probing a few lists (not every one, where the order would not matter), two overlays
// share the image's probe order and answer as if each layer had ranked the centroids
// itself; a batch larger than one block of plans answers query by query the same.
TEST(RulakeOverlay, LayersShareOneProbeOrder) {
  for (Metric metric : {Metric::kL2, Metric::kInnerProduct, Metric::kCosine}) {
    std::mt19937_64 gen(11 + static_cast<int>(metric));
    Rows rows;
    for (std::int64_t id = 0; id < 400; id++) rows[id] = random_row(gen);
    rl::Image image = full_build(metric, rows, 9);
    std::int64_t next_id = 1000;
    Batch b1 = random_writes(gen, &rows, &next_id, 40);
    rl::Image l1 =
        rl::next_overlay(image.data(), image.size(), nullptr, 0, b1.changed.data(),
                         b1.changed.size(), b1.ids.data(), b1.rows.data(), b1.ids.size());
    Batch b0 = random_writes(gen, &rows, &next_id, 20);
    rl::Image l0 =
        rl::next_overlay(image.data(), image.size(), nullptr, 0, b0.changed.data(),
                         b0.changed.size(), b0.ids.data(), b0.rows.data(), b0.ids.size());
    rl::Layers layers{
        image.data(), image.size(), 2, {l1.data(), l0.data()}, {l1.size(), l0.size()}};
    std::vector<float> queries;
    for (int q = 0; q < 4100; q++) {
      std::vector<float> v = random_row(gen);
      queries.insert(queries.end(), v.begin(), v.end());
    }
    for (std::uint32_t probes : {1u, 3u}) {
      rl::SearchParams s;
      s.k = 10;
      s.probes = probes;
      s.rerank_factor = 2;
      std::vector<std::vector<rl::Hit>> got;
      rl::search_layers(layers, queries.data(), queries.size() / kDim, s, rl::cpu_scan_kernel(), 0,
                        &got);
      SCOPED_TRACE(testing::Message()
                   << "metric " << static_cast<int>(metric) << " probes " << probes);
      expect_same(got, layers_ranked_each(layers, queries, s));
    }
  }
}

// The batch is checked as a whole before it is planned block by block: an error names the
// query by its place in the batch.
TEST(RulakeOverlay, LayersNameABadQueryByItsPlaceInTheBatch) {
  std::mt19937_64 gen(4);
  Rows rows;
  for (std::int64_t id = 0; id < 100; id++) rows[id] = random_row(gen);
  rl::Image image = full_build(Metric::kCosine, rows, 3);
  std::int64_t next_id = 1000;
  Batch b = random_writes(gen, &rows, &next_id, 10);
  rl::Image l1 = rl::next_overlay(image.data(), image.size(), nullptr, 0, b.changed.data(),
                                  b.changed.size(), b.ids.data(), b.rows.data(), b.ids.size());
  rl::Layers layers{image.data(), image.size(), 1, {l1.data(), nullptr}, {l1.size(), 0}};
  std::vector<float> queries(5000 * kDim, 1.0f);
  std::fill(queries.begin() + 4999 * kDim, queries.end(), 0.0f);
  rl::SearchParams s;
  s.k = 3;
  std::vector<std::vector<rl::Hit>> got;
  try {
    rl::search_layers(layers, queries.data(), 5000, s, rl::cpu_scan_kernel(), 0, &got);
    FAIL() << "a zero cosine query was searched";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "cosine distance is undefined for a zero query (query 5000)");
  }
  queries[4100 * kDim + 2] = std::numeric_limits<float>::quiet_NaN();
  try {
    rl::search_layers(layers, queries.data(), 5000, s, rl::cpu_scan_kernel(), 0, &got);
    FAIL() << "a NaN query was searched";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "query 4101 has a NaN or infinite value");
  }
}
