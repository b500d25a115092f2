// The client's channel: address, TLS, bearer token and deadline.
#ifndef WAVE_CLIENT_CONNECTION_H_
#define WAVE_CLIENT_CONNECTION_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace wave {

struct ConnectionOptions {
  std::string server = "localhost:50051";
  std::string lb_policy;  // "round_robin", or "" for gRPC's default (pick_first)
  std::string token;  // sent as "authorization: Bearer <token>"
  std::string tls_ca, tls_cert, tls_key;
  bool tls = false;
  double deadline_s = 0;  // 0: none
  int64_t max_message_bytes = 8 << 20;
};

absl::StatusOr<std::shared_ptr<grpc::Channel>> Connect(const ConnectionOptions& options);
// Adds the token and the deadline to a call.
void Prepare(const ConnectionOptions& options, grpc::ClientContext* context);
// "<message> (<CODE_NAME>)", how the client reports a failed call.
std::string DescribeStatus(const grpc::Status& status);

}  // namespace wave

#endif  // WAVE_CLIENT_CONNECTION_H_
