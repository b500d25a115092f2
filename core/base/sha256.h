// SHA-256 digests (OpenSSL), in hex. No LibTorch.
#ifndef WAVE_CORE_BASE_SHA256_H_
#define WAVE_CORE_BASE_SHA256_H_

#include <memory>
#include <string>

#include "absl/strings/string_view.h"

namespace wave {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Update(absl::string_view bytes);
  std::string HexDigest();  // finishes the digest

 private:
  struct State;
  std::unique_ptr<State> state_;
};

std::string Sha256Hex(absl::string_view bytes);

// Constant-time comparison of two secrets (CRYPTO_memcmp).
bool SecretsEqual(absl::string_view a, absl::string_view b);

}  // namespace wave

#endif  // WAVE_CORE_BASE_SHA256_H_
