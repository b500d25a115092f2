#include "server/auth.h"

#include "core/base/sha256.h"

namespace wave {

absl::Status CheckAuthorization(const std::optional<std::string>& authorization,
                                const std::string& token) {
  if (token.empty()) return absl::OkStatus();
  if (!authorization) return absl::UnauthenticatedError("authorization: missing bearer token");
  if (!SecretsEqual(*authorization, "Bearer " + token)) {
    return absl::UnauthenticatedError("authorization: invalid bearer token");
  }
  return absl::OkStatus();
}

absl::Status CheckToken(const grpc::CallbackServerContext& context, const std::string& token) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("authorization");
  if (it == metadata.end()) return CheckAuthorization(std::nullopt, token);
  return CheckAuthorization(std::string(it->second.data(), it->second.size()), token);
}

}  // namespace wave
