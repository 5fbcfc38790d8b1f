// Atomic publish: a crash (a forked child that _exit()s) or an exception at every step
// leaves a bundle that verifies — the old one before the sidecar rename, the new one after
// — and no temp file ever takes the sidecar's name. Republishing removes stale files.
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <stdexcept>

#include "bundle/errors.h"
#include "bundle/publish.h"
#include "bundle/verify.h"
#include "test_bundle_util.h"

namespace rb = ruvector::bundle;
using bundle_test::list_dir;
using bundle_test::TempDir;

namespace {

constexpr int kCrashExit = 42;
rb::PublishStep g_fail_at = rb::PublishStep::kVectorsTempCreated;

void crash_at(rb::PublishStep step) {
  if (step == g_fail_at) ::_exit(kCrashExit);
}

void throw_at(rb::PublishStep step) {
  if (step == g_fail_at) throw std::runtime_error("injected failure");
}

rb::PublishResult publish_generation(const std::string& dir, std::uint64_t generation,
                                     rb::FaultHook hook = nullptr) {
  rb::BundleMeta meta = bundle_test::worked_meta();
  meta.generation = generation;
  std::vector<std::int64_t> ids(50);
  for (std::size_t i = 0; i < ids.size(); i++) ids[i] = static_cast<std::int64_t>(i + generation);
  rb::PublishOptions options;
  options.fault_hook = hook;
  return rb::publish_bundle_from_rows(dir, meta, 4, ids,
                                      bundle_test::pseudo_rows(50, 4, generation), options);
}

std::uint64_t verified_generation(const std::string& dir) {
  rb::Verification v = rb::verify_bundle(dir);
  EXPECT_TRUE(v.valid) << v.reason;
  return v.valid ? std::get<std::uint64_t>(v.sidecar->generation) : ~std::uint64_t{0};
}

// Every name in `dir` is the sidecar, a data file or a publish temp file.
void expect_only_bundle_files(const std::string& dir, bool temps_allowed) {
  for (const std::string& name : list_dir(dir)) {
    bool data = name.rfind("vectors-", 0) == 0 && name.size() == 8 + 64 + 4;
    bool temp = rb::is_publish_temp_name(name);
    EXPECT_TRUE(name == rb::kSidecarName || data || (temps_allowed && temp)) << name;
  }
}

}  // namespace

TEST(BundlePublish, CrashAtEachStepLeavesAVerifiableBundle) {
  for (int i = 0; i < rb::kPublishStepCount; i++) {
    const auto step = static_cast<rb::PublishStep>(i);
    SCOPED_TRACE(rb::publish_step_name(step));
    TempDir tmp;
    const std::string dir = tmp.sub("b");
    publish_generation(dir, 1);
    g_fail_at = step;
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      try {
        publish_generation(dir, 2, crash_at);
      } catch (...) {
      }
      ::_exit(1);  // the hook did not fire
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == kCrashExit);

    const bool committed = step >= rb::PublishStep::kSidecarRenamed;
    EXPECT_EQ(verified_generation(dir), committed ? 2u : 1u);
    expect_only_bundle_files(dir, true);
    // The next publish succeeds and sweeps away whatever the crash left.
    rb::PublishResult next = publish_generation(dir, 3);
    EXPECT_TRUE(next.cleanup_warning.empty()) << next.cleanup_warning;
    EXPECT_EQ(verified_generation(dir), 3u);
    EXPECT_EQ(list_dir(dir), (std::vector<std::string>{rb::kSidecarName, next.sidecar.data_ref}));
  }
}

TEST(BundlePublish, FailureAtEachStepLeavesAVerifiableBundleAndNoTempFiles) {
  for (int i = 0; i < rb::kPublishStepCount; i++) {
    const auto step = static_cast<rb::PublishStep>(i);
    SCOPED_TRACE(rb::publish_step_name(step));
    TempDir tmp;
    const std::string dir = tmp.sub("b");
    publish_generation(dir, 1);
    g_fail_at = step;
    EXPECT_THROW(publish_generation(dir, 2, throw_at), std::runtime_error);
    EXPECT_EQ(verified_generation(dir), step >= rb::PublishStep::kSidecarRenamed ? 2u : 1u);
    expect_only_bundle_files(dir, false);
  }
}

