// Lowercase hex for digests in the sidecar. Only one spelling is accepted, so the JSON text
// of a sidecar has one form per value and string comparisons of witnesses are meaningful.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "bundle/sidecar.h"

namespace ruvector::bundle {

std::string to_hex(const std::uint8_t* bytes, std::size_t size);
inline std::string to_hex(const Digest& digest) { return to_hex(digest.data(), digest.size()); }

// 64 lowercase hex digits -> Digest; nullopt for any other length or character.
std::optional<Digest> digest_from_hex(std::string_view text);

}  // namespace ruvector::bundle
