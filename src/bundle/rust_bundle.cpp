// See rust_bundle.h. Constructions follow crates/ruvector-rulake (bundle.rs for the sidecar
// and witness, fs_backend.rs for ruvec1 and file names); the checks a hostile file meets
// are this reader's, at least as strict as the Rust reader's.
#include "bundle/rust_bundle.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <limits>

#include <nlohmann/json.hpp>

#include "bundle/errors.h"
#include "bundle/file_io.h"
#include "bundle/hex.h"
#include "bundle/le.h"
#include "bundle/paths.h"
#include "bundle/shake.h"
#include "util/json_parse.h"

namespace ruvector::bundle {
namespace {

using json = nlohmann::json;

constexpr const char* kRustFields[] = {
    "format_version", "data_ref",    "dim",        "rotation_seed", "rerank_factor",
    "generation",     "rvf_witness", "pii_policy", "lineage_id",    "memory_class"};

constexpr std::size_t kChunkBytes = 1024 * 1024;

[[noreturn]] void bad_field(const std::string& field, const std::string& what) {
  throw FormatError("Rust bundle sidecar field \"" + field + "\" " + what, field);
}

void put_u64(std::string& out, std::uint64_t value) {
  std::uint8_t bytes[8];
  store_le64(bytes, value);
  out.append(reinterpret_cast<const char*>(bytes), sizeof(bytes));
}

void check_text(const std::string& value, const char* field, std::size_t limit) {
  if (value.size() > limit) bad_field(field, "is longer than " + std::to_string(limit) + " bytes");
  if (!is_valid_utf8(value)) bad_field(field, "is not valid UTF-8");
}

const json& member(const json& doc, const char* field) {
  auto it = doc.find(field);
  if (it == doc.end())
    throw FormatError(std::string("Rust bundle sidecar is missing field \"") + field + "\"", field);
  return *it;
}

std::uint64_t get_u64(const json& doc, const char* field) {
  const json& v = member(doc, field);
  if (!v.is_number_unsigned())
    bad_field(field, "must be an integer between 0 and 18446744073709551615");
  return v.get<std::uint64_t>();
}

std::uint32_t get_u32(const json& doc, const char* field) {
  std::uint64_t v = get_u64(doc, field);
  if (v > std::numeric_limits<std::uint32_t>::max())
    bad_field(field, "must be an integer between 0 and 4294967295");
  return static_cast<std::uint32_t>(v);
}

// Absent and null are the same to serde's Option; an empty string then stands for both.
std::string get_optional_string(const json& doc, const char* field, bool* present = nullptr) {
  auto it = doc.find(field);
  if (present != nullptr) *present = it != doc.end() && !it->is_null();
  if (it == doc.end() || it->is_null()) return {};
  if (!it->is_string()) bad_field(field, "must be a string or null");
  return it->get<std::string>();
}

bool is_rust_file_name(std::string_view name) {
  // FsBackend::validate_filename's rules, so a name read here is one it would register.
  if (name.empty() || name.size() > 255 || name == "." || name == "..") return false;
  for (char c : name) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F || c == '/' || c == '\\' || c == ':') return false;
  }
  return true;
}

// The URI scheme of `ref` (RFC 3986: a letter, then letters, digits, '+', '-', '.'), or
// empty when `ref` does not start with one followed by ':'.
std::string uri_scheme(const std::string& ref) {
  std::size_t colon = ref.find(':');
  if (colon == std::string::npos || colon == 0 || colon > 32) return {};
  if (!std::isalpha(static_cast<unsigned char>(ref[0]))) return {};
  for (std::size_t i = 1; i < colon; i++) {
    auto c = static_cast<unsigned char>(ref[i]);
    if (!std::isalnum(c) && c != '+' && c != '-' && c != '.') return {};
  }
  return ref.substr(0, colon);
}

