// verify_bundle: a published bundle verifies and loads; a change to any sidecar field, to
// the witness or to the data is caught with a typed error naming what failed; so are a
// missing bundle, symlinks, malformed JSON and inconsistent but authentic bundles. A
// reader racing a publisher always sees a whole bundle.
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <limits>
#include <nlohmann/json.hpp>

#include "bundle/errors.h"
#include "bundle/le.h"
#include "bundle/shake.h"
#include "bundle/sidecar_json.h"
#include "bundle/verify.h"
#include "test_bundle_util.h"

namespace rb = ruvector::bundle;
using bundle_test::read_file;
using bundle_test::TempDir;
using bundle_test::write_file;
using nlohmann::json;

namespace {

// Publishes the worked example into <tmp>/b and returns that directory.
std::string publish_worked(const TempDir& tmp) {
  std::string dir = tmp.sub("b");
  rb::publish_bundle_from_rows(dir, bundle_test::worked_meta(), 3, bundle_test::kWorkedIds,
                               bundle_test::kWorkedRows);
  return dir;
}

std::string sidecar_path(const std::string& dir) { return dir + "/" + rb::kSidecarName; }
std::string data_path(const std::string& dir) {
  return dir + "/" + rb::data_file_name(*rb::digest_from_hex(bundle_test::kWorkedDataDigest));
}

// Rewrites one field of the sidecar's JSON, keeping everything else (the witness too).
void edit_sidecar(const std::string& dir, const std::string& field, const json& value) {
  nlohmann::ordered_json doc = nlohmann::ordered_json::parse(read_file(sidecar_path(dir)));
  doc[field] = value;
  write_file(sidecar_path(dir), doc.dump(2) + "\n");
}

// Writes `s` with a freshly computed witness: authentic, whatever its contents.
void write_authentic(const std::string& dir, rb::Sidecar s) {
  s.rvf_witness = rb::compute_witness(s);
  write_file(sidecar_path(dir), rb::sidecar_to_json(s));
}

template <typename E>
E expect_error(const std::string& dir) {
  try {
    rb::verify_bundle_or_throw(dir);
  } catch (const E& e) {
    EXPECT_FALSE(rb::verify_bundle(dir).valid);
    return e;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong error type: " << e.what();
    throw;
  }
  ADD_FAILURE() << "bundle in " << dir << " verified";
  throw std::logic_error("verified");
}

}  // namespace

TEST(BundleVerify, PublishedWorkedExampleVerifiesAndLoads) {
  TempDir tmp;
  std::string dir = publish_worked(tmp);
  EXPECT_EQ(bundle_test::list_dir(dir),
            (std::vector<std::string>{
                std::string("table.rulake.json"),
                "vectors-" + std::string(bundle_test::kWorkedDataDigest) + ".rvb"}));
  EXPECT_EQ(read_file(data_path(dir)), bundle_test::unhex(bundle_test::kWorkedVectorsHex));
  rb::Verification v = rb::verify_bundle(dir);
  ASSERT_TRUE(v.valid) << v.reason;
  EXPECT_FALSE(v.missing);
  EXPECT_TRUE(v.reason.empty());
  EXPECT_EQ(*v.sidecar, bundle_test::worked_sidecar());
  EXPECT_EQ(rb::to_hex(v.sidecar->rvf_witness), bundle_test::kWorkedWitness);
  rb::LoadedBundle loaded = rb::load_bundle(dir);
  EXPECT_EQ(loaded.sidecar, *v.sidecar);
  EXPECT_EQ(loaded.data.dim, 3u);
  EXPECT_EQ(loaded.data.ids, bundle_test::kWorkedIds);
  EXPECT_EQ(loaded.data.rows, bundle_test::kWorkedRows);
}

