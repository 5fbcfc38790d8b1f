// See vectors_file.h. Layout offsets: header [0, 32), ids [32, 32 + 8n), rows after that;
// both regions stay naturally aligned for a reader that maps the file.
#include "bundle/vectors_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <limits>

#include "bundle/errors.h"
#include "bundle/file_io.h"
#include "bundle/le.h"
#include "bundle/rust_bundle.h"
#include "bundle/shake.h"

namespace ruvector::bundle {
namespace {

constexpr std::size_t kIdsPerChunk = 8192;        // 64 KiB of ids per write or read
constexpr std::size_t kChunkBytes = 1024 * 1024;  // rows are moved about 1 MiB at a time

std::size_t rows_per_chunk(std::uint32_t dim) {
  return std::max<std::size_t>(1, kChunkBytes / (4 * static_cast<std::size_t>(dim)));
}

[[noreturn]] void bad_file(const std::string& label, const std::string& what) {
  throw FormatError("vectors file \"" + label + "\" " + what, "vectors file");
}

}  // namespace

std::array<std::uint8_t, kVectorsHeaderSize> encode_vectors_header(const VectorsHeader& h) {
  std::array<std::uint8_t, kVectorsHeaderSize> out{};
  std::memcpy(out.data(), kVectorsMagic, sizeof(kVectorsMagic));
  store_le32(out.data() + 8, h.version);
  store_le32(out.data() + 12, h.dim);
  store_le64(out.data() + 16, h.count);
  store_le32(out.data() + 24, h.flags);
  store_le32(out.data() + 28, 0);  // reserved
  return out;
}

std::uint64_t vectors_file_size(std::uint32_t dim, std::uint64_t count) {
  // off_t is signed: the largest file is 2^63 - 1 bytes.
  const std::uint64_t limit = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  const std::uint64_t per_row = 8 + 4 * static_cast<std::uint64_t>(dim);
  if (count > (limit - kVectorsHeaderSize) / per_row)
    throw FormatError("a vectors file of " + std::to_string(count) + " rows of " +
                          std::to_string(dim) + " dimensions would exceed 2^63 bytes",
                      "vectors file");
  return kVectorsHeaderSize + count * per_row;
}

VectorsHeader decode_vectors_header(const std::uint8_t* bytes, std::uint64_t file_size,
                                    const std::string& label) {
  if (file_size < kVectorsHeaderSize)
    bad_file(label, "is truncated: " + std::to_string(file_size) +
                        " bytes, shorter than its 32-byte header");
  if (std::memcmp(bytes, kVectorsMagic, sizeof(kVectorsMagic)) != 0)
    bad_file(label, "is not a bundle vectors file (its first 8 bytes are not \"RVBNDLVF\")");
  VectorsHeader h;
  h.version = load_le32(bytes + 8);
  h.dim = load_le32(bytes + 12);
  h.count = load_le64(bytes + 16);
  h.flags = load_le32(bytes + 24);
  if (h.version > kVectorsVersion)
    throw UnsupportedVersionError("vectors file \"" + label + "\" has version " +
                                      std::to_string(h.version) + ", newer than this reader (" +
                                      std::to_string(kVectorsVersion) + ")",
                                  "vectors file");
  if (h.version < 1) bad_file(label, "has version 0, which does not exist");
  if (h.flags != 0) bad_file(label, "sets flags " + std::to_string(h.flags) + ", none defined");
  if (load_le32(bytes + 28) != 0) bad_file(label, "has a non-zero reserved header word");
  if (h.dim < 1 || h.dim > kMaxDim)
    bad_file(label, "has dim " + std::to_string(h.dim) + ", outside 1.." + std::to_string(kMaxDim));
  std::uint64_t expected;
  try {
    expected = vectors_file_size(h.dim, h.count);
  } catch (const FormatError&) {
    bad_file(label, "announces " + std::to_string(h.count) + " rows, an impossible size");
  }
  std::string shape = std::to_string(h.count) + " rows of " + std::to_string(h.dim) +
                      " dimensions (" + std::to_string(expected) + " bytes)";
  if (file_size < expected)
    bad_file(label, "is truncated: its header announces " + shape + " but it has " +
                        std::to_string(file_size) + " bytes");
  if (file_size > expected)
    bad_file(label, "has " + std::to_string(file_size - expected) + " trailing bytes after the " +
                        shape + " its header announces");
  return h;
}

VectorsWriter::VectorsWriter(int fd, std::uint32_t dim, std::uint64_t count, std::string label,
                             VectorsLayout layout)
    : fd_(fd), layout_(layout), dim_(dim), count_(count), label_(std::move(label)) {
  if (dim < 1 || dim > kMaxDim)
    throw FormatError(
        "vectors dim " + std::to_string(dim) + " is outside 1.." + std::to_string(kMaxDim), "dim");
  vectors_file_size(dim, count);  // throws when the file could not exist
  id_buffer_.reserve(8 * std::min<std::uint64_t>(count, kIdsPerChunk));
  row_buffer_.reserve(4 * static_cast<std::size_t>(dim) *
                      std::min<std::uint64_t>(count, rows_per_chunk(dim)));
}

void VectorsWriter::add(std::int64_t id, const float* row) {
  if (finished_ || added_ == count_)
    throw FormatError("more rows than the " + std::to_string(count_) +
                          " announced for vectors file \"" + label_ + "\"",
                      "vectors file");
  for (std::uint32_t d = 0; d < dim_; d++) {
    if (!std::isfinite(row[d]))
      throw FormatError("row " + std::to_string(added_) + " (id " + std::to_string(id) +
                            ") has a NaN or infinite value at dimension " + std::to_string(d),
                        "vectors file");
  }
  if (layout_ == VectorsLayout::kRuvec1) {
    // The record's id goes in front of its row, in the one buffer.
    std::size_t at = row_buffer_.size();
    row_buffer_.resize(at + 8);
    store_le64(row_buffer_.data() + at, static_cast<std::uint64_t>(id));
  } else {
    std::size_t at = id_buffer_.size();
    id_buffer_.resize(at + 8);
    store_le64(id_buffer_.data() + at, static_cast<std::uint64_t>(id));
  }
  std::size_t at = row_buffer_.size();
  row_buffer_.resize(at + 4 * static_cast<std::size_t>(dim_));
  for (std::uint32_t d = 0; d < dim_; d++) store_le_f32(row_buffer_.data() + at + 4 * d, row[d]);
  added_++;
  if (id_buffer_.size() >= 8 * kIdsPerChunk) flush_ids();
  if (row_buffer_.size() >= 4 * static_cast<std::size_t>(dim_) * rows_per_chunk(dim_)) flush_rows();
}

void VectorsWriter::flush_ids() {
  pwrite_all(fd_, id_buffer_.data(), id_buffer_.size(), kVectorsHeaderSize + 8 * ids_flushed_,
             label_);
  ids_flushed_ += id_buffer_.size() / 8;
  id_buffer_.clear();
}

void VectorsWriter::flush_records() {
  const std::uint64_t record = 8 + 4 * static_cast<std::uint64_t>(dim_);
  pwrite_all(fd_, row_buffer_.data(), row_buffer_.size(),
             kRuvec1HeaderSize + record * rows_flushed_, label_);
  rows_flushed_ += row_buffer_.size() / record;
  row_buffer_.clear();
}

void VectorsWriter::flush_rows() {
  if (layout_ == VectorsLayout::kRuvec1) return flush_records();
  const std::uint64_t row_bytes = 4 * static_cast<std::uint64_t>(dim_);
  pwrite_all(fd_, row_buffer_.data(), row_buffer_.size(),
             kVectorsHeaderSize + 8 * count_ + row_bytes * rows_flushed_, label_);
  rows_flushed_ += row_buffer_.size() / row_bytes;
  row_buffer_.clear();
}

void VectorsWriter::finish() {
  if (finished_) return;
  if (added_ != count_)
    throw FormatError(std::to_string(count_) + " rows were announced for vectors file \"" + label_ +
                          "\" but " + std::to_string(added_) + " were written",
                      "vectors file");
  flush_ids();
  flush_rows();
  if (layout_ == VectorsLayout::kRuvec1) {
    std::uint8_t header[kRuvec1HeaderSize] = {};
    std::memcpy(header, kRuvec1Magic, sizeof(kRuvec1Magic));
    store_le64(header + 8, count_);
    store_le32(header + 16, dim_);
    pwrite_all(fd_, header, sizeof(header), 0, label_);
    finished_ = true;
    return;
  }
  VectorsHeader h;
  h.dim = dim_;
  h.count = count_;
  auto header = encode_vectors_header(h);
  pwrite_all(fd_, header.data(), header.size(), 0, label_);
  finished_ = true;
}

void VectorsDataSink::header(const VectorsHeader& header) {
  // The sizes are bounded by the file's real size, checked with the header.
  data_->dim = header.dim;
  data_->ids.clear();
  data_->rows.clear();
  data_->ids.reserve(header.count);
  data_->rows.reserve(header.count * header.dim);
}

void VectorsDataSink::ids(const std::int64_t* ids, std::size_t count) {
  data_->ids.insert(data_->ids.end(), ids, ids + count);
}

void VectorsDataSink::rows(const float* rows, std::size_t count) {
  data_->rows.insert(data_->rows.end(), rows, rows + count * data_->dim);
}

VectorsScan scan_vectors_file(int fd, const std::string& label, VectorsSink* sink,
                              InterruptCheck interrupt) {
  const std::uint64_t size = file_size(fd, label);
  std::uint8_t head[kVectorsHeaderSize] = {};
  if (size >= kVectorsHeaderSize) pread_exact(fd, head, sizeof(head), 0, label);
  VectorsScan scan;
  scan.header = decode_vectors_header(head, size, label);
  const std::uint32_t dim = scan.header.dim;
  const std::uint64_t count = scan.header.count;
  Shake256 shake;
  shake.update(head, sizeof(head));
  if (sink != nullptr) sink->header(scan.header);

  std::vector<std::uint8_t> buffer;
  std::vector<std::int64_t> ids;
  std::uint64_t offset = kVectorsHeaderSize;
  for (std::uint64_t i = 0; i < count;) {
    check_interrupt(interrupt);
    std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(kIdsPerChunk, count - i));
    buffer.resize(8 * n);
    pread_exact(fd, buffer.data(), buffer.size(), offset, label);
    shake.update(buffer.data(), buffer.size());
    if (sink != nullptr) {
      ids.resize(n);
      for (std::size_t k = 0; k < n; k++)
        ids[k] = static_cast<std::int64_t>(load_le64(buffer.data() + 8 * k));
      sink->ids(ids.data(), n);
    }
    offset += buffer.size();
    i += n;
  }

