// The bundle sidecar reader (table.rulake.json): what it accepts is written back and read
// again to the same text; the witness check behind it refuses anything changed.
#include "bundle/sidecar_json.h"
#include "bundle/verify.h"
#include "fuzz.h"
#include "test_bundle_util.h"

namespace {

namespace rb = ruvector::bundle;

std::vector<std::string> seeds() {
  rb::Sidecar named = bundle_test::worked_sidecar();
  named.generation = std::string("snapshot-\xc3\xa9");
  named.rvf_witness = rb::compute_witness(named);
  std::string worked = rb::sidecar_to_json(bundle_test::worked_sidecar());
  // The Rust RuVector's format, which the same reader dispatches to.
  rb::Sidecar rust;
  rust.scheme = rb::WitnessScheme::kRustV1;
  rust.format_version = 2;
  rust.data_ref = "file:///srv/lake/items.ruvec1";
  rust.dim = 128;
  rust.rotation_seed = 18446744073709551615u;
  rust.rerank_factor = 20;
  rust.generation = std::uint64_t{1733500000};
  rust.lineage_id = "ol://jobs/ingest-42";
  rust.memory_class = "episodic";
  rust.rvf_witness = rb::compute_witness(rust);
  return {worked, nlohmann::json::parse(worked).dump(), rb::sidecar_to_json(named),
          rb::sidecar_to_json(rust)};
}

void run(const std::string& input, fuzz::Rng&) {
  rb::Sidecar s = rb::sidecar_from_json(input);
  std::string text = rb::sidecar_to_json(s);
  if (rb::sidecar_to_json(rb::sidecar_from_json(text)) != text)
    throw fuzz::Mismatch("does not round-trip");
  rb::parse_checked_sidecar(input, "fuzz");
}

const bool registered = fuzz::register_driver({"sidecar", seeds, nullptr, run, nullptr});

}  // namespace