// Bounded for messages: data_ref may be 4 KiB of anything valid UTF-8.
std::string shown(const std::string& text) {
  if (text.size() <= 80) return text;
  std::size_t cut = 80;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) cut--;
  return text.substr(0, cut) + "...";
}

[[noreturn]] void bad_file(const std::string& label, const std::string& what) {
  throw FormatError("ruvec1 file \"" + label + "\" " + what, "vectors file");
}

}  // namespace

std::string rust_witness_input(const Sidecar& s) {
  std::string out(kRustWitnessDomain, sizeof(kRustWitnessDomain) - 1);
  put_u64(out, s.data_ref.size());
  out += s.data_ref;
  out += '|';
  put_u64(out, s.dim);
  put_u64(out, s.rotation_seed);
  put_u64(out, s.rerank_factor);
  out += '|';
  std::string generation;
  if (const auto* number = std::get_if<std::uint64_t>(&s.generation)) {
    generation += '\x00';
    put_u64(generation, *number);
  } else {
    generation += '\x01';
    generation += std::get<std::string>(s.generation);
  }
  put_u64(out, generation.size());
  out += generation;
  return out;
}

Digest compute_rust_witness(const Sidecar& s) {
  std::string input = rust_witness_input(s);
  Shake256 shake;
  shake.update(input.data(), input.size());
  return shake.finish();
}

void validate_rust_fields(const Sidecar& s) {
  if (s.format_version < kRustMinFormatVersion || s.format_version > kRustFormatVersion)
    bad_field("format_version", "must be 1 or 2");
  if (s.data_ref.empty()) bad_field("data_ref", "must not be empty");
  check_text(s.data_ref, "data_ref", kRustMaxFieldBytes);
  if (s.dim < 1 || s.dim > kMaxDim)
    bad_field("dim", "must be between 1 and " + std::to_string(kMaxDim));
  if (s.rerank_factor < 1) bad_field("rerank_factor", "must be at least 1");
  if (const auto* text = std::get_if<std::string>(&s.generation))
    check_text(*text, "generation", kMaxStringBytes);
  check_text(s.pii_policy, "pii_policy", kRustMaxFieldBytes);
  check_text(s.lineage_id, "lineage_id", kRustMaxFieldBytes);
  if (s.memory_class) check_text(*s.memory_class, "memory_class", kRustMaxFieldBytes);
}

Sidecar rust_sidecar_from_json(std::string_view text) {
  JsonBounds bounds;
  bounds.duplicates = DuplicateKeys::kRefuse;
  json doc;
  try {
    doc = parse_json(text, "Rust bundle sidecar", bounds);
  } catch (const JsonError& e) {
    throw FormatError(e.what(), e.path());
  }
  if (!doc.is_object()) throw FormatError("Rust bundle sidecar must be a JSON object");
  std::uint64_t version = get_u64(doc, "format_version");
  if (version < kRustMinFormatVersion)
    throw DowngradeError("Rust bundle format_version " + std::to_string(version) +
                         " does not exist (versions 1 and 2 are read): refused");
  if (version > kRustFormatVersion)
    throw UnsupportedVersionError("Rust bundle format_version " + std::to_string(version) +
                                      " is newer than this reader supports (" +
                                      std::to_string(kRustFormatVersion) + ")",
                                  "format_version");
  // Every field but the witness's five is unauthenticated: an unknown one is refused rather
  // than carried along where a consumer might trust it.
  for (const auto& item : doc.items()) {
    bool known = false;
    for (const char* name : kRustFields) known = known || item.key() == name;
    if (!known) bad_field(shown(item.key()), "is not part of the Rust bundle format");
  }
  Sidecar s;
  s.scheme = WitnessScheme::kRustV1;
  s.format_version = static_cast<std::uint32_t>(version);
  const json& ref = member(doc, "data_ref");
  if (!ref.is_string()) bad_field("data_ref", "must be a string");
  s.data_ref = ref.get<std::string>();
  s.dim = get_u32(doc, "dim");
  s.rotation_seed = get_u64(doc, "rotation_seed");
  s.rerank_factor = get_u32(doc, "rerank_factor");
  const json& g = member(doc, "generation");
  if (g.is_number_unsigned()) {
    s.generation = g.get<std::uint64_t>();
  } else if (g.is_string()) {
    s.generation = g.get<std::string>();
  } else {
    bad_field("generation", "must be a non-negative integer or a string");
  }
  const json& w = member(doc, "rvf_witness");
  std::optional<Digest> witness;
  if (w.is_string()) witness = digest_from_hex(w.get<std::string>());
  if (!witness) bad_field("rvf_witness", "must be a string of 64 lowercase hex digits");
  s.rvf_witness = *witness;
  s.pii_policy = get_optional_string(doc, "pii_policy");
  s.lineage_id = get_optional_string(doc, "lineage_id");
  bool has_class = false;
  std::string memory_class = get_optional_string(doc, "memory_class", &has_class);
  if (has_class) s.memory_class = std::move(memory_class);
  validate_rust_fields(s);
  return s;
}