  const std::size_t row_bytes = 4 * static_cast<std::size_t>(dim);
  std::vector<float> rows;
  for (std::uint64_t i = 0; i < count;) {
    check_interrupt(interrupt);
    std::size_t n =
        static_cast<std::size_t>(std::min<std::uint64_t>(rows_per_chunk(dim), count - i));
    buffer.resize(n * row_bytes);
    pread_exact(fd, buffer.data(), buffer.size(), offset, label);
    shake.update(buffer.data(), buffer.size());
    rows.resize(n * dim);
    for (std::size_t k = 0; k < n * dim; k++) {
      rows[k] = load_le_f32(buffer.data() + 4 * k);
      if (!scan.first_non_finite_row && !std::isfinite(rows[k]))
        scan.first_non_finite_row = i + k / dim;
    }
    if (sink != nullptr) sink->rows(rows.data(), n);
    offset += buffer.size();
    i += n;
  }
  if (file_size(fd, label) != size)
    throw IoError("vectors file \"" + label + "\" changed size while being read", EIO);
  scan.digest = shake.finish();
  return scan;
}

VectorsData read_vectors_file(const std::string& path) {
  int raw;
  do {
    raw = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  } while (raw < 0 && errno == EINTR);
  if (raw < 0) throw_io("open vectors file", path, errno);
  UniqueFd fd(raw);
  VectorsData data;
  VectorsDataSink sink(&data);
  VectorsScan scan = scan_vectors_file(fd.get(), path, &sink);
  if (scan.first_non_finite_row)
    throw FormatError("vectors file \"" + path + "\" has a NaN or infinite value in row " +
                          std::to_string(*scan.first_non_finite_row),
                      "vectors file");
  return data;
}

}  // namespace ruvector::bundle
