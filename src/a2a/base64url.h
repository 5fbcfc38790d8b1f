// Base64url without padding (RFC 4648 section 5), as JWS uses it.
#pragma once

#include <string>
#include <string_view>

namespace ruvector::a2a {

std::string base64url_encode(std::string_view bytes);

// Throws ruvector::Error(kDataException) on characters outside the alphabet, on padding
// and on impossible lengths.
std::string base64url_decode(std::string_view text);

}  // namespace ruvector::a2a
