// See publish.h. The invariant every step keeps: table.rulake.json, when present, is a
// complete, synced file naming a complete, synced data file that no later step modifies.
#include "bundle/publish.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "bundle/dir_commit.h"
#include "bundle/errors.h"
#include "bundle/file_io.h"
#include "bundle/hex.h"
#include "bundle/rust_bundle.h"
#include "bundle/sidecar_json.h"
#include "bundle/witness.h"

namespace ruvector::bundle {

const char* publish_step_name(PublishStep step) {
  switch (step) {
    case PublishStep::kVectorsTempCreated:
      return "vectors temp created";
    case PublishStep::kVectorsWritten:
      return "vectors written";
    case PublishStep::kVectorsSynced:
      return "vectors synced";
    case PublishStep::kVectorsRenamed:
      return "vectors renamed";
    case PublishStep::kVectorsDirSynced:
      return "vectors directory synced";
    case PublishStep::kSidecarTempWritten:
      return "sidecar temp written";
    case PublishStep::kSidecarSynced:
      return "sidecar synced";
    case PublishStep::kSidecarRenamed:
      return "sidecar renamed";
    case PublishStep::kCommitted:
      return "committed";
    case PublishStep::kCleanedUp:
      return "cleaned up";
  }
  return "unknown";
}

std::string data_file_name(const Digest& data_digest) {
  return kDataPrefix + to_hex(data_digest) + kDataSuffix;
}

bool is_publish_temp_name(const std::string& name) {
  for (const char* base : {kVectorsBase, kSidecarName}) {
    std::string prefix = std::string(base) + ".tmp.";
    if (name.compare(0, prefix.size(), prefix) != 0) continue;
    std::string rest = name.substr(prefix.size());  // "<pid>.<counter>"
    std::size_t dot = rest.find('.');
    auto digits = [](const std::string& t) {
      return !t.empty() && t.find_first_not_of("0123456789") == std::string::npos;
    };
    if (dot != std::string::npos && digits(rest.substr(0, dot)) && digits(rest.substr(dot + 1)))
      return true;
  }
  return false;
}

PublishResult publish_bundle(const std::string& dir, const BundleMeta& meta, std::uint32_t dim,
                             std::uint64_t count, const RowProducer& produce,
                             const PublishOptions& options) {
  auto step = [&](PublishStep s) {
    if (options.fault_hook != nullptr) options.fault_hook(s);
    // Past the commit point a cancel would report a failure for a published bundle.
    if (s < PublishStep::kSidecarRenamed) check_interrupt(options.interrupt);
  };
  const bool rust = meta.format == BundleFormat::kRust;
  auto name_of = [rust](const Digest& d) {
    return rust ? rust_data_file_name(d) : data_file_name(d);
  };
  Sidecar s;
  s.scheme = rust ? WitnessScheme::kRustV1 : WitnessScheme::kNative;
  s.format_version = rust ? kRustFormatVersion : kFormatVersion;
  s.data_ref = name_of(Digest{});  // placeholder of the final shape, for validation
  s.dim = dim;
  s.rotation_seed = meta.rotation_seed;
  s.rerank_factor = meta.rerank_factor;
  s.generation = meta.generation;
  s.pii_policy = meta.pii_policy;
  s.lineage_id = meta.lineage_id;
  validate_fields(s);  // refuse bad metadata before writing gigabytes of rows
  if (rust && dim > kRustMaxDim)
    throw FormatError("a Rust-format bundle holds at most " + std::to_string(kRustMaxDim) +
                          " dimensions (the Rust reader's limit), not " + std::to_string(dim),
                      "dim");
  if (!produce) fail(ErrorKind::kInternal, "publish_bundle called without a row producer");

  ensure_directory(dir);
  UniqueFd dir_fd = open_directory(dir);

  TempFile vectors_tmp(dir_fd.get());
  UniqueFd vectors_fd = vectors_tmp.create(kVectorsBase, dir);
  const std::string vectors_label = dir + "/" + vectors_tmp.name();
  step(PublishStep::kVectorsTempCreated);
  VectorsWriter writer(vectors_fd.get(), dim, count, vectors_label,
                       rust ? VectorsLayout::kRuvec1 : VectorsLayout::kNative);
  produce(writer);
  writer.finish();
  step(PublishStep::kVectorsWritten);
  // Reading the file back both digests it in file order (the writer fills the ids and rows
  // regions out of order) and proves it parses as the reader will parse it.
  VectorsScan scan =
      rust ? scan_ruvec1_file(vectors_fd.get(), vectors_label, nullptr, options.interrupt)
           : scan_vectors_file(vectors_fd.get(), vectors_label, nullptr, options.interrupt);
  if (scan.first_non_finite_row)
    fail(ErrorKind::kInternal, "vectors file read back with a non-finite value");
  fsync_or_throw(vectors_fd.get(), vectors_label);
  vectors_fd.reset();
  step(PublishStep::kVectorsSynced);

  s.data_digest = scan.digest;
  s.data_ref = name_of(scan.digest);
  rename_in(dir_fd.get(), vectors_tmp.name(), s.data_ref, dir);
  vectors_tmp.disarm();
  step(PublishStep::kVectorsRenamed);
  // The data file's directory entry must be durable before a sidecar naming it can be.
  fsync_or_throw(dir_fd.get(), dir);
  step(PublishStep::kVectorsDirSynced);

  s.rvf_witness = compute_witness(s);
  const std::string text = sidecar_to_json(s);
  TempFile sidecar_tmp(dir_fd.get());
  UniqueFd sidecar_fd = sidecar_tmp.create(kSidecarName, dir);
  const std::string sidecar_label = dir + "/" + sidecar_tmp.name();
  pwrite_all(sidecar_fd.get(), text.data(), text.size(), 0, sidecar_label);
  step(PublishStep::kSidecarTempWritten);
  fsync_or_throw(sidecar_fd.get(), sidecar_label);
  sidecar_fd.reset();
  step(PublishStep::kSidecarSynced);

  rename_in(dir_fd.get(), sidecar_tmp.name(), kSidecarName, dir);
  sidecar_tmp.disarm();
  step(PublishStep::kSidecarRenamed);
  fsync_or_throw(dir_fd.get(), dir);
  step(PublishStep::kCommitted);

  PublishResult result;
  result.sidecar = s;
  clean_up(dir_fd.get(), s.data_ref, &result.removed, &result.cleanup_warning);
  step(PublishStep::kCleanedUp);
  return result;
}

PublishResult publish_bundle_from_rows(const std::string& dir, const BundleMeta& meta,
                                       std::uint32_t dim, const std::vector<std::int64_t>& ids,
                                       const std::vector<float>& rows,
                                       const PublishOptions& options) {
  if (rows.size() != ids.size() * static_cast<std::size_t>(dim))
    throw FormatError(std::to_string(rows.size()) + " floats do not make " +
                          std::to_string(ids.size()) + " rows of " + std::to_string(dim) +
                          " dimensions",
                      "vectors file");
  return publish_bundle(
      dir, meta, dim, ids.size(),
      [&](VectorsWriter& writer) {
        for (std::size_t i = 0; i < ids.size(); i++)
          writer.add(ids[i], rows.data() + i * static_cast<std::size_t>(dim));
      },
      options);
}

}  // namespace ruvector::bundle