std::string rust_sidecar_to_json(const Sidecar& s) {
  validate_rust_fields(s);
  nlohmann::ordered_json doc;
  doc["format_version"] = s.format_version;
  doc["data_ref"] = s.data_ref;
  doc["dim"] = s.dim;
  doc["rotation_seed"] = s.rotation_seed;
  doc["rerank_factor"] = s.rerank_factor;
  if (const auto* number = std::get_if<std::uint64_t>(&s.generation)) {
    doc["generation"] = *number;
  } else {
    doc["generation"] = std::get<std::string>(s.generation);
  }
  doc["rvf_witness"] = to_hex(s.rvf_witness);
  doc["pii_policy"] = s.pii_policy.empty() ? json(nullptr) : json(s.pii_policy);
  doc["lineage_id"] = s.lineage_id.empty() ? json(nullptr) : json(s.lineage_id);
  if (s.memory_class) doc["memory_class"] = *s.memory_class;
  return doc.dump(2);
}

RustDataLocation resolve_rust_data_ref(const std::string& data_ref, const std::string& bundle_dir,
                                       const std::string& bundle_root) {
  static constexpr char kFile[] = "file://";
  if (data_ref.compare(0, sizeof(kFile) - 1, kFile) == 0) {
    std::string path = data_ref.substr(sizeof(kFile) - 1);
    if (path.empty() || path[0] != '/')
      throw PathError("Rust bundle data_ref \"" + shown(data_ref) +
                      "\" names a host; only file:///absolute/path is read");
    if (bundle_root.empty())
      throw PathError("Rust bundle data_ref \"" + shown(data_ref) +
                      "\" is a file:// URI, which is read only for a bundle:DIR source inside "
                      "rulake.bundle_root");
    std::string confined = confine(bundle_root, path);  // PathError outside the root
    std::size_t slash = confined.rfind('/');
    RustDataLocation at;
    at.dir = slash == 0 ? "/" : confined.substr(0, slash);
    at.name = confined.substr(slash + 1);
    if (!is_rust_file_name(at.name))
      throw PathError("Rust bundle data_ref \"" + shown(data_ref) + "\" does not name a file");
    return at;
  }
  std::string scheme = uri_scheme(data_ref);
  if (!scheme.empty())
    throw PathError("Rust bundle data_ref scheme \"" + shown(scheme) +
                    ":\" is not read here; only file:// inside rulake.bundle_root or a file "
                    "name in the bundle directory");
  if (!is_rust_file_name(data_ref))
    throw PathError("Rust bundle data_ref \"" + shown(data_ref) +
                    "\" is neither a file:// URI nor a file name in the bundle directory "
                    "(no \"/\", \"\\\", \":\", \".\", \"..\" or control characters)");
  return RustDataLocation{bundle_dir, data_ref};
}

