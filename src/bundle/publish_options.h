// The options of rulake.publish_bundle: a JSON object whose keys set the governance fields
// of the sidecar (pii_policy, lineage_id), its generation and the bundle's format. Parsed here, not
// in SQL, so the rules (which keys, which types, which characters) are unit-tested next to the
// format.
#pragma once

#include <string_view>

#include "bundle/publish.h"

namespace ruvector::bundle {

// Longest option value accepted: the sidecar allows kMaxStringBytes, but a governance tag
// is a reference (a URI, an OpenLineage job id, a snapshot id), not a document.
inline constexpr std::size_t kMaxOptionBytes = 1024;

// Applies `options_json` (a JSON object, UTF-8) to `meta`, which holds the defaults:
//   pii_policy  string
//   lineage_id  string
//   generation  a non-negative integer up to 2^53 - 1, or a non-empty string
//   format      "native" (the default) or "ruvector-rust" (BundleFormat::kRust)
// Strings are at most kMaxOptionBytes, valid UTF-8, without control characters. Throws
// Error(kInvalidParameter) naming the key for an unknown key, a wrong type or a bad value;
// `meta` is left unchanged then.
void apply_publish_options(std::string_view options_json, BundleMeta* meta);

}  // namespace ruvector::bundle
