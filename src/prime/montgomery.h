// Montgomery arithmetic modulo an odd 64-bit n (R = 2^64), constexpr so that tables can be
// computed by the compiler with the same code that runs at run time.
#pragma once

#include <cstdint>

namespace ruvector::prime {

using u64 = std::uint64_t;
using u128 = unsigned __int128;

struct Montgomery {
  u64 n;        // odd modulus
  u64 n_inv;    // n^-1 mod 2^64
  u64 one;      // R mod n: 1 in Montgomery form
  u64 r2;       // R^2 mod n, to convert into Montgomery form

  constexpr explicit Montgomery(u64 modulus)
      : n(modulus), n_inv(inverse(modulus)), one((0 - modulus) % modulus),
        r2(static_cast<u64>(static_cast<u128>(one) * one % modulus)) {}

  // n^-1 mod 2^64 by Newton iteration: an odd n is its own inverse mod 8 (3 bits), and each
  // step doubles the correct bits: 3, 6, 12, 24, 48, 96.
  static constexpr u64 inverse(u64 n) {
    u64 x = n;
    for (int i = 0; i < 5; i++) x *= 2 - n * x;
    return x;
  }

  // t * R^-1 mod n for t < n * R; the result is in [0, n).
  constexpr u64 reduce(u128 t) const {
    u64 m = static_cast<u64>(t) * n_inv;
    u64 t_hi = static_cast<u64>(t >> 64);
    u64 mn_hi = static_cast<u64>((static_cast<u128>(m) * n) >> 64);
    // The low words of t and m*n are equal, so t - m*n = (t_hi - mn_hi) * R exactly.
    return t_hi >= mn_hi ? t_hi - mn_hi : t_hi - mn_hi + n;
  }

  constexpr u64 mul(u64 a, u64 b) const { return reduce(static_cast<u128>(a) * b); }
  constexpr u64 to_form(u64 a) const { return mul(a % n, r2); }
  constexpr u64 from_form(u64 a) const { return reduce(a); }
};

}  // namespace ruvector::prime
