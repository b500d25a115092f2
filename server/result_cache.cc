#include "server/result_cache.h"

#include <chrono>
#include <filesystem>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/base/sha256.h"
#include "core/base/status_macros.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"

namespace wave {
namespace {

namespace fs = std::filesystem;

constexpr char kSuffix[] = ".wcache";
constexpr char kScalerPrefix[] = "scalers/";
constexpr char kHeadPrefix[] = "head/";

// Protobuf's deterministic serialization: the same message, the same bytes
// (the key must not depend on field order in memory).
std::string Deterministic(const google::protobuf::MessageLite& message) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    message.SerializeToCodedStream(&coded);
  }
  return bytes;
}

int64_t TensorBytes(const TensorMap& tensors) {
  int64_t bytes = 0;
  for (const auto& [name, t] : tensors) bytes += t.numel() * t.element_size();
  return bytes;
}

// Over everything an entry file holds, in a fixed order.
std::string Checksum(const CachedFit& fit, const std::string& header, const std::string& summary) {
  Sha256 hash;
  for (const std::string& part : {fit.key, fit.bank_sha256, header, summary}) {
    hash.Update(absl::StrCat(part.size(), ":"));
    hash.Update(part);
  }
  for (const TensorMap* tensors : {&fit.scalers, &fit.head}) {
    for (const auto& [name, t] : *tensors) {
      const at::Tensor c = t.contiguous();
      hash.Update(name);
      hash.Update(
          absl::string_view(static_cast<const char*>(c.data_ptr()), c.numel() * c.element_size()));
    }
  }
  return hash.HexDigest();
}

bool IsKey(const std::string& name) {
  if (name.size() != 64) return false;
  for (char c : name) {
    if (!absl::ascii_isxdigit(c) || absl::ascii_isupper(c)) return false;
  }
  return true;
}

}  // namespace

int64_t CachedFit::Bytes() const {
  return TensorBytes(scalers) + TensorBytes(head) + static_cast<int64_t>(header.ByteSizeLong()) +
         static_cast<int64_t>(summary.ByteSizeLong()) + static_cast<int64_t>(key.size()) +
         kEntryOverheadBytes;
}

absl::StatusOr<std::unique_ptr<ResultCache>> ResultCache::Create(CacheOptions options,
                                                                 Metrics* metrics) {
  if (options.max_bytes < 0 || options.max_dir_bytes < 0) {
    return absl::InvalidArgumentError("cache sizes must be >= 0");
  }
  std::unique_ptr<ResultCache> cache(new ResultCache(std::move(options), metrics));
  if (cache->enabled() && !cache->options_.dir.empty()) RETURN_IF_ERROR(cache->IndexDir());
  return cache;
}

std::string ResultCache::Key(const std::string& context, const std::string& bank_sha256,
                             const v1::InitializeHeader& resolved, const std::string& data_sha256) {
  Sha256 hash;
  for (const std::string& part : {std::string("wave-init result v1"), context, bank_sha256,
                                  Deterministic(resolved), data_sha256}) {
    hash.Update(absl::StrCat(part.size(), ":"));
    hash.Update(part);
  }
  return hash.HexDigest();
}

std::string ResultCache::PathOf(const std::string& key) const {
  return (fs::path(options_.dir) / (key + kSuffix)).string();
}

// Oldest modification first, so that eviction from the directory takes the
// entries used least recently before the restart.
absl::Status ResultCache::IndexDir() {
  std::error_code error;
  fs::create_directories(options_.dir, error);
  if (error) {
    return absl::FailedPreconditionError(
        absl::StrCat("--cache_dir ", options_.dir, ": ", error.message()));
  }
  std::vector<std::pair<fs::file_time_type, std::pair<std::string, int64_t>>> found;
  for (const auto& entry : fs::directory_iterator(options_.dir, error)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_regular_file() || !absl::EndsWith(name, kSuffix)) continue;
    const std::string key = name.substr(0, name.size() - strlen(kSuffix));
    if (!IsKey(key)) continue;
    found.push_back({entry.last_write_time(), {key, static_cast<int64_t>(entry.file_size())}});
  }
  if (error) {
    return absl::FailedPreconditionError(
        absl::StrCat("--cache_dir ", options_.dir, ": ", error.message()));
  }
  std::sort(found.begin(), found.end());
  absl::MutexLock lock(&mu_);  // not shared yet; the lock states what guards the index
  for (const auto& [time, item] : found) {
    dir_lru_.push_front(item);
    dir_by_key_[item.first] = dir_lru_.begin();
    dir_bytes_ += item.second;
  }
  return absl::OkStatus();
}

