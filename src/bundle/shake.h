// Incremental SHAKE-256 with a 32-byte output, through OpenSSL's EVP interface: the one hash
// of the bundle format (witness and data digest), streamed so files of any size fit.
#pragma once

#include <cstddef>

#include "bundle/sidecar.h"

typedef struct evp_md_ctx_st EVP_MD_CTX;

namespace ruvector::bundle {

class Shake256 {
 public:
  Shake256();
  ~Shake256();
  Shake256(const Shake256&) = delete;
  Shake256& operator=(const Shake256&) = delete;

  void update(const void* data, std::size_t size);
  // The first kDigestSize bytes of the XOF output; the object cannot be updated afterwards.
  Digest finish();

 private:
  EVP_MD_CTX* ctx_;
  bool finished_ = false;
};

}  // namespace ruvector::bundle
