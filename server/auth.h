// Bearer-token check on the `authorization` metadata.
#ifndef WAVE_SERVER_AUTH_H_
#define WAVE_SERVER_AUTH_H_

#include <grpcpp/server_context.h>

#include <optional>
#include <string>

#include "absl/status/status.h"

namespace wave {

// OK when `token` is empty (auth off) or the call carries
// "authorization: Bearer <token>"; UNAUTHENTICATED otherwise. Constant time.
absl::Status CheckToken(const grpc::CallbackServerContext& context, const std::string& token);
// The same check on the value of the `authorization` header (nullopt when
// the call has none).
absl::Status CheckAuthorization(const std::optional<std::string>& authorization,
                                const std::string& token);

}  // namespace wave

#endif  // WAVE_SERVER_AUTH_H_