// Records what stream_bundle hands out, in order.
struct RecordingSink : rb::BundleSink {
  std::vector<std::string> calls;
  rb::LoadedBundle got;
  void sidecar(const rb::Sidecar& s) override {
    calls.push_back("sidecar");
    got.sidecar = s;
  }
  void header(const rb::VectorsHeader& h) override {
    calls.push_back("header " + std::to_string(h.count));
    got.data.dim = h.dim;
  }
  void ids(const std::int64_t* ids, std::size_t n) override {
    calls.push_back("ids");
    got.data.ids.insert(got.data.ids.end(), ids, ids + n);
  }
  void rows(const float* rows, std::size_t n) override {
    calls.push_back("rows");
    got.data.rows.insert(got.data.rows.end(), rows, rows + n * got.data.dim);
  }
};

// Streaming hands out what load_bundle keeps, sidecar and header before any row, and a
// bundle whose data was changed still fails, after the stream, so the receiver discards it.
TEST(BundleVerify, StreamingHandsOutTheVerifiedBundle) {
  TempDir tmp;
  std::string dir = publish_worked(tmp);
  RecordingSink sink;
  rb::Sidecar s = rb::stream_bundle(dir, &sink);
  rb::LoadedBundle loaded = rb::load_bundle(dir);
  EXPECT_EQ(s, loaded.sidecar);
  EXPECT_EQ(sink.got.sidecar, loaded.sidecar);
  EXPECT_EQ(sink.got.data.ids, loaded.data.ids);
  EXPECT_EQ(sink.got.data.rows, loaded.data.rows);
  EXPECT_EQ(sink.calls, (std::vector<std::string>{"sidecar", "header 2", "ids", "rows"}));

  std::string bytes = read_file(data_path(dir));
  bytes[60] = static_cast<char>(bytes[60] ^ 0x01);
  write_file(data_path(dir), bytes);
  RecordingSink tampered;
  EXPECT_THROW(rb::stream_bundle(dir, &tampered), rb::IntegrityError);
  EXPECT_EQ(tampered.calls.back(), "rows") << "the stream stopped before the digest was known";
}

TEST(BundleVerify, ChangingAnySidecarFieldIsDetected) {
  const std::vector<std::pair<std::string, json>> changes = {
      {"data_ref", "vectors-other.rvb"},
      {"dim", 4},
      {"rotation_seed", "12345678901234567891"},
      {"rerank_factor", 21},
      {"generation", 8},
      {"generation", "7"},
      {"pii_policy", "internal"},
      {"lineage_id", "example/items2"},
      {"data_digest", std::string(64, '0')},
      {"rvf_witness", std::string(64, 'a')},
  };
  for (const auto& [field, value] : changes) {
    TempDir tmp;
    std::string dir = publish_worked(tmp);
    edit_sidecar(dir, field, value);
    rb::IntegrityError e = expect_error<rb::IntegrityError>(dir);
    EXPECT_EQ(e.field(), "rvf_witness") << field;
    EXPECT_EQ(e.kind(), ruvector::ErrorKind::kIntegrity);
    EXPECT_NE(std::string(e.what()).find("does not match its rvf_witness"), std::string::npos);
  }
}

TEST(BundleVerify, FormatVersionChangesAreDowngradesOrUnsupported) {
  TempDir tmp;
  std::string dir = publish_worked(tmp);
  edit_sidecar(dir, "format_version", 0);
  expect_error<rb::DowngradeError>(dir);
  // Still a downgrade when the attacker also fixed up the witness.
  rb::Sidecar s = bundle_test::worked_sidecar();
  s.format_version = 0;
  s.rvf_witness = rb::compute_witness(s);
  nlohmann::ordered_json doc = nlohmann::ordered_json::parse(rb::sidecar_to_json(s));
  write_file(sidecar_path(dir), doc.dump());
  expect_error<rb::DowngradeError>(dir);
  edit_sidecar(dir, "format_version", 2);
  expect_error<rb::UnsupportedVersionError>(dir);
}

