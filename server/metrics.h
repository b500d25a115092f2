// Prometheus metrics (prometheus-cpp registry) on their own HTTP port, in
// base units.
//
// Thread-safe: every method may be called from any thread (prometheus-cpp's
// series are atomic; the bank series' map has its own lock).
#ifndef WAVE_SERVER_METRICS_H_
#define WAVE_SERVER_METRICS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace wave {

class Metrics {
 public:
  // address "": metrics are kept but not served; otherwise host:port.
  static absl::StatusOr<std::unique_ptr<Metrics>> Create(const std::string& address);
  ~Metrics();

  void RecordRequest(const std::string& method, const std::string& code, double seconds);
  void AddFitSteps(int64_t steps);
  void AddStreamedBytes(int64_t bytes);
  void SetFits(int running, int waiting);
  void SetBank(const std::string& name, const std::string& version, const std::string& sha256);
  void RecordReload(bool ok);
  // A call the server ended because its client was too slow (reason: header,
  // upload_idle, upload_total, write_stall, download_rate).
  void RecordExpiry(const std::string& reason);
  // A call refused for what it asked (server/refusal.h's reasons: busy,
  // client_share, limit); "" is no refusal and is not counted.
  void RecordRefusal(const std::string& reason);
  // What clients hold now of a bounded resource (upload_bytes,
  // download_bytes, uploading_calls, fit_places, watch_streams).
  void SetHeld(const std::string& resource, int64_t amount);
  // The result cache: an event (hit, miss, eviction, dir_eviction, corrupt)
  // and the bytes it holds in memory.
  void RecordCache(const std::string& event);
  void SetCachedBytes(int64_t bytes);
  int port() const;  // the endpoint's bound port; 0 when not served

 private:
  struct Impl;
  explicit Metrics(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace wave

#endif  // WAVE_SERVER_METRICS_H_
