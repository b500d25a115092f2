#include "core/base/sha256.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>

#include "absl/strings/escaping.h"

namespace wave {

struct Sha256::State {
  EVP_MD_CTX* ctx = nullptr;
};

Sha256::Sha256() : state_(std::make_unique<State>()) {
  state_->ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(state_->ctx, EVP_sha256(), nullptr);
}

Sha256::~Sha256() { EVP_MD_CTX_free(state_->ctx); }

void Sha256::Update(absl::string_view bytes) {
  EVP_DigestUpdate(state_->ctx, bytes.data(), bytes.size());
}

std::string Sha256::HexDigest() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(state_->ctx, digest, &len);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), len));
}

BackgroundSha256::BackgroundSha256(size_t max_queued_bytes)
    : max_queued_bytes_(std::max<size_t>(1, max_queued_bytes)), thread_([this] { Run(); }) {}

BackgroundSha256::~BackgroundSha256() {
  {
    absl::MutexLock lock(&mu_);
    done_ = true;
    queue_.clear();
  }
  if (thread_.joinable()) thread_.join();
}

bool BackgroundSha256::HasWorkOrDone() const { return !queue_.empty() || done_; }
bool BackgroundSha256::HasRoom() const { return queued_bytes_ < max_queued_bytes_; }
bool BackgroundSha256::Drained() const { return queue_.empty() && !hashing_; }

void BackgroundSha256::Update(std::string bytes) {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(this, &BackgroundSha256::HasRoom));
  queued_bytes_ += bytes.size();
  queue_.push_back(std::move(bytes));
}

void BackgroundSha256::Run() {
  while (true) {
    std::string piece;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(this, &BackgroundSha256::HasWorkOrDone));
      if (queue_.empty()) return;  // done
      piece = std::move(queue_.front());
      queue_.pop_front();
      hashing_ = true;
    }
    hash_.Update(piece);
    absl::MutexLock lock(&mu_);
    queued_bytes_ -= piece.size();
    hashing_ = false;
  }
}

std::string BackgroundSha256::HexDigest() {
  {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(this, &BackgroundSha256::Drained));
    done_ = true;
  }
  thread_.join();
  return hash_.HexDigest();
}

std::string Sha256Hex(absl::string_view bytes) {
  Sha256 hash;
  hash.Update(bytes);
  return hash.HexDigest();
}

bool SecretsEqual(absl::string_view a, absl::string_view b) {
  // The length is not secret; the contents are compared in constant time.
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace wave
