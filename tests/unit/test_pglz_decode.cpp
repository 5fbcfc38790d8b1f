// The fast pglz decoder against a byte-at-a-time reference written from the format's
// description in Postgres' pg_lzcompress.c, on streams from a greedy encoder (vector-like
// data, patterns that overlap their own output, long and maximal matches) and on malformed
// input, where both must refuse. sql/rabitq_returned checks it on Postgres' own encoder.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "util/pglz_decode.h"

using ruvector::util::kPglzDecodeSlack;
using ruvector::util::pglz_decode;

namespace {

using Bytes = std::vector<std::uint8_t>;

// Greedy longest match within the last 4095 bytes, lengths 3..273: every item kind the
// format has. Not Postgres' encoder (which hashes), but a valid stream of the same format.
Bytes encode(const Bytes& in) {
  Bytes out;
  std::size_t ctrl_at = 0;
  int items = 8;
  for (std::size_t pos = 0; pos < in.size();) {
    if (items == 8) {
      ctrl_at = out.size();
      out.push_back(0);
      items = 0;
    }
    std::size_t best_len = 0;
    std::size_t best_off = 0;
    for (std::size_t off = 1; off <= 4095 && off <= pos; off++) {
      std::size_t len = 0;
      while (len < 273 && pos + len < in.size() && in[pos + len] == in[pos + len - off]) len++;
      if (len > best_len) {
        best_len = len;
        best_off = off;
      }
    }
    if (best_len >= 3) {
      out[ctrl_at] |= static_cast<std::uint8_t>(1u << items);
      if (best_len >= 18) {
        out.push_back(static_cast<std::uint8_t>(((best_off >> 4) & 0xf0) | 15));
        out.push_back(static_cast<std::uint8_t>(best_off & 0xff));
        out.push_back(static_cast<std::uint8_t>(best_len - 18));
      } else {
        out.push_back(static_cast<std::uint8_t>(((best_off >> 4) & 0xf0) | (best_len - 3)));
        out.push_back(static_cast<std::uint8_t>(best_off & 0xff));
      }
      pos += best_len;
    } else {
      out.push_back(in[pos++]);
    }
    items++;
  }
  return out;
}

// Postgres' decoder loop, a byte at a time, with its checks (check_complete = true).
bool reference_decode(const Bytes& src, std::size_t raw_size, Bytes* out) {
  out->assign(raw_size, 0);
  std::size_t sp = 0;
  std::size_t dp = 0;
  while (sp < src.size() && dp < raw_size) {
    unsigned ctrl = src[sp++];
    for (int i = 0; i < 8 && sp < src.size() && dp < raw_size; i++, ctrl >>= 1) {
      if (ctrl & 1) {
        if (sp + 2 > src.size()) return false;
        std::size_t len = (src[sp] & 0x0f) + 3;
        std::size_t off = (static_cast<std::size_t>(src[sp] & 0xf0) << 4) | src[sp + 1];
        sp += 2;
        if (len == 18) {
          if (sp >= src.size()) return false;
          len += src[sp++];
        }
        if (off == 0 || off > dp) return false;
        if (len > raw_size - dp) len = raw_size - dp;
        for (std::size_t k = 0; k < len; k++, dp++) (*out)[dp] = (*out)[dp - off];
      } else {
        (*out)[dp++] = src[sp++];
      }
    }
  }
  return dp == raw_size && sp == src.size();
}

bool fast_decode(const Bytes& src, std::size_t raw_size, Bytes* out) {
  Bytes buffer(raw_size + kPglzDecodeSlack, 0xee);
  if (!pglz_decode(src.data(), src.size(), buffer.data(), raw_size)) return false;
  out->assign(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(raw_size));
  return true;
}

void expect_round_trip(const Bytes& raw) {
  const Bytes stream = encode(raw);
  Bytes fast;
  Bytes reference;
  ASSERT_TRUE(reference_decode(stream, raw.size(), &reference));
  ASSERT_EQ(reference, raw);
  ASSERT_TRUE(fast_decode(stream, raw.size(), &fast));
  EXPECT_EQ(fast, raw);
}

// Float vectors like Fashion-MNIST's: mostly 0.0f, some small integers.
Bytes pixel_vector(std::mt19937* rng, int dim) {
  std::vector<float> v(dim);
  std::uniform_int_distribution<int> pixel(0, 255);
  std::bernoulli_distribution zero(0.5);
  for (float& x : v) x = zero(*rng) ? 0.0f : static_cast<float>(pixel(*rng));
  Bytes out(sizeof(float) * v.size());
  std::memcpy(out.data(), v.data(), out.size());
  return out;
}

}  // namespace

