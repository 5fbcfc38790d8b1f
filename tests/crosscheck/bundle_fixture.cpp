// Publishes a few bundles with the C++ core for witness_crosscheck.py to re-derive with
// Python's hashlib: the docs' worked example, string and maximal numeric generations,
// non-ASCII and escaped strings, a multi-chunk file and an empty one.
// usage: bundle_fixture OUTPUT_DIR   (OUTPUT_DIR is emptied first)
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "bundle/publish.h"

namespace rb = ruvector::bundle;

namespace {

std::vector<float> rows_for(std::size_t count, std::uint32_t dim) {
  std::vector<float> rows(count * dim);
  for (std::size_t i = 0; i < rows.size(); i++)
    rows[i] = static_cast<float>(static_cast<double>(i % 1000) / 7.0 - 60.0);
  return rows;
}

std::vector<std::int64_t> ids_for(std::size_t count) {
  std::vector<std::int64_t> ids(count);
  for (std::size_t i = 0; i < count; i++) ids[i] = static_cast<std::int64_t>(i * 1000003) - 42;
  return ids;
}

void publish(const std::string& dir, const rb::BundleMeta& meta, std::uint32_t dim,
             std::size_t count) {
  rb::publish_bundle_from_rows(dir, meta, dim, ids_for(count), rows_for(count, dim));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUTPUT_DIR\n", argv[0]);
    return 2;
  }
  const std::string out = argv[1];
  try {
    std::filesystem::remove_all(out);
    std::filesystem::create_directories(out);

    rb::BundleMeta worked;  // docs/bundle-format.md, "Worked example"
    worked.rotation_seed = 12345678901234567890ULL;
    worked.rerank_factor = 20;
    worked.generation = std::uint64_t{7};
    worked.pii_policy = "none";
    worked.lineage_id = "example/items";
    rb::publish_bundle_from_rows(out + "/worked_example", worked, 3, {1, 2}, {1, 2, 3, 4, 5, 6});

    rb::BundleMeta text;
    text.rotation_seed = ~std::uint64_t{0};
    text.rerank_factor = 5;
    text.generation = std::string("1b4e28ba-2fa1-11d2-883f-0016d3cca427");
    text.pii_policy = "g\xC3\xA9o-restricted \xE2\x82\xAC";
    text.lineage_id = "";
    publish(out + "/string_generation", text, 5, 10);

    rb::BundleMeta escaped;
    escaped.rotation_seed = 1;
    escaped.rerank_factor = 4294967295u;
    escaped.generation = std::string("\"quoted\" \\ tab\t nl\n ctl\x01 \xF0\x9F\x98\x80");
    escaped.pii_policy = "";
    escaped.lineage_id = "a/\"b\"/\\c";
    publish(out + "/escaped_strings", escaped, 1, 1);

    rb::BundleMeta big;
    big.rotation_seed = 0;
    big.rerank_factor = 1;
    big.generation = rb::kMaxGenerationNumber;
    big.pii_policy = "none";
    big.lineage_id = "shard-3";
    publish(out + "/many_rows", big, 17, 20000);

    publish(out + "/empty", big, 8, 0);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bundle_fixture: %s\n", e.what());
    return 1;
  }
  return 0;
}
