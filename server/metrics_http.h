// A minimal HTTP/1.1 endpoint serving GET /metrics from a prometheus-cpp
// registry. prometheus-cpp's own Exposer (civetweb) fails to start in a
// process that has loaded Debian's LibTorch (measured: "null context when
// constructing CivetServer" right after a successful bind), so the server
// carries this small loop instead.
#ifndef WAVE_SERVER_METRICS_HTTP_H_
#define WAVE_SERVER_METRICS_HTTP_H_

#include <atomic>
#include <functional>
#include <string>
#include <thread>

#include "absl/status/statusor.h"

namespace wave {

class MetricsHttpServer {
 public:
  // Binds and listens on `port` (all interfaces); `render` produces the body.
  static absl::StatusOr<std::unique_ptr<MetricsHttpServer>> Start(
      int port, std::function<std::string()> render);
  ~MetricsHttpServer();

 private:
  MetricsHttpServer(int fd, std::function<std::string()> render);
  void Serve();

  int fd_;
  std::function<std::string()> render_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace wave

#endif  // WAVE_SERVER_METRICS_HTTP_H_
