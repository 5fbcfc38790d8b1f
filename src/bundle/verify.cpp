// See verify.h.
#include "bundle/verify.h"

#include <sys/stat.h>

#include <cerrno>
#include <map>
#include <mutex>
#include <tuple>

#include "bundle/errors.h"
#include "bundle/file_io.h"
#include "bundle/hex.h"
#include "bundle/rust_bundle.h"
#include "bundle/sidecar_json.h"
#include "bundle/witness.h"

namespace ruvector::bundle {
namespace {

// A reader loses the race with a publisher's cleanup when a publish lands between its
// sidecar read and its data open; it then reads the new sidecar and tries again. Each lost
// race is a completed publish, so a reader retries as long as publishes keep landing, up to
// this many: a publisher that keeps ahead of a reader that long (seen with three under
// AddressSanitizer, against a loop publishing back to back) gets a clear "try again".
constexpr int kMaxAttempts = 64;

std::string read_sidecar_text(int dir_fd, const std::string& dir) {
  std::string label = dir + "/" + kSidecarName;
  UniqueFd fd = open_file_in(dir_fd, kSidecarName, label);
  return read_whole_file(fd.get(), kMaxSidecarBytes, label);
}

// Opens the data file `s` names: a native one in `dir`, a Rust one where its data_ref says
// (resolve_rust_data_ref's rules). *label names it in messages.
UniqueFd open_data_file(int dir_fd, const std::string& dir, const Sidecar& s,
                        const ReadOptions& options, std::string* label) {
  if (s.scheme == WitnessScheme::kNative) {
    *label = dir + "/" + s.data_ref;
    return open_file_in(dir_fd, s.data_ref, *label);
  }
  RustDataLocation at = resolve_rust_data_ref(s.data_ref, dir, options.bundle_root);
  *label = at.dir + "/" + at.name;
  if (at.dir == dir) return open_file_in(dir_fd, at.name, *label);
  UniqueFd parent = open_directory(at.dir);
  return open_file_in(parent.get(), at.name, *label);
}

VectorsScan scan_data_file(const Sidecar& s, int fd, const std::string& label, VectorsSink* sink) {
  if (s.scheme == WitnessScheme::kRustV1) return scan_ruvec1_file(fd, label, sink);
  return scan_vectors_file(fd, label, sink);
}

// A Rust bundle's data digest by the file's identity: re-digesting a large file on every
// freshness check would cost a full read per query. ctime changes on any write or metadata
// change and cannot be set back by a user, so an unchanged key means unchanged bytes.
using FileIdentity = std::tuple<dev_t, ino_t, off_t, long, long, long, long>;
std::mutex digest_memo_lock;
std::map<FileIdentity, Digest> digest_memo;
constexpr std::size_t kDigestMemoEntries = 256;

FileIdentity identity_of(int fd, const std::string& label) {
  struct stat st;
  if (::fstat(fd, &st) != 0) throw_io("stat", label, errno);
  return FileIdentity{st.st_dev,          st.st_ino,         st.st_size,        st.st_mtim.tv_sec,
                      st.st_mtim.tv_nsec, st.st_ctim.tv_sec, st.st_ctim.tv_nsec};
}

Digest rust_data_digest(int fd, const std::string& label) {
  const FileIdentity before = identity_of(fd, label);
  {
    std::lock_guard<std::mutex> hold(digest_memo_lock);
    auto it = digest_memo.find(before);
    if (it != digest_memo.end()) return it->second;
  }
  VectorsScan scan = scan_ruvec1_file(fd, label, nullptr);
  if (identity_of(fd, label) == before) {
    std::lock_guard<std::mutex> hold(digest_memo_lock);
    if (digest_memo.size() >= kDigestMemoEntries) digest_memo.clear();
    digest_memo[before] = scan.digest;
  }
  return scan.digest;
}

Sidecar read_bundle(const std::string& dir, BundleSink* sink, const ReadOptions& options) {
  UniqueFd dir_fd = open_directory(dir);
  std::string text = read_sidecar_text(dir_fd.get(), dir);
  for (int attempt = 1;; attempt++) {
    Sidecar s = parse_checked_sidecar(text, dir);
    if (options.before_data_open != nullptr) options.before_data_open(dir);
    std::string label;
    UniqueFd data_fd;
    try {
      data_fd = open_data_file(dir_fd.get(), dir, s, options, &label);
    } catch (const IoError& e) {
      if (e.sys_errno() != ENOENT) throw;
      // A publisher may have replaced the sidecar and removed this data file since we read
      // it; if so, verify the new bundle instead.
      std::string again = read_sidecar_text(dir_fd.get(), dir);
      if (again == text)
        throw IntegrityError("bundle sidecar field \"data_ref\" names \"" + s.data_ref +
                                 "\", which does not exist in \"" + dir + "\"",
                             "data_ref");
      if (attempt == kMaxAttempts)
        throw IoError("bundle in \"" + dir + "\" was republished " + std::to_string(kMaxAttempts) +
                          " times while being read; try again",
                      EAGAIN);
      text = std::move(again);
      continue;
    }
    if (sink != nullptr) sink->sidecar(s);
    VectorsScan scan = scan_data_file(s, data_fd.get(), label, sink);
    // Nothing to compare a Rust file's digest with: it becomes part of the cache key.
    if (s.scheme == WitnessScheme::kRustV1) s.data_digest = scan.digest;
    check_vectors_match(s, scan, label);
    return s;
  }
}

// Keeps what it receives in a LoadedBundle.
class LoadingSink : public BundleSink {
 public:
  explicit LoadingSink(LoadedBundle* out) : out_(out), data_(&out->data) {}
  void sidecar(const Sidecar& s) override { out_->sidecar = s; }
  void header(const VectorsHeader& h) override { data_.header(h); }
  void ids(const std::int64_t* ids, std::size_t n) override { data_.ids(ids, n); }
  void rows(const float* rows, std::size_t n) override { data_.rows(rows, n); }

