#include "server/metrics_http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace wave {

absl::StatusOr<std::unique_ptr<MetricsHttpServer>> MetricsHttpServer::Start(
    int port, std::function<std::string()> render) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::UnavailableError(absl::StrCat("metrics: socket: ", strerror(errno)));
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(fd, 16) != 0) {
    std::string error = strerror(errno);
    close(fd);
    return absl::UnavailableError(absl::StrCat("metrics: cannot listen on port ", port, ": ",
                                               error));
  }
  return std::unique_ptr<MetricsHttpServer>(new MetricsHttpServer(fd, std::move(render)));
}

MetricsHttpServer::MetricsHttpServer(int fd, std::function<std::string()> render)
    : fd_(fd), render_(std::move(render)), thread_([this] { Serve(); }) {}

MetricsHttpServer::~MetricsHttpServer() {
  stop_ = true;
  thread_.join();
  close(fd_);
}

void MetricsHttpServer::Serve() {
  while (!stop_) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, 200) <= 0) continue;
    int client = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    // One short request per connection; a slow client gets one second.
    timeval tv{1, 0};
    setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    char buffer[2048];
    ssize_t n = recv(client, buffer, sizeof(buffer) - 1, 0);
    std::string request(buffer, n > 0 ? n : 0);
    std::string status = "200 OK", body, type = "text/plain; version=0.0.4";
    if (absl::StartsWith(request, "GET /metrics")) {
      body = render_();
    } else if (absl::StartsWith(request, "GET / ") || absl::StartsWith(request, "GET /healthz")) {
      body = "wave-server metrics: see /metrics\n";
    } else {
      status = "404 Not Found";
      body = "not found\n";
    }
    std::string response = absl::StrCat("HTTP/1.1 ", status, "\r\nContent-Type: ", type,
                                        "\r\nContent-Length: ", body.size(),
                                        "\r\nConnection: close\r\n\r\n", body);
    size_t sent = 0;
    while (sent < response.size()) {
      ssize_t k = send(client, response.data() + sent, response.size() - sent, MSG_NOSIGNAL);
      if (k <= 0) break;
      sent += k;
    }
    close(client);
  }
}

}  // namespace wave