TEST(PglzDecode, VectorLikeData) {
  std::mt19937 rng(7);
  for (int i = 0; i < 40; i++) expect_round_trip(pixel_vector(&rng, 784));
}

TEST(PglzDecode, PatternsOverlappingTheirOutput) {
  // Runs of one byte (offset 1), and periods 2..17 around the 16-byte word copy's limit.
  for (std::size_t period = 1; period <= 17; period++) {
    Bytes raw;
    for (std::size_t i = 0; i < 1000; i++)
      raw.push_back(static_cast<std::uint8_t>(i % period * 37));
    expect_round_trip(raw);
  }
}

TEST(PglzDecode, LongAndShortMatches) {
  std::mt19937 rng(11);
  for (int round = 0; round < 30; round++) {
    Bytes raw;
    std::uniform_int_distribution<int> byte(0, 255);
    std::uniform_int_distribution<int> piece(1, 400);
    while (raw.size() < 5000) {
      const std::size_t n = static_cast<std::size_t>(piece(rng));
      if (raw.size() > 20 && (rng() & 1)) {
        std::uniform_int_distribution<std::size_t> back(1, std::min<std::size_t>(raw.size(), 4095));
        const std::size_t start = raw.size() - back(rng);
        for (std::size_t k = 0; k < n; k++) raw.push_back(raw[start + k]);
      } else {
        for (std::size_t k = 0; k < n; k++) raw.push_back(static_cast<std::uint8_t>(byte(rng)));
      }
    }
    expect_round_trip(raw);
  }
}

TEST(PglzDecode, RefusesWhatPostgresRefuses) {
  std::mt19937 rng(3);
  const Bytes raw = pixel_vector(&rng, 64);
  const Bytes good = encode(raw);
  Bytes out;
  ASSERT_TRUE(fast_decode(good, raw.size(), &out));
  // A declared size the stream does not produce, either way.
  EXPECT_FALSE(fast_decode(good, raw.size() + 1, &out));
  EXPECT_FALSE(fast_decode(good, raw.size() - 1, &out));
  // Truncated streams.
  for (std::size_t cut = 1; cut < good.size(); cut += 7) {
    Bytes truncated(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(cut));
    EXPECT_FALSE(fast_decode(truncated, raw.size(), &out)) << cut;
  }
  // A match before the output's start, and offset 0.
  EXPECT_FALSE(fast_decode(Bytes{0x01, 0x00, 0x05}, 3, &out));
  EXPECT_FALSE(fast_decode(Bytes{0x02, 'a', 0x00, 0x00}, 4, &out));
  // Long valid streams with a byte changed (the word-copying loop's checks): the two
  // decoders agree on refusing or on the bytes.
  for (int i = 0; i < 3000; i++) {
    const Bytes vector = pixel_vector(&rng, 256);
    Bytes stream = encode(vector);
    stream[rng() % stream.size()] = static_cast<std::uint8_t>(rng());
    Bytes reference;
    const bool ok = reference_decode(stream, vector.size(), &reference);
    Bytes fast;
    ASSERT_EQ(fast_decode(stream, vector.size(), &fast), ok) << i;
    if (ok) {
      ASSERT_EQ(fast, reference) << i;
    }
  }
  // Random garbage: the two decoders agree on refusing or on the bytes.
  for (int i = 0; i < 20000; i++) {
    Bytes junk(1 + rng() % 40);
    for (auto& b : junk) b = static_cast<std::uint8_t>(rng());
    const std::size_t size = rng() % 200;
    Bytes reference;
    const bool ok = reference_decode(junk, size, &reference);
    Bytes fast;
    ASSERT_EQ(fast_decode(junk, size, &fast), ok) << i;
    if (ok) {
      ASSERT_EQ(fast, reference) << i;
    }
  }
}
