#include "server/metrics_http.h"

#include <microhttpd.h>
#include <netdb.h>
#include <sys/socket.h>

#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace wave {
namespace {

constexpr char kText[] = "text/plain; version=0.0.4";

MHD_Result Respond(MHD_Connection* connection, unsigned code, const std::string& body) {
  MHD_Response* response = MHD_create_response_from_buffer(
      body.size(), const_cast<char*>(body.data()), MHD_RESPMEM_MUST_COPY);
  if (response == nullptr) return MHD_NO;
  MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, kText);
  const MHD_Result queued = MHD_queue_response(connection, code, response);
  MHD_destroy_response(response);
  return queued;
}

// "host:port" or "[v6]:port" to a socket address.
absl::Status Resolve(const std::string& address, sockaddr_storage* out, socklen_t* length) {
  const size_t colon = address.rfind(':');
  int port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(address.substr(colon + 1), &port) ||
      port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("metrics address '", address, "' is not host:port"));
  }
  absl::string_view bracketed = absl::string_view(address).substr(0, colon);
  if (absl::ConsumePrefix(&bracketed, "[")) absl::ConsumeSuffix(&bracketed, "]");
  const std::string host(bracketed);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (int error =
          getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &found);
      error != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("metrics address '", address, "': ", gai_strerror(error)));
  }
  std::memcpy(out, found->ai_addr, found->ai_addrlen);
  *length = found->ai_addrlen;
  freeaddrinfo(found);
  return absl::OkStatus();
}

// libmicrohttpd calls this once a request's headers have all arrived.
MHD_Result HandleRequest(void* render, MHD_Connection* connection, const char* url,
                         const char* method, const char*, const char*, size_t* upload_data_size,
                         void**) {
  if (std::strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
      std::strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
    return Respond(connection, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET\n");
  }
  if (*upload_data_size != 0) return Respond(connection, MHD_HTTP_BAD_REQUEST, "no body\n");
  if (std::strcmp(url, "/metrics") == 0) {
    return Respond(connection, MHD_HTTP_OK,
                   (*static_cast<std::function<std::string()>*>(render))());
  }
  if (std::strcmp(url, "/") == 0 || std::strcmp(url, "/healthz") == 0) {
    return Respond(connection, MHD_HTTP_OK, "wave-server metrics: see /metrics\n");
  }
  return Respond(connection, MHD_HTTP_NOT_FOUND, "not found\n");
}

}  // namespace

absl::StatusOr<std::unique_ptr<MetricsHttpServer>> MetricsHttpServer::Start(
    const MetricsHttpOptions& options, std::function<std::string()> render) {
  sockaddr_storage address{};
  socklen_t length = 0;
  if (absl::Status status = Resolve(options.address, &address, &length); !status.ok()) {
    return status;
  }
  std::unique_ptr<MetricsHttpServer> server(new MetricsHttpServer(std::move(render)));
  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL;
  if (address.ss_family == AF_INET6) flags |= MHD_USE_IPv6;
  const uint16_t port =
      ntohs(address.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&address)->sin6_port
                                          : reinterpret_cast<sockaddr_in*>(&address)->sin_port);
  server->daemon_ =
      MHD_start_daemon(flags, port, nullptr, nullptr, &HandleRequest, &server->render_,
                       MHD_OPTION_SOCK_ADDR, reinterpret_cast<sockaddr*>(&address),
                       MHD_OPTION_CONNECTION_TIMEOUT, options.connection_timeout_s,
                       MHD_OPTION_CONNECTION_LIMIT, options.max_connections, MHD_OPTION_END);
  if (server->daemon_ == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("metrics: cannot listen on ", options.address, ": ", std::strerror(errno)));
  }
  const MHD_DaemonInfo* info = MHD_get_daemon_info(server->daemon_, MHD_DAEMON_INFO_BIND_PORT);
  server->port_ = info != nullptr ? info->port : port;
  return server;
}

MetricsHttpServer::~MetricsHttpServer() {
  if (daemon_ != nullptr) MHD_stop_daemon(daemon_);
}

}  // namespace wave
