#include "server/auth.h"

#include "core/base/sha256.h"

namespace wave {

absl::Status CheckToken(const grpc::CallbackServerContext& context, const std::string& token) {
  if (token.empty()) return absl::OkStatus();
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("authorization");
  if (it == metadata.end()) {
    return absl::UnauthenticatedError("authorization: missing bearer token");
  }
  const std::string value(it->second.data(), it->second.size());
  const std::string expected = "Bearer " + token;
  if (!SecretsEqual(value, expected)) {
    return absl::UnauthenticatedError("authorization: invalid bearer token");
  }
  return absl::OkStatus();
}

}  // namespace wave
