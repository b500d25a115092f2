// Results of finished fits, kept so that the same request again, or a
// download that broke, is served without fitting (docs/DESIGN.md, "The
// result cache"). An entry is what cannot be recomputed cheaply: the fitted
// scalers and head (composition takes milliseconds) and the fit's figures.
// Bounded in memory by bytes, least recently used out; optionally kept in a
// directory too, bounded by its own byte limit, so a restart keeps it.
// Entries on disk are written atomically and checksummed; one that fails
// its check is deleted and counts as absent, never served.
//
// Identical requests at once fit once: the first leads, the others wait for
// its entry (or take the lead when it fails).
//
// Thread-safe: every method may be called from any thread (fit workers look
// up and complete, gRPC's threads resume); the disk is read and written
// outside the lock.
#ifndef WAVE_SERVER_RESULT_CACHE_H_
#define WAVE_SERVER_RESULT_CACHE_H_

#include <functional>
#include <list>
#include <map>
#include <optional>
#include <memory>
#include <set>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/init/initialize.h"
#include "core/model/tensor_io.h"
#include "server/metrics.h"
#include "server/options.h"
#include "wave/v1/wave.pb.h"

namespace wave {

struct CachedFit {
  std::string key;
  std::string bank_sha256;  // the bank the fit used; a reloaded bank invalidates it
  // Resolved: the bank's name, the target with its heads, every fit option
  // set, the output options without chunk size, no samples.
  v1::InitializeHeader header;
  TensorMap scalers, head;  // CPU float32
  v1::Summary summary;      // the fit's figures, without digests, seconds or cache fields
  // The checked target and fit options, as core types, when this process made
  // the entry: a hit recomposes from them directly. An entry read from the
  // directory has only `header`, which is checked again on its first use.
  std::optional<ViTConfig> target;
  std::optional<FitOptions> fit;

  // What the entry holds in memory: tensors, messages, and a fixed allowance
  // for the rest (strings, the optional core types, the list node).
  int64_t Bytes() const;
  static constexpr int64_t kEntryOverheadBytes = 512;
};

class ResultCache {
 public:
  // Indexes `options.dir` (created when missing); entries are read from it
  // on demand.
  static absl::StatusOr<std::unique_ptr<ResultCache>> Create(CacheOptions options,
                                                             Metrics* metrics = nullptr);

  // The key of a request: a sha256 over everything that determines the
  // output. `context` names what is not in the header (version, device,
  // threads).
  static std::string Key(const std::string& context, const std::string& bank_sha256,
                         const v1::InitializeHeader& resolved, const std::string& data_sha256);

  bool enabled() const { return options_.max_bytes > 0; }

  // The entry, from memory or else from the directory; nullptr when absent.
  std::shared_ptr<const CachedFit> Find(const std::string& key);

  // The lead of an identical fit: its holder fits and calls Complete; if it
  // never does (the fit failed), the next waiter leads.
  class Lead {
   public:
    Lead(ResultCache* cache, std::string key) : cache_(cache), key_(std::move(key)) {}
    ~Lead();
    Lead(const Lead&) = delete;
    Lead& operator=(const Lead&) = delete;
    void Complete(std::shared_ptr<const CachedFit> fit);

   private:
    ResultCache* cache_;
    std::string key_;
    bool done_ = false;
  };
  struct Lookup {
    std::shared_ptr<const CachedFit> hit;
    std::unique_ptr<Lead> lead;  // set when `hit` is not
  };
  // A hit, or the lead. While an identical fit runs elsewhere it waits,
  // calling `check` about every 100 ms and returning its error.
  absl::StatusOr<Lookup> FindOrLead(const std::string& key,
                                    const std::function<absl::Status()>& check);

  int64_t bytes() const;

 private:
  ResultCache(CacheOptions options, Metrics* metrics)
      : options_(std::move(options)), metrics_(metrics) {}
  absl::Status IndexDir();
  void Insert(std::shared_ptr<const CachedFit> fit);
  void EndFlight(const std::string& key);
  std::shared_ptr<const CachedFit> FindInMemoryLocked(const std::string& key)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::shared_ptr<const CachedFit> ReadFromDir(const std::string& key);
  void InsertInMemoryLocked(std::shared_ptr<const CachedFit> fit)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void WriteToDir(const CachedFit& fit);
  void Count(const std::string& event);
  std::string PathOf(const std::string& key) const;

  const CacheOptions options_;
  Metrics* const metrics_;
  // How often a request waiting for an identical fit checks its own call.
  static constexpr absl::Duration kFlightCheckInterval = absl::Milliseconds(100);

  mutable absl::Mutex mu_;
  absl::CondVar flight_done_;
  std::set<std::string> in_flight_ ABSL_GUARDED_BY(mu_);
  // Memory: most recently used first.
  std::list<std::shared_ptr<const CachedFit>> lru_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::list<std::shared_ptr<const CachedFit>>::iterator> by_key_
      ABSL_GUARDED_BY(mu_);
  int64_t bytes_ ABSL_GUARDED_BY(mu_) = 0;
  // Directory: file sizes by key, least recently used first.
  std::list<std::pair<std::string, int64_t>> dir_lru_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::list<std::pair<std::string, int64_t>>::iterator> dir_by_key_
      ABSL_GUARDED_BY(mu_);
  int64_t dir_bytes_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace wave

#endif  // WAVE_SERVER_RESULT_CACHE_H_