TEST(BundleVerify, ChangingTheDataIsDetected) {
  const std::string original = bundle_test::unhex(bundle_test::kWorkedVectorsHex);
  // A byte in each id and each row, and the last byte of the file.
  for (std::size_t offset : {32u, 40u, 47u, 48u, 55u, 60u, 71u}) {
    TempDir tmp;
    std::string dir = publish_worked(tmp);
    std::string bytes = original;
    bytes[offset] = static_cast<char>(bytes[offset] ^ 0x01);
    write_file(data_path(dir), bytes);
    rb::IntegrityError e = expect_error<rb::IntegrityError>(dir);
    EXPECT_EQ(e.field(), "data_digest") << offset;
    EXPECT_NE(std::string(e.what()).find("the data was changed or replaced"), std::string::npos);
  }
}

TEST(BundleVerify, ReplacedDataOfAnotherDimIsReportedWithBothDims) {
  TempDir tmp;
  std::string dir = publish_worked(tmp);
  std::string other_dir = tmp.sub("other");
  rb::PublishResult other = rb::publish_bundle_from_rows(other_dir, bundle_test::worked_meta(), 2,
                                                         {1, 2, 3}, bundle_test::kWorkedRows);
  write_file(data_path(dir), read_file(other_dir + "/" + other.sidecar.data_ref));
  rb::IntegrityError e = expect_error<rb::IntegrityError>(dir);
  EXPECT_NE(std::string(e.what()).find("it has dim 2 where the sidecar says 3"), std::string::npos)
      << e.what();
}

TEST(BundleVerify, TruncatedOrExtendedDataGivesAClearError) {
  TempDir tmp;
  std::string dir = publish_worked(tmp);
  const std::string original = bundle_test::unhex(bundle_test::kWorkedVectorsHex);
  write_file(data_path(dir), original.substr(0, 70));
  rb::FormatError truncated = expect_error<rb::FormatError>(dir);
  EXPECT_NE(std::string(truncated.what()).find("is truncated"), std::string::npos);
  write_file(data_path(dir), original + "x");
  rb::FormatError extended = expect_error<rb::FormatError>(dir);
  EXPECT_NE(std::string(extended.what()).find("1 trailing bytes"), std::string::npos);
}

TEST(BundleVerify, AuthenticButInconsistentBundlesAreRefused) {
  TempDir tmp;
  std::string dir = publish_worked(tmp);
  // Right digest and witness, wrong dim: a publisher bug, reported against "dim".
  rb::Sidecar s = bundle_test::worked_sidecar();
  s.dim = 4;
  write_authentic(dir, s);
  rb::FormatError wrong_dim = expect_error<rb::FormatError>(dir);
  EXPECT_EQ(wrong_dim.field(), "dim");
  EXPECT_NE(std::string(wrong_dim.what()).find("is 4 but vectors file"), std::string::npos);

  // A NaN that the digest and witness vouch for.
  std::string bytes = bundle_test::unhex(bundle_test::kWorkedVectorsHex);
  rb::store_le_f32(reinterpret_cast<std::uint8_t*>(bytes.data()) + 52,
                   std::numeric_limits<float>::quiet_NaN());
  write_file(dir + "/nan.rvb", bytes);
  s = bundle_test::worked_sidecar();
  s.data_ref = "nan.rvb";
  rb::Shake256 shake;
  shake.update(bytes.data(), bytes.size());
  s.data_digest = shake.finish();
  write_authentic(dir, s);
  rb::FormatError nan = expect_error<rb::FormatError>(dir);
  EXPECT_NE(std::string(nan.what()).find("NaN or infinite value in row 0"), std::string::npos);
}

TEST(BundleVerify, MissingDataFileIsNamed) {
  TempDir tmp;
  std::string dir = publish_worked(tmp);
  ASSERT_EQ(::unlink(data_path(dir).c_str()), 0);
  rb::IntegrityError e = expect_error<rb::IntegrityError>(dir);
  EXPECT_EQ(e.field(), "data_ref");
  EXPECT_FALSE(rb::verify_bundle(dir).missing);  // a damaged bundle, not an absent one
}