void ResultCache::Count(const std::string& event) {
  if (metrics_ != nullptr) metrics_->RecordCache(event);
}

std::shared_ptr<const CachedFit> ResultCache::Find(const std::string& key) {
  if (!enabled()) return nullptr;
  {
    absl::MutexLock lock(&mu_);
    if (auto fit = FindInMemoryLocked(key)) return fit;
  }
  return ReadFromDir(key);
}

std::shared_ptr<const CachedFit> ResultCache::FindInMemoryLocked(const std::string& key) {
  auto it = by_key_.find(key);
  if (it == by_key_.end()) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second);
  return *it->second;
}

std::shared_ptr<const CachedFit> ResultCache::ReadFromDir(const std::string& key) {
  if (options_.dir.empty() || !IsKey(key)) return nullptr;
  {
    absl::MutexLock lock(&mu_);
    auto it = dir_by_key_.find(key);
    if (it != dir_by_key_.end()) {
      dir_lru_.splice(dir_lru_.begin(), dir_lru_, it->second);
    } else {
      // Written since the index was made: by another replica on a shared volume.
      std::error_code error;
      const auto size = fs::file_size(PathOf(key), error);
      if (error) return nullptr;
      dir_lru_.push_front({key, static_cast<int64_t>(size)});
      dir_by_key_[key] = dir_lru_.begin();
      dir_bytes_ += static_cast<int64_t>(size);
    }
  }
  auto discard = [&](const std::string& why) -> std::shared_ptr<const CachedFit> {
    std::fprintf(stderr, "wave-server: cache entry %s discarded: %s\n", key.c_str(), why.c_str());
    Count("corrupt");
    absl::MutexLock lock(&mu_);
    auto it = dir_by_key_.find(key);
    if (it != dir_by_key_.end()) {
      dir_bytes_ -= it->second->second;
      dir_lru_.erase(it->second);
      dir_by_key_.erase(it);
    }
    std::error_code ignored;
    fs::remove(PathOf(key), ignored);
    return nullptr;
  };
  absl::StatusOr<SafetensorsFile> file = SafetensorsFile::ReadFile(PathOf(key));
  if (!file.ok()) return discard(std::string(file.status().message()));
  absl::StatusOr<TensorMap> tensors = ReadTensors(*file);
  if (!tensors.ok()) return discard(std::string(tensors.status().message()));
  auto fit = std::make_shared<CachedFit>();
  fit->key = key;
  const auto& meta = file->metadata();
  auto get = [&](const char* name) {
    auto it = meta.find(name);
    return it == meta.end() ? std::string() : it->second;
  };
  std::string header, summary;
  fit->bank_sha256 = get("bank_sha256");
  if (get("key") != key || !absl::Base64Unescape(get("header"), &header) ||
      !absl::Base64Unescape(get("summary"), &summary) || !fit->header.ParseFromString(header) ||
      !fit->summary.ParseFromString(summary)) {
    return discard("metadata unreadable");
  }
  for (auto& [name, t] : *tensors) {
    if (absl::StartsWith(name, kScalerPrefix)) {
      fit->scalers[name.substr(strlen(kScalerPrefix))] = std::move(t);
    } else if (absl::StartsWith(name, kHeadPrefix)) {
      fit->head[name.substr(strlen(kHeadPrefix))] = std::move(t);
    }
  }
  if (fit->scalers.empty() || Checksum(*fit, header, summary) != get("checksum")) {
    return discard("checksum mismatch");
  }
  absl::MutexLock lock(&mu_);
  InsertInMemoryLocked(fit);
  return fit;
}

