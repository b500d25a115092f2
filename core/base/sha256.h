// SHA-256 digests (OpenSSL), in hex. No LibTorch.
#ifndef WAVE_CORE_BASE_SHA256_H_
#define WAVE_CORE_BASE_SHA256_H_

#include <cstddef>
#include <deque>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

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

// A SHA-256 computed on a thread of its own from the pieces handed to it, so
// that whoever receives the bytes goes on receiving while they are hashed.
// At most `max_queued_bytes` wait at once (Update blocks past that; a single
// piece larger than the bound is taken alone).
//
// Thread safety: Update and HexDigest are for one thread, the owner's; the
// hashing thread only takes what they queue.
class BackgroundSha256 {
 public:
  static constexpr size_t kDefaultMaxQueuedBytes = 32 << 20;
  explicit BackgroundSha256(size_t max_queued_bytes = kDefaultMaxQueuedBytes);
  ~BackgroundSha256();  // stops the thread, dropping what is still queued
  BackgroundSha256(const BackgroundSha256&) = delete;
  BackgroundSha256& operator=(const BackgroundSha256&) = delete;

  void Update(std::string bytes);
  // Waits for every queued piece, then finishes the digest. Once.
  std::string HexDigest();

 private:
  void Run();
  bool HasWorkOrDone() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool HasRoom() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool Drained() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const size_t max_queued_bytes_;
  Sha256 hash_;  // only the hashing thread touches it until it has ended
  absl::Mutex mu_;
  std::deque<std::string> queue_ ABSL_GUARDED_BY(mu_);
  size_t queued_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  bool hashing_ ABSL_GUARDED_BY(mu_) = false;  // a piece taken off the queue, not yet hashed
  bool done_ ABSL_GUARDED_BY(mu_) = false;     // no more pieces: the thread ends
  std::thread thread_;
};

std::string Sha256Hex(absl::string_view bytes);

// Constant-time comparison of two secrets (CRYPTO_memcmp).
bool SecretsEqual(absl::string_view a, absl::string_view b);

}  // namespace wave

#endif  // WAVE_CORE_BASE_SHA256_H_