TEST(BundleVerify, AbsentBundleIsMissingNotInvalid) {
  TempDir tmp;
  rb::Verification no_dir = rb::verify_bundle(tmp.sub("nothing"));
  EXPECT_FALSE(no_dir.valid);
  EXPECT_TRUE(no_dir.missing);
  EXPECT_FALSE(no_dir.sidecar.has_value());
  std::string dir = publish_worked(tmp);
  ASSERT_EQ(::unlink(sidecar_path(dir).c_str()), 0);
  EXPECT_TRUE(rb::verify_bundle(dir).missing);
  try {
    rb::verify_bundle_or_throw(dir);
    FAIL();
  } catch (const rb::IoError& e) {
    EXPECT_EQ(e.sys_errno(), ENOENT);
  }
}

TEST(BundleVerify, SymlinkedFilesAreRefused) {
  TempDir tmp;
  std::string dir = publish_worked(tmp);
  std::string elsewhere = tmp.sub("elsewhere");
  ASSERT_EQ(::rename(sidecar_path(dir).c_str(), elsewhere.c_str()), 0);
  ASSERT_EQ(::symlink(elsewhere.c_str(), sidecar_path(dir).c_str()), 0);
  rb::IoError sidecar_link = expect_error<rb::IoError>(dir);
  EXPECT_NE(std::string(sidecar_link.what()).find("symbolic link"), std::string::npos);

  ASSERT_EQ(::unlink(sidecar_path(dir).c_str()), 0);
  ASSERT_EQ(::rename(elsewhere.c_str(), sidecar_path(dir).c_str()), 0);
  ASSERT_EQ(::rename(data_path(dir).c_str(), elsewhere.c_str()), 0);
  ASSERT_EQ(::symlink(elsewhere.c_str(), data_path(dir).c_str()), 0);
  EXPECT_EQ(expect_error<rb::IoError>(dir).sys_errno(), ELOOP);
}

TEST(BundleVerify, MalformedSidecarIsReported) {
  TempDir tmp;
  std::string dir = publish_worked(tmp);
  std::string text = read_file(sidecar_path(dir));
  write_file(sidecar_path(dir), text.substr(0, text.size() / 2));
  rb::Verification v = rb::verify_bundle(dir);
  EXPECT_FALSE(v.valid);
  EXPECT_FALSE(v.missing);
  EXPECT_FALSE(v.sidecar.has_value());
  EXPECT_EQ(v.reason.rfind("bundle sidecar is not valid JSON", 0), 0u) << v.reason;
  write_file(sidecar_path(dir), text);
  edit_sidecar(dir, "dim", "3");
  EXPECT_EQ(expect_error<rb::FormatError>(dir).field(), "dim");
  write_file(sidecar_path(dir), "{\"format_version\": 1, \"dim\": 3}");
  EXPECT_EQ(expect_error<rb::FormatError>(dir).field(), "data_ref");  // the first missing
}

// A publisher in a child process republishes two alternating bundles while this process
// reads: every read must verify, whichever bundle it lands on.
TEST(BundleVerify, ReadersRacingAPublisherAlwaysSeeAWholeBundle) {
  TempDir tmp;
  std::string dir = publish_worked(tmp);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    int status = 0;
    try {
      for (std::uint64_t i = 0; i < 150; i++) {
        rb::BundleMeta meta = bundle_test::worked_meta();
        meta.generation = i;
        std::vector<float> rows = bundle_test::pseudo_rows(64, 8, i % 2);
        std::vector<std::int64_t> ids(64);
        for (std::size_t k = 0; k < ids.size(); k++) ids[k] = static_cast<std::int64_t>(k);
        rb::publish_bundle_from_rows(dir, meta, 8, ids, rows);
      }
    } catch (...) {
      status = 1;
    }
    ::_exit(status);
  }
  int reads = 0, failures = 0;
  std::string first_failure;
  for (;;) {
    int status = 0;
    pid_t finished = ::waitpid(child, &status, WNOHANG);
    rb::Verification v = rb::verify_bundle(dir);
    reads++;
    if (!v.valid && failures++ == 0) first_failure = v.reason;
    if (finished == child) {
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
      break;
    }
  }
  EXPECT_EQ(failures, 0) << "first failure: " << first_failure;
  EXPECT_GT(reads, 1);
  rb::Verification last = rb::verify_bundle(dir);
  ASSERT_TRUE(last.valid);
  EXPECT_EQ(std::get<std::uint64_t>(last.sidecar->generation), 149u);
}