// A cancel (the interrupt check throwing) at its n-th call, whichever step or chunk of the
// read-back that is, leaves the old bundle and no temp file; the check is never called at
// or after the commit point, so a cancel never reports a failure for a published bundle.
TEST(BundlePublish, InterruptCheckCancelsBeforeTheCommitOnly) {
  static int calls, cancel_at;
  rb::PublishOptions options;
  options.interrupt = [] {
    if (++calls == cancel_at) throw std::runtime_error("canceled");
  };
  std::vector<std::int64_t> ids(20000);
  for (std::size_t i = 0; i < ids.size(); i++) ids[i] = static_cast<std::int64_t>(i);
  const std::vector<float> rows = bundle_test::pseudo_rows(ids.size(), 64, 2);
  TempDir tmp;
  const std::string dir = tmp.sub("b");
  publish_generation(dir, 1);
  calls = 0;
  cancel_at = 0;  // counts the calls of an uncancelled publish
  rb::BundleMeta meta = bundle_test::worked_meta();
  meta.generation = std::uint64_t{2};
  rb::publish_bundle_from_rows(dir, meta, 64, ids, rows, options);
  const int total = calls;
  EXPECT_GT(total, 8);  // every step before the commit, and the read-back's chunks
  for (cancel_at = 1; cancel_at <= total; cancel_at++) {
    SCOPED_TRACE(cancel_at);
    publish_generation(dir, 1);
    calls = 0;
    EXPECT_THROW(rb::publish_bundle_from_rows(dir, meta, 64, ids, rows, options),
                 std::runtime_error);
    EXPECT_EQ(verified_generation(dir), 1u);
    expect_only_bundle_files(dir, false);
  }
}

TEST(BundlePublish, RepublishingRemovesTheStaleDataFile) {
  TempDir tmp;
  const std::string dir = tmp.sub("b");
  rb::PublishResult first = publish_generation(dir, 1);
  EXPECT_TRUE(first.removed.empty());
  rb::PublishResult second = publish_generation(dir, 2);
  EXPECT_NE(first.sidecar.data_ref, second.sidecar.data_ref);
  EXPECT_EQ(second.removed, std::vector<std::string>{first.sidecar.data_ref});
  EXPECT_EQ(list_dir(dir), (std::vector<std::string>{rb::kSidecarName, second.sidecar.data_ref}));
  EXPECT_EQ(rb::verify_bundle_or_throw(dir), second.sidecar);
}

TEST(BundlePublish, SameDataUnderANewGenerationKeepsItsDataFile) {
  TempDir tmp;
  const std::string dir = tmp.sub("b");
  rb::BundleMeta meta = bundle_test::worked_meta();
  rb::PublishResult first =
      rb::publish_bundle_from_rows(dir, meta, 3, bundle_test::kWorkedIds, bundle_test::kWorkedRows);
  meta.generation = std::string("v2");
  rb::PublishResult second =
      rb::publish_bundle_from_rows(dir, meta, 3, bundle_test::kWorkedIds, bundle_test::kWorkedRows);
  EXPECT_EQ(first.sidecar.data_ref, second.sidecar.data_ref);  // content-addressed
  EXPECT_NE(first.sidecar.rvf_witness, second.sidecar.rvf_witness);
  EXPECT_TRUE(second.removed.empty());
  EXPECT_EQ(rb::verify_bundle_or_throw(dir), second.sidecar);
}

TEST(BundlePublish, AFailingProducerLeavesTheOldBundle) {
  TempDir tmp;
  const std::string dir = tmp.sub("b");
  publish_generation(dir, 1);
  auto producer = [](rb::VectorsWriter& writer) {
    const float row[4] = {1, 2, 3, 4};
    for (int i = 0; i < 10; i++) writer.add(i, row);
    throw std::runtime_error("scan cancelled");
  };
  EXPECT_THROW(rb::publish_bundle(dir, bundle_test::worked_meta(), 4, 100, producer),
               std::runtime_error);
  auto short_producer = [](rb::VectorsWriter& writer) {
    const float row[4] = {1, 2, 3, 4};
    writer.add(1, row);
  };
  EXPECT_THROW(rb::publish_bundle(dir, bundle_test::worked_meta(), 4, 2, short_producer),
               rb::FormatError);
  EXPECT_EQ(verified_generation(dir), 1u);
  expect_only_bundle_files(dir, false);
}

TEST(BundlePublish, StreamsLargeBundlesThroughAProducer) {
  TempDir tmp;
  const std::string dir = tmp.sub("big");
  const std::uint32_t dim = 16;
  const std::uint64_t count = 50000;
  const std::vector<float> rows = bundle_test::pseudo_rows(count, dim, 11);
  rb::publish_bundle(dir, bundle_test::worked_meta(), dim, count, [&](rb::VectorsWriter& writer) {
    for (std::uint64_t i = 0; i < count; i++)
      writer.add(static_cast<std::int64_t>(count - i), rows.data() + i * dim);
  });
  rb::LoadedBundle loaded = rb::load_bundle(dir);
  ASSERT_EQ(loaded.data.ids.size(), count);
  EXPECT_EQ(loaded.data.ids.front(), static_cast<std::int64_t>(count));
  EXPECT_EQ(loaded.data.ids.back(), 1);
  EXPECT_EQ(loaded.data.rows, rows);
}

