// See pglz_decode.h. The format: a control byte whose bits, low first, say whether each of
// the next eight items is a literal byte (0) or a match (1). A match is two bytes, the
// first's low nibble the length - 3 and its high nibble with the second byte a 12-bit
// offset back into the output; length 18 takes one more byte to add (up to 273).
#include "util/pglz_decode.h"

#include <cstring>

namespace ruvector::util {

namespace {

inline void copy8(std::uint8_t* dst, const std::uint8_t* src) { std::memcpy(dst, src, 8); }

// Copies a match of `len` bytes from `off` bytes back. A match may overlap its own output
// (off < len repeats a pattern): copied in steps of at most `off` bytes, doubling as the
// pattern repeats, so every byte read has been written.
inline void copy_match(std::uint8_t* dp, std::size_t off, std::size_t len) {
  const std::uint8_t* from = dp - off;
  if (off >= 16) {
    // Whole 16-byte words: writes up to 15 bytes past the match (within the slack, and
    // overwritten by what follows); reads stay behind the write position.
    for (std::size_t i = 0; i < len; i += 16) {
      copy8(dp + i, from + i);
      copy8(dp + i + 8, from + i + 8);
    }
    return;
  }
  if (off == 1) {
    std::memset(dp, *from, len);
    return;
  }
  std::size_t done = 0;
  while (done < len) {
    const std::size_t step = off < len - done ? off : len - done;
    std::memcpy(dp + done, dp + done - off, step);
    done += step;
    off += step;  // the pattern now lies twice behind: copy twice as much next time
  }
}

}  // namespace

bool pglz_decode(const std::uint8_t* src, std::size_t src_size, std::uint8_t* dst,
                 std::size_t raw_size) {
  const std::uint8_t* sp = src;
  const std::uint8_t* const src_end = src + src_size;
  std::uint8_t* dp = dst;
  std::uint8_t* const dst_end = dst + raw_size;
  while (sp < src_end && dp < dst_end) {
    unsigned ctrl = *sp++;
    // Eight literals in a row, with room to read and write them as one word.
    if (ctrl == 0 && src_end - sp >= 8 && dst_end - dp >= 8) {
      copy8(dp, sp);
      dp += 8;
      sp += 8;
      continue;
    }
    for (int item = 0; item < 8 && sp < src_end && dp < dst_end; item++, ctrl >>= 1) {
      if ((ctrl & 1) == 0) {
        *dp++ = *sp++;
        continue;
      }
      if (src_end - sp < 2) return false;
      std::size_t len = (sp[0] & 0x0f) + 3;
      const std::size_t off = (static_cast<std::size_t>(sp[0] & 0xf0) << 4) | sp[1];
      sp += 2;
      if (len == 18) {
        if (sp >= src_end) return false;
        len += *sp++;
      }
      if (off == 0 || off > static_cast<std::size_t>(dp - dst)) return false;
      // Postgres clips a match at the output's end; so does this, then checks the sizes.
      const std::size_t room = static_cast<std::size_t>(dst_end - dp);
      if (len > room) len = room;
      copy_match(dp, off, len);
      dp += len;
    }
  }
  return dp == dst_end && sp == src_end;
}

}  // namespace ruvector::util