namespace {

int g_hook_calls = 0;

// Lands a new bundle (generation 99) between the reader's sidecar read and its data open;
// the publish removes the data file the reader was about to open.
void publish_in_between(const std::string& dir) {
  if (g_hook_calls++ > 0) return;
  rb::BundleMeta meta = bundle_test::worked_meta();
  meta.generation = std::uint64_t{99};
  rb::publish_bundle_from_rows(dir, meta, 2, {5, 6, 7}, bundle_test::kWorkedRows);
}

// Lands a new bundle before every data open: the reader never wins.
void publish_every_time(const std::string& dir) {
  rb::BundleMeta meta = bundle_test::worked_meta();
  meta.generation = static_cast<std::uint64_t>(100 + g_hook_calls);
  rb::publish_bundle_from_rows(dir, meta, 2, {g_hook_calls++ % 2 == 0 ? 5 : 6}, {1.0f, 2.0f});
}

void delete_data_in_between(const std::string& dir) {
  g_hook_calls++;
  ::unlink(data_path(dir).c_str());
}

}  // namespace

TEST(BundleVerify, AReaderThatLosesTheRaceReadsTheNewBundle) {
  TempDir tmp;
  std::string dir = publish_worked(tmp);
  g_hook_calls = 0;
  rb::ReadOptions options;
  options.before_data_open = publish_in_between;
  rb::LoadedBundle loaded = rb::load_bundle(dir, options);
  EXPECT_EQ(g_hook_calls, 2);  // read, lost the race, read again
  EXPECT_EQ(std::get<std::uint64_t>(loaded.sidecar.generation), 99u);
  EXPECT_EQ(loaded.data.ids, (std::vector<std::int64_t>{5, 6, 7}));
  EXPECT_EQ(loaded.data.dim, 2u);
}

TEST(BundleVerify, DataVanishingWithoutANewSidecarIsAnError) {
  TempDir tmp;
  std::string dir = publish_worked(tmp);
  g_hook_calls = 0;
  rb::ReadOptions options;
  options.before_data_open = delete_data_in_between;
  try {
    rb::verify_bundle_or_throw(dir, options);
    FAIL() << "verified without its data";
  } catch (const rb::IntegrityError& e) {
    EXPECT_EQ(e.field(), "data_ref");
  }
  EXPECT_EQ(g_hook_calls, 1);
}

TEST(BundleVerify, AReaderThatAlwaysLosesTheRaceGivesUpWithTryAgain) {
  TempDir tmp;
  std::string dir = publish_worked(tmp);
  g_hook_calls = 0;
  rb::ReadOptions options;
  options.before_data_open = publish_every_time;
  try {
    rb::verify_bundle_or_throw(dir, options);
    FAIL() << "verified though every data file vanished before it was opened";
  } catch (const rb::IoError& e) {
    EXPECT_EQ(e.sys_errno(), EAGAIN);
    EXPECT_NE(std::string(e.what()).find("try again"), std::string::npos) << e.what();
  }
  EXPECT_EQ(g_hook_calls, 64);                // one publish per attempt
  EXPECT_TRUE(rb::verify_bundle(dir).valid);  // the last publish stands whole
}