TEST(BundlePublish, InvalidMetadataIsRefusedBeforeAnythingIsWritten) {
  TempDir tmp;
  const std::string dir = tmp.sub("never");
  rb::BundleMeta meta = bundle_test::worked_meta();
  meta.rerank_factor = 0;
  EXPECT_THROW(
      rb::publish_bundle_from_rows(dir, meta, 3, bundle_test::kWorkedIds, bundle_test::kWorkedRows),
      rb::FormatError);
  meta = bundle_test::worked_meta();
  meta.generation = std::string();
  EXPECT_THROW(
      rb::publish_bundle_from_rows(dir, meta, 3, bundle_test::kWorkedIds, bundle_test::kWorkedRows),
      rb::FormatError);
  EXPECT_THROW(rb::publish_bundle_from_rows(dir, bundle_test::worked_meta(), 0, {}, {}),
               rb::FormatError);
  EXPECT_THROW(rb::publish_bundle_from_rows(dir, bundle_test::worked_meta(), 4,
                                            bundle_test::kWorkedIds, bundle_test::kWorkedRows),
               rb::FormatError);  // 6 floats are not 2 rows of 4
  EXPECT_FALSE(bundle_test::fs::exists(dir));
}

TEST(BundlePublish, CreatesTheBundleDirectoryButNotItsParents) {
  TempDir tmp;
  publish_generation(tmp.sub("fresh"), 1);
  EXPECT_EQ(verified_generation(tmp.sub("fresh")), 1u);
  try {
    publish_generation(tmp.sub("no/such/parent"), 1);
    FAIL();
  } catch (const rb::IoError& e) {
    EXPECT_EQ(e.sys_errno(), ENOENT);
  }
}

TEST(BundlePublish, EmptyCollectionsPublishAndLoad) {
  TempDir tmp;
  rb::publish_bundle_from_rows(tmp.sub("empty"), bundle_test::worked_meta(), 8, {}, {});
  rb::LoadedBundle loaded = rb::load_bundle(tmp.sub("empty"));
  EXPECT_EQ(loaded.data.dim, 8u);
  EXPECT_TRUE(loaded.data.ids.empty());
}

TEST(BundlePublish, TempNamesAreRecognized) {
  EXPECT_TRUE(rb::is_publish_temp_name("vectors.tmp.123.0"));
  EXPECT_TRUE(rb::is_publish_temp_name("table.rulake.json.tmp.9.77"));
  EXPECT_FALSE(rb::is_publish_temp_name("table.rulake.json"));
  EXPECT_FALSE(rb::is_publish_temp_name("vectors.tmp.123"));
  EXPECT_FALSE(rb::is_publish_temp_name("vectors.tmp.12a.0"));
  EXPECT_FALSE(rb::is_publish_temp_name("vectors.tmp..0"));
  EXPECT_FALSE(rb::is_publish_temp_name("notes.tmp.1.2"));
  EXPECT_FALSE(rb::is_publish_temp_name("vectors-" + std::string(64, 'a') + ".rvb"));
}

namespace {

std::string g_watched_dir;
std::string g_seen_temp;

void record_temp_name(rb::PublishStep step) {
  if (step != rb::PublishStep::kVectorsTempCreated) return;
  for (const std::string& name : list_dir(g_watched_dir))
    if (rb::is_publish_temp_name(name)) g_seen_temp = name;
}

}  // namespace

// Backends are processes and pids are reused: a crashed publisher may have left exactly the
// temp names this process is about to use.
TEST(BundlePublish, StaleTempFilesOfAReusedPidAreSteppedOverAndRemoved) {
  TempDir tmp;
  const std::string dir = tmp.sub("b");
  g_watched_dir = dir;
  publish_generation(dir, 1, record_temp_name);
  const std::string prefix = "vectors.tmp." + std::to_string(::getpid()) + ".";
  ASSERT_EQ(g_seen_temp.rfind(prefix, 0), 0u) << g_seen_temp;
  const std::uint64_t next = std::stoull(g_seen_temp.substr(prefix.size())) + 2;
  std::vector<std::string> stale;
  for (std::uint64_t n = next; n < next + 5; n++) {
    stale.push_back(prefix + std::to_string(n));
    stale.push_back(std::string(rb::kSidecarName) + ".tmp." + std::to_string(::getpid()) + "." +
                    std::to_string(n));
  }
  for (const std::string& name : stale) bundle_test::write_file(dir + "/" + name, "stale");
  rb::PublishResult result = publish_generation(dir, 2);
  EXPECT_EQ(verified_generation(dir), 2u);
  EXPECT_EQ(list_dir(dir), (std::vector<std::string>{rb::kSidecarName, result.sidecar.data_ref}));
  EXPECT_EQ(result.removed.size(), stale.size() + 1);  // and generation 1's data file
}