 private:
  LoadedBundle* out_;
  VectorsDataSink data_;
};

}  // namespace

Sidecar parse_checked_sidecar(const std::string& text, const std::string& dir) {
  Sidecar s = sidecar_from_json(text);
  if (compute_witness(s) != s.rvf_witness)
    throw IntegrityError("bundle sidecar in \"" + dir +
                             "\" does not match its rvf_witness: a field or the " +
                             "witness was changed after publishing",
                         "rvf_witness");
  return s;
}

void check_vectors_match(const Sidecar& s, const VectorsScan& scan, const std::string& label) {
  if (scan.digest != s.data_digest) {
    std::string hint;
    if (scan.header.dim != s.dim)
      hint = " (it has dim " + std::to_string(scan.header.dim) + " where the sidecar says " +
             std::to_string(s.dim) + ")";
    throw IntegrityError("vectors file \"" + label + "\" does not match the sidecar's " +
                             "data_digest" + hint + ": the data was changed or replaced",
                         "data_digest", "digest of the file: " + to_hex(scan.digest));
  }
  // Both authenticated yet inconsistent: the publisher wrote a wrong sidecar.
  if (scan.header.dim != s.dim)
    throw FormatError("bundle sidecar field \"dim\" is " + std::to_string(s.dim) +
                          " but vectors file \"" + label + "\" has dim " +
                          std::to_string(scan.header.dim),
                      "dim");
  if (scan.first_non_finite_row)
    throw FormatError("vectors file \"" + label + "\" has a NaN or infinite value in row " +
                          std::to_string(*scan.first_non_finite_row),
                      "vectors file");
}

Sidecar read_sidecar_checked(const std::string& dir, const ReadOptions& options) {
  UniqueFd dir_fd = open_directory(dir);
  Sidecar s = parse_checked_sidecar(read_sidecar_text(dir_fd.get(), dir), dir);
  if (s.scheme == WitnessScheme::kRustV1) {
    std::string label;
    UniqueFd data_fd = open_data_file(dir_fd.get(), dir, s, options, &label);
    s.data_digest = rust_data_digest(data_fd.get(), label);
  }
  return s;
}

Sidecar verify_bundle_or_throw(const std::string& dir, const ReadOptions& options) {
  return read_bundle(dir, nullptr, options);
}

LoadedBundle load_bundle(const std::string& dir, const ReadOptions& options) {
  LoadedBundle out;
  LoadingSink sink(&out);
  // The returned sidecar, not the sink's: a Rust bundle's data_digest is known only now.
  out.sidecar = read_bundle(dir, &sink, options);
  return out;
}

Sidecar stream_bundle(const std::string& dir, BundleSink* sink, const ReadOptions& options) {
  return read_bundle(dir, sink, options);
}

Verification verify_bundle(const std::string& dir, const ReadOptions& options) {
  Verification v;
  try {
    v.sidecar = verify_bundle_or_throw(dir, options);
    v.valid = true;
  } catch (const IoError& e) {
    // Only the directory and the sidecar can fail with ENOENT here: a missing data file is
    // reported as an IntegrityError above.
    v.missing = e.sys_errno() == ENOENT;
    v.reason = e.what();
  } catch (const BundleError& e) {
    v.reason = e.what();
  }
  return v;
}

std::string verification_json(const Sidecar& s) {
  std::string text = sidecar_to_json(s);
  const bool rust = s.scheme == WitnessScheme::kRustV1;
  std::string extra = ",\"valid\":true,\"witness_scheme\":\"";
  extra += rust ? "ruvector-rust-v1" : kWitnessDomain;
  extra += rust ? "\",\"data_authenticated\":false" : "\",\"data_authenticated\":true";
  // Computed by this reader, not read from the sidecar: the other half of the cache key.
  if (rust) extra += ",\"data_digest\":\"" + to_hex(s.data_digest) + "\"";
  return text.substr(0, text.rfind('}')) + extra + "}";
}

}  // namespace ruvector::bundle
