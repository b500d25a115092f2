// Who a call comes from: the bearer-token check on the `authorization`
// metadata, and the client identity that per-client bounds count against.
#ifndef WAVE_SERVER_AUTH_H_
#define WAVE_SERVER_AUTH_H_

#include <grpcpp/server_context.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace wave {

// The tokens of a token file: one per line; blank lines and lines starting
// with '#' are skipped. INVALID_ARGUMENT when it holds none.
absl::StatusOr<std::vector<std::string>> ParseTokens(absl::string_view text,
                                                     absl::string_view path);

// The call's client identity, or UNAUTHENTICATED. With tokens on (`tokens`
// not empty) the call must carry "authorization: Bearer <one of them>"
// (compared in constant time) and its identity is that token's number
// ("token 2"): clients behind one proxy or NAT share an address but not a
// token. With tokens off it is the peer's address without its port
// ("ipv4:10.0.0.7", "ipv6:[::1]").
absl::StatusOr<std::string> Authenticate(const std::optional<std::string>& authorization,
                                         const std::vector<std::string>& tokens,
                                         absl::string_view peer);
absl::StatusOr<std::string> Authenticate(const grpc::CallbackServerContext& context,
                                         const std::vector<std::string>& tokens);

// gRPC's peer string without the port: "ipv4:1.2.3.4:5678" -> "ipv4:1.2.3.4".
std::string PeerHost(absl::string_view peer);

}  // namespace wave

#endif  // WAVE_SERVER_AUTH_H_
