// Little-endian stores and loads, byte by byte so the formats do not depend on the host's
// byte order (the compiler turns these into plain moves on x86 and ARM).
#pragma once

#include <cstdint>
#include <cstring>

namespace ruvector::bundle {

inline void store_le32(std::uint8_t* out, std::uint32_t v) {
  for (int i = 0; i < 4; i++) out[i] = static_cast<std::uint8_t>(v >> (8 * i));
}
inline void store_le64(std::uint8_t* out, std::uint64_t v) {
  for (int i = 0; i < 8; i++) out[i] = static_cast<std::uint8_t>(v >> (8 * i));
}
inline std::uint32_t load_le32(const std::uint8_t* in) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; i++) v |= static_cast<std::uint32_t>(in[i]) << (8 * i);
  return v;
}
inline std::uint64_t load_le64(const std::uint8_t* in) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; i++) v |= static_cast<std::uint64_t>(in[i]) << (8 * i);
  return v;
}
inline void store_le_f32(std::uint8_t* out, float f) {
  std::uint32_t bits;
  std::memcpy(&bits, &f, sizeof(bits));
  store_le32(out, bits);
}
inline float load_le_f32(const std::uint8_t* in) {
  std::uint32_t bits = load_le32(in);
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
}

}  // namespace ruvector::bundle
