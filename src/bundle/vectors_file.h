// The bundle's vectors file: a 32-byte little-endian header, `count` int64 ids, then
// count x dim float32 rows (docs/bundle-format.md, "The vectors file"). The writer streams
// rows of any count in O(1) memory; the reader checks the size exactly, digests every byte
// and rejects non-finite values.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bundle/sidecar.h"
#include "util/interrupt.h"

namespace ruvector::bundle {

inline constexpr char kVectorsMagic[8] = {'R', 'V', 'B', 'N', 'D', 'L', 'V', 'F'};
inline constexpr std::uint32_t kVectorsVersion = 1;
inline constexpr std::size_t kVectorsHeaderSize = 32;

struct VectorsHeader {
  std::uint32_t version = kVectorsVersion;
  std::uint32_t dim = 0;
  std::uint64_t count = 0;
  std::uint32_t flags = 0;  // no flag is defined in version 1; readers refuse any bit
};

std::array<std::uint8_t, kVectorsHeaderSize> encode_vectors_header(const VectorsHeader& header);

// 32 + 8 * count + 4 * dim * count. Throws FormatError when that does not fit in 63 bits.
std::uint64_t vectors_file_size(std::uint32_t dim, std::uint64_t count);

// Decodes and checks a header against the file's actual size: magic, version, flags, the
// reserved word, 1 <= dim <= kMaxDim, and an exact size match (truncation and trailing
// bytes are told apart). `label` names the file in messages.
VectorsHeader decode_vectors_header(const std::uint8_t* bytes, std::uint64_t file_size,
                                    const std::string& label);

// Writes a vectors file into `fd` (open for writing, empty, not owned) with positional
// writes: ids go to their region and rows to theirs as they arrive, so the producer hands
// (id, row) pairs in one pass and memory stays bounded. The header is written last.
// kRuvec1 writes the Rust RuVector's ruvec1 layout instead (rust_bundle.h): a 24-byte
// header and interleaved {id, row} records, appended in order.
enum class VectorsLayout { kNative, kRuvec1 };

class VectorsWriter {
 public:
  VectorsWriter(int fd, std::uint32_t dim, std::uint64_t count, std::string label,
                VectorsLayout layout = VectorsLayout::kNative);

  // `row` points at dim floats. Throws FormatError for a non-finite value or a row past
  // `count`; nothing is written for that row.
  void add(std::int64_t id, const float* row);
  // Flushes and writes the header; throws FormatError when fewer than `count` rows came.
  void finish();

  std::uint32_t dim() const { return dim_; }
  std::uint64_t count() const { return count_; }
  std::uint64_t added() const { return added_; }

 private:
  void flush_ids();
  void flush_rows();

  void flush_records();

  int fd_;
  VectorsLayout layout_;
  std::uint32_t dim_;
  std::uint64_t count_;
  std::string label_;
  std::uint64_t added_ = 0;
  std::uint64_t ids_flushed_ = 0;   // ids already on disk
  std::uint64_t rows_flushed_ = 0;  // rows already on disk
  std::vector<std::uint8_t> id_buffer_;
  std::vector<std::uint8_t> row_buffer_;
  bool finished_ = false;
};

// What a loaded file holds: ids[i] belongs to rows[i * dim, (i + 1) * dim).
struct VectorsData {
  std::uint32_t dim = 0;
  std::vector<std::int64_t> ids;
  std::vector<float> rows;
};

struct VectorsScan {
  VectorsHeader header;
  Digest digest{};  // SHAKE-256 of every byte of the file: the sidecar's data_digest
  // The first row holding a NaN or an infinity. Reported, not thrown, so that a caller
  // comparing digests can say "tampered" before "bad value".
  std::optional<std::uint64_t> first_non_finite_row;
};

// Receives a vectors file as it is scanned, in file order: the checked header, every id,
// then the rows, each in chunks. What it receives is not verified yet: the digest is known
// only when the scan returns, so a sink must not publish anything before the caller has
// checked it (check_vectors_match). Rows may hold non-finite values (see VectorsScan).
class VectorsSink {
 public:
  virtual ~VectorsSink() = default;
  virtual void header(const VectorsHeader& header) = 0;
  virtual void ids(const std::int64_t* ids, std::size_t count) = 0;
  virtual void rows(const float* rows, std::size_t count) = 0;  // count × dim floats
};

// Decodes a whole file into `data`.
class VectorsDataSink : public VectorsSink {
 public:
  explicit VectorsDataSink(VectorsData* data) : data_(data) {}
  void header(const VectorsHeader& header) override;
  void ids(const std::int64_t* ids, std::size_t count) override;
  void rows(const float* rows, std::size_t count) override;

 private:
  VectorsData* data_;
};

// One pass over the file: decode_vectors_header, then ids and rows read in chunks, digested
// and, when `sink` is not null, handed to it. Throws FormatError for a bad header or size,
// IoError for read failures and for a file that changes size while being read. `interrupt`
// is called between chunks and may throw to cancel.
VectorsScan scan_vectors_file(int fd, const std::string& label, VectorsSink* sink,
                              InterruptCheck interrupt = nullptr);

// Opens, scans and decodes `path`; a non-finite value is a FormatError here.
VectorsData read_vectors_file(const std::string& path);

}  // namespace ruvector::bundle
