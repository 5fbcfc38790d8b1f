// The vectors file: the documented bytes, round trips across chunk boundaries, and typed,
// clear errors for truncation, trailing bytes, bad headers and non-finite values.
#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "bundle/errors.h"
#include "bundle/file_io.h"
#include "bundle/le.h"
#include "bundle/shake.h"
#include "bundle/vectors_file.h"
#include "test_bundle_util.h"

using namespace std::string_literals;
namespace rb = ruvector::bundle;
using bundle_test::read_file;
using bundle_test::TempDir;
using bundle_test::write_file;

namespace {

void write_vectors(const std::string& path, std::uint32_t dim, const std::vector<std::int64_t>& ids,
                   const std::vector<float>& rows) {
  rb::UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  ASSERT_GE(fd.get(), 0);
  rb::VectorsWriter writer(fd.get(), dim, ids.size(), path);
  for (std::size_t i = 0; i < ids.size(); i++) writer.add(ids[i], rows.data() + i * dim);
  writer.finish();
}

rb::VectorsScan scan(const std::string& path) {
  rb::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  return rb::scan_vectors_file(fd.get(), path, nullptr);
}

// The FormatError message for reading `bytes` as a vectors file, or "" when it reads.
std::string read_error(const TempDir& dir, const std::string& bytes) {
  std::string path = dir.sub("probe.rvb");
  write_file(path, bytes);
  try {
    rb::read_vectors_file(path);
  } catch (const rb::FormatError& e) {
    EXPECT_EQ(e.field(), "vectors file");
    return e.what();
  }
  return {};
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::string worked_bytes() { return bundle_test::unhex(bundle_test::kWorkedVectorsHex); }

}  // namespace

TEST(BundleVectorsFile, WorkedExampleHasTheDocumentedBytes) {
  TempDir dir;
  std::string path = dir.sub("v.rvb");
  write_vectors(path, 3, bundle_test::kWorkedIds, bundle_test::kWorkedRows);
  EXPECT_EQ(read_file(path), worked_bytes());
  EXPECT_EQ(rb::to_hex(scan(path).digest), bundle_test::kWorkedDataDigest);
}

TEST(BundleVectorsFile, RoundTripsAcrossChunkBoundaries) {
  TempDir dir;
  struct Shape {
    std::uint32_t dim;
    std::size_t count;
  };
  // 20000 ids span three id chunks; dim 16000 makes rows larger than a 1 MiB chunk / 16.
  for (Shape shape : {Shape{7, 20000}, Shape{rb::kMaxDim, 37}, Shape{1, 1}, Shape{5, 0}}) {
    std::vector<std::int64_t> ids(shape.count);
    for (std::size_t i = 0; i < ids.size(); i++)
      ids[i] = static_cast<std::int64_t>(i * 7919) - 5000 +
               (i == 3 ? std::numeric_limits<std::int64_t>::min() : 0);
    std::vector<float> rows = bundle_test::pseudo_rows(shape.count, shape.dim, shape.dim);
    if (!rows.empty()) rows[0] = -0.0f;
    std::string path = dir.sub("round.rvb");
    write_vectors(path, shape.dim, ids, rows);
    std::string bytes = read_file(path);
    EXPECT_EQ(bytes.size(), rb::vectors_file_size(shape.dim, shape.count));
    rb::VectorsData data = rb::read_vectors_file(path);
    EXPECT_EQ(data.dim, shape.dim);
    EXPECT_EQ(data.ids, ids);
    ASSERT_EQ(data.rows.size(), rows.size());
    // Bitwise, so -0.0f must come back as -0.0f.
    if (!rows.empty()) {
      EXPECT_EQ(std::memcmp(data.rows.data(), rows.data(), rows.size() * sizeof(float)), 0);
    }
    rb::Shake256 shake;
    shake.update(bytes.data(), bytes.size());
    EXPECT_EQ(scan(path).digest, shake.finish());
  }
}

TEST(BundleVectorsFile, TruncationIsReportedAsSuch) {
  TempDir dir;
  std::string good = worked_bytes();
  for (std::size_t keep : {std::size_t{0}, std::size_t{1}, std::size_t{31}}) {
    std::string message = read_error(dir, good.substr(0, keep));
    EXPECT_TRUE(contains(message, "is truncated") && contains(message, "32-byte header"))
        << message;
  }
  for (std::size_t keep : {std::size_t{32}, std::size_t{40}, good.size() - 1}) {
    std::string message = read_error(dir, good.substr(0, keep));
    EXPECT_TRUE(contains(
        message,
        "is truncated: its header announces 2 rows of 3 dimensions (72 bytes) but it has " +
            std::to_string(keep) + " bytes"))
        << message;
  }
}

TEST(BundleVectorsFile, TrailingBytesAreRefused) {
  TempDir dir;
  std::string message = read_error(dir, worked_bytes() + "\0\0\0\0"s);
  EXPECT_TRUE(contains(message, "has 4 trailing bytes")) << message;
}

TEST(BundleVectorsFile, BadHeadersAreRefused) {
  TempDir dir;
  auto patched = [](std::size_t offset, std::uint32_t value) {
    std::string bytes = worked_bytes();
    rb::store_le32(reinterpret_cast<std::uint8_t*>(bytes.data()) + offset, value);
    return bytes;
  };
  std::string bad_magic = worked_bytes();
  bad_magic[0] = 'X';
  EXPECT_TRUE(contains(read_error(dir, bad_magic), "not a bundle vectors file"));
  EXPECT_TRUE(contains(read_error(dir, patched(8, 0)), "version 0"));
  EXPECT_TRUE(contains(read_error(dir, patched(24, 1)), "flags"));
  EXPECT_TRUE(contains(read_error(dir, patched(28, 1)), "reserved"));
  EXPECT_TRUE(contains(read_error(dir, patched(12, 0)), "dim 0"));
  EXPECT_TRUE(contains(read_error(dir, patched(12, rb::kMaxDim + 1)), "dim 16001"));
  // A wrong dim whose size no longer matches reads as truncation or trailing bytes.
  EXPECT_TRUE(contains(read_error(dir, patched(12, 4)), "truncated"));
  EXPECT_TRUE(contains(read_error(dir, patched(12, 2)), "trailing"));
  std::string huge = worked_bytes();
  rb::store_le64(reinterpret_cast<std::uint8_t*>(huge.data()) + 16, std::uint64_t{1} << 62);
  EXPECT_TRUE(contains(read_error(dir, huge), "impossible size"));

  write_file(dir.sub("v2.rvb"), patched(8, 2));
  EXPECT_THROW(rb::read_vectors_file(dir.sub("v2.rvb")), rb::UnsupportedVersionError);
}

TEST(BundleVectorsFile, NonFiniteValuesAreRefused) {
  TempDir dir;
  const float kBad[] = {std::numeric_limits<float>::quiet_NaN(),
                        std::numeric_limits<float>::infinity(),
                        -std::numeric_limits<float>::infinity()};
  for (float bad : kBad) {
    std::vector<float> rows = bundle_test::kWorkedRows;
    rows[4] = bad;  // row 1, dimension 1
    std::string path = dir.sub("nan.rvb");
    rb::UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    rb::VectorsWriter writer(fd.get(), 3, 2, path);
    writer.add(1, rows.data());
    try {
      writer.add(2, rows.data() + 3);
      FAIL() << "the writer accepted " << bad;
    } catch (const rb::FormatError& e) {
      EXPECT_TRUE(contains(e.what(), "row 1 (id 2) has a NaN or infinite value at dimension 1"))
          << e.what();
    }
    // Written by hand, the reader reports it too.
    std::string bytes = worked_bytes();
    rb::store_le_f32(reinterpret_cast<std::uint8_t*>(bytes.data()) + 48 + 16, bad);
    write_file(path, bytes);
    EXPECT_EQ(scan(path).first_non_finite_row, std::optional<std::uint64_t>(1));
    EXPECT_TRUE(contains(read_error(dir, bytes), "NaN or infinite value in row 1"));
  }
}

TEST(BundleVectorsFile, WriterHoldsTheProducerToTheAnnouncedCount) {
  TempDir dir;
  std::string path = dir.sub("count.rvb");
  rb::UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  {
    rb::VectorsWriter writer(fd.get(), 3, 2, path);
    writer.add(1, bundle_test::kWorkedRows.data());
    EXPECT_THROW(writer.finish(), rb::FormatError);
    writer.add(2, bundle_test::kWorkedRows.data() + 3);
    EXPECT_THROW(writer.add(3, bundle_test::kWorkedRows.data()), rb::FormatError);
    writer.finish();
  }
  EXPECT_EQ(read_file(path), worked_bytes());
  EXPECT_THROW(rb::VectorsWriter(fd.get(), 0, 1, path), rb::FormatError);
  EXPECT_THROW(rb::VectorsWriter(fd.get(), rb::kMaxDim + 1, 1, path), rb::FormatError);
  EXPECT_THROW(rb::VectorsWriter(fd.get(), rb::kMaxDim, std::uint64_t{1} << 60, path),
               rb::FormatError);
}

TEST(BundleVectorsFile, MissingFileIsAnIoError) {
  TempDir dir;
  try {
    rb::read_vectors_file(dir.sub("absent.rvb"));
    FAIL();
  } catch (const rb::IoError& e) {
    EXPECT_EQ(e.sys_errno(), ENOENT);
    EXPECT_EQ(e.kind(), ruvector::ErrorKind::kIo);
  }
}
