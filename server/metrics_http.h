// The HTTP endpoint for Prometheus: GET /metrics (and / or /healthz) served
// by GNU libmicrohttpd from Debian, on its own polling thread with epoll, so
// that idle or slow connections never delay a scrape and requests split
// across TCP segments are read whole. prometheus-cpp's own exposer
// (civetweb) failed to start in a process that has loaded Debian's LibTorch;
// libmicrohttpd starts after LibTorch has set its threads (the server does
// it in that order on purpose, and the end-to-end tests exercise it).
#ifndef WAVE_SERVER_METRICS_HTTP_H_
#define WAVE_SERVER_METRICS_HTTP_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

struct MHD_Daemon;

namespace wave {

struct MetricsHttpOptions {
  std::string address = "0.0.0.0:9090";  // host:port; [v6]:port for IPv6
  unsigned connection_timeout_s = 10;    // an idle connection is closed after this
  unsigned max_connections = 64;         // more are refused at accept
};

class MetricsHttpServer {
 public:
  // Binds, listens and serves; `render` produces the /metrics body (called
  // on the server's thread, one request at a time).
  static absl::StatusOr<std::unique_ptr<MetricsHttpServer>> Start(
      const MetricsHttpOptions& options, std::function<std::string()> render);
  ~MetricsHttpServer();

  int port() const { return port_; }  // the bound port (useful with port 0)

 private:
  explicit MetricsHttpServer(std::function<std::string()> render) : render_(std::move(render)) {}
  std::function<std::string()> render_;
  MHD_Daemon* daemon_ = nullptr;
  int port_ = 0;
};

}  // namespace wave

#endif  // WAVE_SERVER_METRICS_HTTP_H_
