// A decoder of PostgreSQL's pglz format (src/common/pg_lzcompress.c), the compression
// Postgres applies to a wide ruvector value stored inline under the type's default storage.
// It produces the bytes Postgres' own pglz_decompress does, several times faster on vector
// data: literal runs and matches are copied in 8- and 16-byte words instead of a byte and a
// memcpy call at a time. Reranks and distances read thousands of such values a second.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ruvector::util {

// Bytes `dst` must have beyond `raw_size`: copies may write up to this much past the end.
inline constexpr std::size_t kPglzDecodeSlack = 16;

// Decodes `src_size` bytes of pglz data into exactly `raw_size` bytes at `dst` (whose
// capacity is raw_size + kPglzDecodeSlack). False, with `dst` unspecified, when the input
// is malformed: a match reaching before the output's start, input that ends inside an item,
// or output that does not come out at exactly raw_size from exactly src_size bytes.
bool pglz_decode(const std::uint8_t* src, std::size_t src_size, std::uint8_t* dst,
                 std::size_t raw_size);

}  // namespace ruvector::util
