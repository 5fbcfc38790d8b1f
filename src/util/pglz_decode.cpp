// See pglz_decode.h. The format: a control byte whose bits, low first, say whether each of
// the next eight items is a literal byte (0) or a match (1). A match is two bytes, the
// first's low nibble the length - 3 and its high nibble with the second byte a 12-bit
// offset back into the output; length 18 takes one more byte to add (up to 273).
//
// Vector data decodes to hundreds of short items a row (Fashion-MNIST: about 310 literals
// and 270 matches a row, 88% of the matches at offsets of 8 or more and at most 16 bytes
// long). Deciding item by item costs a mispredicted branch each; the fast loop below takes
// a control byte's run of literals at once (counted from its bits, copied as one word),
// copies such a common match as two words without further tests, and checks the input's
// and output's ends once a group of eight items rather than once an item.
#include "util/pglz_decode.h"

#include <cstring>

namespace ruvector::util {

namespace {

inline void copy8(std::uint8_t* dst, const std::uint8_t* src) { std::memcpy(dst, src, 8); }

// Copies a match of `len` bytes from `off` bytes back, writing up to 15 bytes past its end.
// A match may overlap its own output (off < len repeats a pattern): every word read lies
// behind the write position, or the pattern is written as whole words (periods 1, 2 and 4:
// runs of a byte, and of a float's high half or a whole float, as in vectors), or doubled
// until it does.
inline void copy_match(std::uint8_t* dp, std::size_t off, std::size_t len) {
  const std::uint8_t* from = dp - off;
  if (off >= 16) {
    for (std::size_t i = 0; i < len; i += 16) {
      copy8(dp + i, from + i);
      copy8(dp + i + 8, from + i + 8);
    }
  } else if (off >= 8) {
    for (std::size_t i = 0; i < len; i += 8) copy8(dp + i, from + i);
  } else if (off == 1 || off == 2 || off == 4) {
    std::uint32_t period;
    if (off == 4) {
      std::memcpy(&period, from, 4);
    } else if (off == 2) {
      std::uint16_t half;
      std::memcpy(&half, from, 2);
      period = half * 0x10001u;
    } else {
      period = *from * 0x01010101u;
    }
    const std::uint64_t word = period * 0x100000001ull;
    for (std::size_t i = 0; i < len; i += 16) {
      std::memcpy(dp + i, &word, 8);
      std::memcpy(dp + i + 8, &word, 8);
    }
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

// More input than one group of the fast loop reads: its control byte, eight 3-byte
// matches, and a literal word read at the last item.
constexpr std::ptrdiff_t kMaxGroup = 1 + 8 * 3 + 8;
// Output a group may write without a check: eight common matches of up to 16 bytes.
constexpr std::ptrdiff_t kGroupOutput = 8 * 16;

}  // namespace

bool pglz_decode(const std::uint8_t* src, std::size_t src_size, std::uint8_t* dst,
                 std::size_t raw_size) {
  const std::uint8_t* sp = src;
  const std::uint8_t* const src_end = src + src_size;
  std::uint8_t* dp = dst;
  std::uint8_t* const dst_end = dst + raw_size;

  // Fast loop: a group at a time while the input holds the whole group and the output
  // room for eight common matches. In a group, each turn takes the literals up to the next
  // match, then the match: one at an offset of 8 or more and of at most 16 bytes (88% of
  // Fashion-MNIST's) as two words, where the words' own overlap repeats a pattern correctly;
  // any other through copy_match, after its checks. Bit 8 of `c` marks the group's end.
  // Postgres stops at the output's end and then requires the input's end there too; the
  // output's end reached inside the fast loop's margin is therefore malformed, which the
  // final check reports.
  unsigned ctrl = 0;
  int left = 0;  // items left in the current control group
  while (src_end - sp > kMaxGroup && dst_end - dp > kGroupOutput) {
    unsigned c = *sp++ | 0x100u;
    for (;;) {
      const int literals = __builtin_ctz(c);
      copy8(dp, sp);  // up to 7 bytes past the run: within the slack, rewritten next
      dp += literals;
      sp += literals;
      c >>= literals;
      if (c == 1) break;
      const unsigned b0 = sp[0];
      const std::size_t off = (static_cast<std::size_t>(b0 & 0xf0) << 4) | sp[1];
      const bool ext = (b0 & 0x0f) == 0x0f;
      const std::size_t len = (b0 & 0x0f) + 3u + (ext ? sp[2] : 0u);
      const std::size_t written = static_cast<std::size_t>(dp - dst);
      c >>= 1;
      if (__builtin_expect((off >= 8) & (len <= 16) & (off <= written), 1)) {
        copy8(dp, dp - off);
        copy8(dp + 8, dp - off + 8);
        dp += len;
        sp += 2 + ext;
      } else {
        if (off == 0 || off > written) return false;
        if (len + kPglzDecodeSlack > static_cast<std::size_t>(dst_end - dp)) {
          sp = apply_match(sp, dst, &dp, dst_end);  // clipped at the output's end
          if (sp == nullptr) return false;
        } else {
          copy_match(dp, off, len);
          dp += len;
          sp += 2 + ext;
        }
        // A long match may leave too little room for the rest of the group unchecked.
        if (dst_end - dp <= kGroupOutput) {
          left = 31 - __builtin_clz(c);
          ctrl = c & ~(1u << left);
          break;
        }
      }
      if (c == 1) break;
    }
    if (left > 0) break;
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
