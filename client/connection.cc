#include "client/connection.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "core/base/file_util.h"
#include "core/base/status_macros.h"

namespace wave {

absl::StatusOr<std::shared_ptr<grpc::Channel>> Connect(const ConnectionOptions& o) {
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  if (o.tls || !o.tls_ca.empty() || !o.tls_cert.empty()) {
    grpc::SslCredentialsOptions ssl;
    if (!o.tls_ca.empty()) {
      ASSIGN_OR_RETURN(ssl.pem_root_certs, ReadFileToString(o.tls_ca));
    }
    if (!o.tls_cert.empty()) {
      ASSIGN_OR_RETURN(ssl.pem_cert_chain, ReadFileToString(o.tls_cert));
      ASSIGN_OR_RETURN(ssl.pem_private_key, ReadFileToString(o.tls_key));
    }
    credentials = grpc::SslCredentials(ssl);
  }
  grpc::ChannelArguments args;
  if (!o.lb_policy.empty()) {
    if (o.lb_policy != "round_robin" && o.lb_policy != "pick_first") {
      return absl::InvalidArgumentError(absl::StrCat(
          "--lb_policy must be round_robin or pick_first, not '", o.lb_policy, "'"));
    }
    args.SetLoadBalancingPolicyName(o.lb_policy);
  }
  args.SetMaxReceiveMessageSize(static_cast<int>(o.max_message_bytes));
  args.SetMaxSendMessageSize(static_cast<int>(o.max_message_bytes));
  return grpc::CreateCustomChannel(o.server, credentials, args);
}

void Prepare(const ConnectionOptions& o, grpc::ClientContext* context) {
  if (!o.token.empty()) context->AddMetadata("authorization", "Bearer " + o.token);
  if (o.deadline_s > 0) {
    context->set_deadline(std::chrono::system_clock::now() +
                          std::chrono::milliseconds(static_cast<int64_t>(o.deadline_s * 1000)));
  }
}

std::string DescribeStatus(const grpc::Status& status) {
  // gRPC's codes are Abseil's canonical codes, number for number.
  return absl::StrCat(status.error_message(), " (",
                      absl::StatusCodeToString(static_cast<absl::StatusCode>(status.error_code())),
                      ")");
}

}  // namespace wave
