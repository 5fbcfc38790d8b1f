// Atomic publish of a bundle into a directory. The vectors file is written under a temp
// name, synced, and renamed to a name derived from its digest; then the sidecar is written
// the same way and renamed over table.rulake.json, which is the commit point. Until that
// rename the old sidecar still names the old data file, which nothing has touched, so a
// reader or a crash at any step sees either the old bundle or the new one, never a mix.
// docs/bundle-format.md ("Publishing") states the protocol and its guarantees.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "bundle/sidecar.h"
#include "bundle/vectors_file.h"
#include "util/interrupt.h"

namespace ruvector::bundle {

// The steps of a publish, in order; the fault hook runs right after each one.
enum class PublishStep {
  kVectorsTempCreated,  // empty temp vectors file created (O_CREAT | O_EXCL)
  kVectorsWritten,      // ids, rows and header written, not yet synced
  kVectorsSynced,       // temp vectors file fsynced
  kVectorsRenamed,      // renamed to its digest-derived name (not yet referenced)
  kVectorsDirSynced,    // directory fsynced: that name is durable
  kSidecarTempWritten,  // temp sidecar written
  kSidecarSynced,       // temp sidecar fsynced
  kSidecarRenamed,      // renamed over table.rulake.json: the commit point
  kCommitted,           // directory fsynced: the commit is durable
  kCleanedUp,           // stale data files and leftover temp files removed
};
inline constexpr int kPublishStepCount = 10;

const char* publish_step_name(PublishStep step);

// Test-only fault injection: a plain function so it can throw or _exit() in a forked child
// to simulate a crash at a step. Production callers leave it null.
using FaultHook = void (*)(PublishStep step);

// kRust writes what the Rust RuVector reads (rust_bundle.h): its sidecar, witness and a
// ruvec1 data file named "vectors-<digest>.ruvec1", with the same atomic protocol.
enum class BundleFormat { kNative, kRust };

// The sidecar fields the caller chooses; publish fills in format_version, data_ref, dim,
// data_digest and rvf_witness.
struct BundleMeta {
  BundleFormat format = BundleFormat::kNative;
  std::uint64_t rotation_seed = 0;
  std::uint32_t rerank_factor = 1;
  Generation generation = std::uint64_t{0};
  std::string pii_policy;
  std::string lineage_id;
};

// Called once with a writer announced for `count` rows of `dim`; it must add() exactly
// `count` rows. Exceptions it throws abort the publish and leave the old bundle in place.
using RowProducer = std::function<void(VectorsWriter& writer)>;

struct PublishOptions {
  FaultHook fault_hook = nullptr;
  // Called between steps and chunks of the read-back (the producer checks on its own, with
  // the same check) and may throw to cancel: the old bundle stays, the temp file goes.
  InterruptCheck interrupt = nullptr;
};

struct PublishResult {
  Sidecar sidecar;                   // what was committed
  std::vector<std::string> removed;  // stale files removed after the commit
  // Why cleanup stopped early, if it did. The bundle is published either way; leftovers
  // are removed by the next publish.
  std::string cleanup_warning;
};

// "vectors-<64 hex digits of the digest>.rvb": content-addressed, so a new publish never
// writes over the file the current sidecar names (unless the content is identical).
std::string data_file_name(const Digest& data_digest);

// True for names publish leaves behind only when interrupted: "<base>.tmp.<pid>.<n>".
bool is_publish_temp_name(const std::string& name);

// Publishes into `dir` (already confined, see paths.h; created if missing, its parent must
// exist). One publisher per directory at a time: the caller serializes (the SQL layer takes
// a lock), because cleanup removes every leftover temp file. Readers need no lock.
// Throws FormatError for invalid metadata (before anything is written) or rows, IoError for
// system call failures. After an exception the directory holds the old bundle or, when the
// failure came after the commit point, the new one; both verify.
PublishResult publish_bundle(const std::string& dir, const BundleMeta& meta, std::uint32_t dim,
                             std::uint64_t count, const RowProducer& produce,
                             const PublishOptions& options = {});

// Convenience for rows already in memory: rows.size() must be ids.size() * dim. (A
// separate name, so a braced {} can never pick the streaming overload by accident.)
PublishResult publish_bundle_from_rows(const std::string& dir, const BundleMeta& meta,
                                       std::uint32_t dim, const std::vector<std::int64_t>& ids,
                                       const std::vector<float>& rows,
                                       const PublishOptions& options = {});

}  // namespace ruvector::bundle
