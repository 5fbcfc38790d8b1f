// See shake.h.
#include "bundle/shake.h"

#include <openssl/evp.h>

#include "util/error.h"

namespace ruvector::bundle {

Shake256::Shake256() : ctx_(EVP_MD_CTX_new()) {
  if (ctx_ == nullptr || EVP_DigestInit_ex(ctx_, EVP_shake256(), nullptr) != 1) {
    EVP_MD_CTX_free(ctx_);
    fail(ErrorKind::kResourceLimit, "OpenSSL could not start a SHAKE-256 digest");
  }
}

Shake256::~Shake256() { EVP_MD_CTX_free(ctx_); }

void Shake256::update(const void* data, std::size_t size) {
  if (finished_) fail(ErrorKind::kInternal, "SHAKE-256 updated after finish");
  if (size > 0 && EVP_DigestUpdate(ctx_, data, size) != 1)
    fail(ErrorKind::kInternal, "OpenSSL SHAKE-256 update failed");
}

Digest Shake256::finish() {
  if (finished_) fail(ErrorKind::kInternal, "SHAKE-256 finished twice");
  finished_ = true;
  Digest out{};
  if (EVP_DigestFinalXOF(ctx_, out.data(), out.size()) != 1)
    fail(ErrorKind::kInternal, "OpenSSL SHAKE-256 finalization failed");
  return out;
}

}  // namespace ruvector::bundle
