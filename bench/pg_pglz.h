// Postgres' own pglz (src/common/pg_lzcompress.c, linked from libpgcommon) for benchmarks
// that need vectors as a table stores them under the type's default storage (main), and
// Postgres' decoder to compare ruvector's with. Declared here rather than through
// Postgres' header, which needs the frontend headers. Only with RUVECTOR_HAVE_PGLZ (set by
// bench/CMakeLists.txt where postgresql-server-dev provides the library).
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#ifdef RUVECTOR_HAVE_PGLZ
struct PGLZ_Strategy;
extern "C" {
extern const PGLZ_Strategy* const PGLZ_strategy_default;
std::int32_t pglz_compress(const char* source, std::int32_t slen, char* dest,
                           const PGLZ_Strategy* strategy);
std::int32_t pglz_decompress(const char* source, std::int32_t slen, char* dest,
                             std::int32_t rawsize, bool check_complete);
}

namespace ruvector::bench {

// A ruvector value's payload: int16 dim, int16 unused, the floats (after the varlena
// header, which toast_compress_datum leaves out of the compression).
inline std::vector<char> vector_payload(const float* v, std::uint32_t dim) {
  std::vector<char> raw(4 + sizeof(float) * std::size_t{dim});
  const std::int16_t header[2] = {static_cast<std::int16_t>(dim), 0};
  std::memcpy(raw.data(), header, 4);
  std::memcpy(raw.data() + 4, v, sizeof(float) * std::size_t{dim});
  return raw;
}

// The payload as pglz compresses it for a column of storage main, or empty where the row
// keeps it as it is: heap_toast_insert_or_update compresses only in a row over
// TOAST_TUPLE_TARGET (2032 bytes; `row_overhead`: the tuple header and the other columns),
// and toast_compress_datum keeps the result only if it saves more than 2 bytes besides its
// own 4-byte header.
inline std::vector<char> toast_pglz(const std::vector<char>& payload, std::size_t row_overhead) {
  const auto size = static_cast<std::int32_t>(payload.size());
  if (payload.size() + 4 + row_overhead <= 2032) return {};
  std::vector<char> out(payload.size() + 4);  // PGLZ_MAX_OUTPUT
  const std::int32_t len = pglz_compress(payload.data(), size, out.data(), PGLZ_strategy_default);
  if (len < 0 || len + 4 >= size - 2) return {};
  out.resize(static_cast<std::size_t>(len));
  return out;
}

}  // namespace ruvector::bench
#endif