VectorsHeader decode_ruvec1_header(const std::uint8_t* bytes, std::uint64_t file_size,
                                   const std::string& label) {
  if (file_size < kRuvec1HeaderSize)
    bad_file(label, "is truncated: " + std::to_string(file_size) +
                        " bytes, shorter than its 24-byte header");
  if (std::memcmp(bytes, kRuvec1Magic, sizeof(kRuvec1Magic)) != 0)
    bad_file(label, "is not a ruvec1 file (its first 8 bytes are not \"ruvec1\\0\\0\")");
  VectorsHeader h;
  h.count = load_le64(bytes + 8);
  h.dim = load_le32(bytes + 16);
  if (load_le32(bytes + 20) != 0) bad_file(label, "has a non-zero reserved header word");
  if (h.dim < 1 || h.dim > kMaxDim)
    bad_file(label, "has dim " + std::to_string(h.dim) + ", outside 1.." + std::to_string(kMaxDim));
  // count is checked against the real size before anything is allocated for it.
  const std::uint64_t record = 8 + 4 * static_cast<std::uint64_t>(h.dim);
  const std::uint64_t body = file_size - kRuvec1HeaderSize;
  if (h.count > body / record)
    bad_file(label, "is truncated: its header announces " + std::to_string(h.count) +
                        " records of " + std::to_string(h.dim) + " dimensions but it has " +
                        std::to_string(file_size) + " bytes");
  if (body != h.count * record)
    bad_file(label, "has " + std::to_string(body - h.count * record) +
                        " trailing bytes after the " + std::to_string(h.count) +
                        " records its header announces");
  return h;
}

VectorsScan scan_ruvec1_file(int fd, const std::string& label, VectorsSink* sink,
                             InterruptCheck interrupt) {
  const std::uint64_t size = file_size(fd, label);
  std::uint8_t head[kRuvec1HeaderSize] = {};
  if (size >= kRuvec1HeaderSize) pread_exact(fd, head, sizeof(head), 0, label);
  VectorsScan scan;
  scan.header = decode_ruvec1_header(head, size, label);
  const std::uint32_t dim = scan.header.dim;
  const std::uint64_t count = scan.header.count;
  Shake256 shake;
  shake.update(head, sizeof(head));
  if (sink != nullptr) sink->header(scan.header);

  const std::size_t record = 8 + 4 * static_cast<std::size_t>(dim);
  const std::size_t per_chunk = std::max<std::size_t>(1, kChunkBytes / record);
  std::vector<std::uint8_t> buffer;
  std::vector<std::int64_t> ids;
  std::vector<float> rows;
  std::uint64_t offset = kRuvec1HeaderSize;
  for (std::uint64_t i = 0; i < count;) {
    check_interrupt(interrupt);
    std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(per_chunk, count - i));
    buffer.resize(n * record);
    pread_exact(fd, buffer.data(), buffer.size(), offset, label);
    shake.update(buffer.data(), buffer.size());
    ids.resize(n);
    rows.resize(n * dim);
    for (std::size_t r = 0; r < n; r++) {
      const std::uint8_t* at = buffer.data() + r * record;
      ids[r] = static_cast<std::int64_t>(load_le64(at));
      for (std::uint32_t d = 0; d < dim; d++) {
        float x = load_le_f32(at + 8 + 4 * static_cast<std::size_t>(d));
        rows[r * dim + d] = x;
        if (!scan.first_non_finite_row && !std::isfinite(x)) scan.first_non_finite_row = i + r;
      }
    }
    if (sink != nullptr) {
      sink->ids(ids.data(), n);
      sink->rows(rows.data(), n);
    }
    offset += buffer.size();
    i += n;
  }
  if (file_size(fd, label) != size)
    throw IoError("ruvec1 file \"" + label + "\" changed size while being read", EIO);
  scan.digest = shake.finish();
  return scan;
}

std::string rust_data_file_name(const Digest& data_digest) {
  return std::string("vectors-") + to_hex(data_digest) + kRustDataSuffix;
}

}  // namespace ruvector::bundle
