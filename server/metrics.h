// Prometheus metrics (prometheus-cpp registry) on their own HTTP port, in
// base units.
#ifndef WAVE_SERVER_METRICS_H_
#define WAVE_SERVER_METRICS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace wave {

class Metrics {
 public:
  // port 0: metrics are kept but not served. bind_address is unused: the
  // endpoint listens on all interfaces, as a scraper in the cluster needs.
  static absl::StatusOr<std::unique_ptr<Metrics>> Create(const std::string& bind_address,
                                                         int port);
  ~Metrics();

  void RecordRequest(const std::string& method, const std::string& code, double seconds);
  void AddFitSteps(int64_t steps);
  void AddStreamedBytes(int64_t bytes);
  void SetFits(int running, int waiting);
  void SetBank(const std::string& name, const std::string& version, const std::string& sha256);
  void RecordReload(bool ok);

 private:
  struct Impl;
  explicit Metrics(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace wave

#endif  // WAVE_SERVER_METRICS_H_
