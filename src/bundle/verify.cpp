// See verify.h.
#include "bundle/verify.h"

#include <cerrno>

#include "bundle/errors.h"
#include "bundle/file_io.h"
#include "bundle/hex.h"
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

Sidecar read_bundle(const std::string& dir, BundleSink* sink, const ReadOptions& options) {
  UniqueFd dir_fd = open_directory(dir);
  std::string text = read_sidecar_text(dir_fd.get(), dir);
  for (int attempt = 1;; attempt++) {
    Sidecar s = parse_checked_sidecar(text, dir);
    if (options.before_data_open != nullptr) options.before_data_open(dir);
    std::string label = dir + "/" + s.data_ref;
    UniqueFd data_fd;
    try {
      data_fd = open_file_in(dir_fd.get(), s.data_ref, label);
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
    VectorsScan scan = scan_vectors_file(data_fd.get(), label, sink);
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

Sidecar read_sidecar_checked(const std::string& dir) {
  UniqueFd dir_fd = open_directory(dir);
  return parse_checked_sidecar(read_sidecar_text(dir_fd.get(), dir), dir);
}

Sidecar verify_bundle_or_throw(const std::string& dir, const ReadOptions& options) {
  return read_bundle(dir, nullptr, options);
}

LoadedBundle load_bundle(const std::string& dir, const ReadOptions& options) {
  LoadedBundle out;
  LoadingSink sink(&out);
  read_bundle(dir, &sink, options);
  return out;
}

Sidecar stream_bundle(const std::string& dir, BundleSink* sink, const ReadOptions& options) {
  return read_bundle(dir, sink, options);
}

Verification verify_bundle(const std::string& dir) {
  Verification v;
  try {
    v.sidecar = verify_bundle_or_throw(dir);
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

}  // namespace ruvector::bundle
