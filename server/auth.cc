#include "server/auth.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/base/sha256.h"

namespace wave {

absl::StatusOr<std::vector<std::string>> ParseTokens(absl::string_view text,
                                                     absl::string_view path) {
  std::vector<std::string> tokens;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || absl::StartsWith(line, "#")) continue;
    tokens.emplace_back(line);
  }
  if (tokens.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("token file '", path, "' holds no token"));
  }
  return tokens;
}

std::string PeerHost(absl::string_view peer) {
  if (!absl::StartsWith(peer, "ipv4:") && !absl::StartsWith(peer, "ipv6:")) {
    return std::string(peer);  // unix sockets and the like: no port
  }
  const size_t colon = peer.rfind(':');
  return std::string(colon > 4 ? peer.substr(0, colon) : peer);
}

absl::StatusOr<std::string> Authenticate(const std::optional<std::string>& authorization,
                                         const std::vector<std::string>& tokens,
                                         absl::string_view peer) {
  if (tokens.empty()) return PeerHost(peer);
  if (!authorization) return absl::UnauthenticatedError("authorization: missing bearer token");
  // Every token is compared, so the time taken does not say which one matched.
  int matched = 0;
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (SecretsEqual(*authorization, "Bearer " + tokens[i]) && matched == 0) {
      matched = static_cast<int>(i) + 1;
    }
  }
  if (matched == 0) return absl::UnauthenticatedError("authorization: invalid bearer token");
  return absl::StrCat("token ", matched);
}

absl::StatusOr<std::string> Authenticate(const grpc::CallbackServerContext& context,
                                         const std::vector<std::string>& tokens) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("authorization");
  std::optional<std::string> authorization;
  if (it != metadata.end()) authorization.emplace(it->second.data(), it->second.size());
  return Authenticate(authorization, tokens, context.peer());
}

}  // namespace wave
