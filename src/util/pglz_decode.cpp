// See pglz_decode.h. The format: a control byte whose bits, low first, say whether each of
// the next eight items is a literal byte (0) or a match (1). A match is two bytes, the
// first's low nibble the length - 3 and its high nibble with the second byte a 12-bit
// offset back into the output; length 18 takes one more byte to add (up to 273).
//
// Vector data decodes to hundreds of short items a row (Fashion-MNIST: about 310 literals
// and 270 matches of 10 bytes on average). Deciding item by item costs a mispredicted
// branch each; the fast loop below takes a control byte's run of literals at once (counted
// from its bits, copied as one word) and copies matches in whole words.
#include "util/pglz_decode.h"

#include <cstring>

namespace ruvector::util {

namespace {

inline void copy8(std::uint8_t* dst, const std::uint8_t* src) { std::memcpy(dst, src, 8); }

// Copies a match of `len` bytes from `off` bytes back, writing up to 15 bytes past its end.
// A match may overlap its own output (off < len repeats a pattern): every word read lies
// behind the write position, or the pattern is doubled until it does.
inline void copy_match(std::uint8_t* dp, std::size_t off, std::size_t len) {
  const std::uint8_t* from = dp - off;
  if (off >= 16) {
    for (std::size_t i = 0; i < len; i += 16) {
      copy8(dp + i, from + i);
      copy8(dp + i + 8, from + i + 8);
    }
  } else if (off >= 8) {
    for (std::size_t i = 0; i < len; i += 8) copy8(dp + i, from + i);
  } else if (off == 1) {
    std::memset(dp, *from, len);
  } else {
    std::size_t done = 0;
    while (done < len) {
      const std::size_t step = off < len - done ? off : len - done;
      std::memcpy(dp + done, dp + done - off, step);
      done += step;
      off += step;  // the pattern now lies twice behind: copy twice as much next time
    }
  }
}

// Reads a match's length and offset at `sp`, which has at least 3 bytes.
inline const std::uint8_t* read_match(const std::uint8_t* sp, std::size_t* len, std::size_t* off) {
  *len = (sp[0] & 0x0f) + 3u;
  *off = (static_cast<std::size_t>(sp[0] & 0xf0) << 4) | sp[1];
  if (*len == 18) {
    *len += sp[2];
    return sp + 3;
  }
  return sp + 2;
}

// Applies the match at `sp` (whose input holds it whole) at `*dp`, clipped at the output's
// end as Postgres clips it. Returns the input past the match, or nullptr when the match
// reaches before the output's start.
inline const std::uint8_t* apply_match(const std::uint8_t* sp, std::uint8_t* dst, std::uint8_t** dp,
                                       std::uint8_t* dst_end) {
  std::size_t len;
  std::size_t off;
  sp = read_match(sp, &len, &off);
  if (off == 0 || off > static_cast<std::size_t>(*dp - dst)) return nullptr;
  const std::size_t room = static_cast<std::size_t>(dst_end - *dp);
  if (len > room) len = room;
  copy_match(*dp, off, len);
  *dp += len;
  return sp;
}

// More input than one turn of the fast loop reads (a literal word, a 3-byte match and the
// next control byte), so that the loop checks the input's end once a turn.
constexpr std::ptrdiff_t kMaxGroup = 1 + 8 * 3 + 8;

}  // namespace

bool pglz_decode(const std::uint8_t* src, std::size_t src_size, std::uint8_t* dst,
                 std::size_t raw_size) {
  const std::uint8_t* sp = src;
  const std::uint8_t* const src_end = src + src_size;
  std::uint8_t* dp = dst;
  std::uint8_t* const dst_end = dst + raw_size;

  // Fast loop: item after item while the input surely holds the next ones. Each turn takes
  // the literals up to the next match (counted from the control bits and copied as one
  // word), then the match; the next control byte is read without a branch when the group
  // ends on a match (a branch there was mispredicted about once a group: 7% of the decode
  // on Fashion-MNIST rows). Postgres stops at the output's end and then requires the
  // input's end there too; reaching the output's end inside the fast loop's margin is
  // therefore malformed, which the final check reports.
  unsigned ctrl = 0;
  int left = 0;  // items left in the current control group
  if (src_end - sp > kMaxGroup && dp < dst_end) {
    ctrl = *sp++;
    left = 8;
    while (src_end - sp > kMaxGroup && dp < dst_end) {
      const int literals = __builtin_ctz(ctrl | (1u << left));
      if (__builtin_expect(dst_end - dp < literals, 0)) return false;
      copy8(dp, sp);  // up to 7 bytes past the run: within the slack, rewritten next
      dp += literals;
      sp += literals;
      ctrl >>= literals;
      left -= literals;
      if (left == 0) {
        ctrl = *sp++;
        left = 8;
        continue;
      }
      sp = apply_match(sp, dst, &dp, dst_end);
      if (sp == nullptr) return false;
      ctrl >>= 1;
      left--;
      // The next group's control byte, without a branch: read always, kept only at the end.
      const bool refill = left == 0;
      const unsigned next = *sp;
      ctrl = refill ? next : ctrl;
      sp += refill;
      left = refill ? 8 : left;
    }
  }
  // Finish the current group item by item, then the last groups.
  for (; left > 0 && sp < src_end && dp < dst_end; left--, ctrl >>= 1) {
    if ((ctrl & 1) == 0) {
      *dp++ = *sp++;
      continue;
    }
    if (src_end - sp < 2 || ((sp[0] & 0x0f) == 15 && src_end - sp < 3)) return false;
    sp = apply_match(sp, dst, &dp, dst_end);
    if (sp == nullptr) return false;
  }

  // The last groups, item by item with every bounds check, as Postgres decodes.
  while (sp < src_end && dp < dst_end) {
    unsigned ctrl = *sp++;
    for (int item = 0; item < 8 && sp < src_end && dp < dst_end; item++, ctrl >>= 1) {
      if ((ctrl & 1) == 0) {
        *dp++ = *sp++;
        continue;
      }
      if (src_end - sp < 2 || ((sp[0] & 0x0f) == 15 && src_end - sp < 3)) return false;
      sp = apply_match(sp, dst, &dp, dst_end);
      if (sp == nullptr) return false;
    }
  }
  return dp == dst_end && sp == src_end;
}

}  // namespace ruvector::util