void ResultCache::WriteToDir(const CachedFit& fit) {
  const std::string header = fit.header.SerializeAsString();
  const std::string summary = fit.summary.SerializeAsString();
  TensorMap tensors;
  for (const auto& [name, t] : fit.scalers) tensors[kScalerPrefix + name] = t;
  for (const auto& [name, t] : fit.head) tensors[kHeadPrefix + name] = t;
  const std::map<std::string, std::string> metadata = {
      {"key", fit.key},
      {"bank_sha256", fit.bank_sha256},
      {"header", absl::Base64Escape(header)},
      {"summary", absl::Base64Escape(summary)},
      {"checksum", Checksum(fit, header, summary)}};
  const std::string path = PathOf(fit.key);
  if (absl::Status s = WriteTensors(path, tensors, metadata); !s.ok()) {
    std::fprintf(stderr, "wave-server: cache entry not written: %s\n",
                 std::string(s.message()).c_str());
    return;
  }
  std::error_code error;
  const int64_t size = static_cast<int64_t>(fs::file_size(path, error));
  if (error) return;
  std::vector<std::string> evicted;
  {
    absl::MutexLock lock(&mu_);
    if (auto it = dir_by_key_.find(fit.key); it != dir_by_key_.end()) {
      dir_bytes_ -= it->second->second;
      dir_lru_.erase(it->second);
    }
    dir_lru_.push_front({fit.key, size});
    dir_by_key_[fit.key] = dir_lru_.begin();
    dir_bytes_ += size;
    while (dir_bytes_ > options_.max_dir_bytes && !dir_lru_.empty()) {
      evicted.push_back(dir_lru_.back().first);
      dir_bytes_ -= dir_lru_.back().second;
      dir_by_key_.erase(dir_lru_.back().first);
      dir_lru_.pop_back();
    }
  }
  for (const std::string& key : evicted) {
    fs::remove(PathOf(key), error);
    Count("dir_eviction");
  }
}

void ResultCache::InsertInMemoryLocked(std::shared_ptr<const CachedFit> fit) {
  // One entry larger than the whole cache would only empty it.
  if (by_key_.count(fit->key) || fit->Bytes() > options_.max_bytes) return;
  bytes_ += fit->Bytes();
  lru_.push_front(std::move(fit));
  by_key_[lru_.front()->key] = lru_.begin();
  while (bytes_ > options_.max_bytes && !lru_.empty()) {
    bytes_ -= lru_.back()->Bytes();
    by_key_.erase(lru_.back()->key);
    lru_.pop_back();
    Count("eviction");
  }
  if (metrics_ != nullptr) metrics_->SetCachedBytes(bytes_);
}

void ResultCache::Insert(std::shared_ptr<const CachedFit> fit) {
  if (!enabled()) return;
  if (!options_.dir.empty()) WriteToDir(*fit);
  absl::MutexLock lock(&mu_);
  InsertInMemoryLocked(std::move(fit));
}

absl::StatusOr<ResultCache::Lookup> ResultCache::FindOrLead(
    const std::string& key, const std::function<absl::Status()>& check) {
  Lookup lookup;
  if (!enabled()) {
    lookup.lead = std::make_unique<Lead>(nullptr, key);
    return lookup;
  }
  while (true) {
    if ((lookup.hit = Find(key))) {
      Count("hit");
      return lookup;
    }
    {
      absl::MutexLock lock(&mu_);
      if ((lookup.hit = FindInMemoryLocked(key))) {  // the lead completed meanwhile
        Count("hit");
        return lookup;
      }
      if (!in_flight_.count(key)) {
        in_flight_.insert(key);
        Count("miss");
        lookup.lead = std::make_unique<Lead>(this, key);
        return lookup;
      }
      flight_done_.WaitWithTimeout(&mu_, kFlightCheckInterval);
    }
    if (check) RETURN_IF_ERROR(check());
  }
}

void ResultCache::EndFlight(const std::string& key) {
  absl::MutexLock lock(&mu_);
  in_flight_.erase(key);
  flight_done_.SignalAll();
}

ResultCache::Lead::~Lead() {
  if (cache_ != nullptr && !done_) cache_->EndFlight(key_);
}

void ResultCache::Lead::Complete(std::shared_ptr<const CachedFit> fit) {
  if (cache_ == nullptr || done_) return;
  cache_->Insert(std::move(fit));
  done_ = true;
  cache_->EndFlight(key_);
}

int64_t ResultCache::bytes() const {
  absl::MutexLock lock(&mu_);
  return bytes_;
}

}  // namespace wave
