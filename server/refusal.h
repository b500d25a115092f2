// Refusals the server gives when a call asks for more than it may have, each
// tagged with why, so that clients and operators can act on it:
//   busy          the server is full now; the same call can succeed later.
//   client_share  this client holds its share already; it can succeed when
//                 the client's own calls end.
//   limit         the call can never be served by this server as it is
//                 configured; the message names the flag and what the client
//                 can change.
// busy and client_share are RESOURCE_EXHAUSTED (waiting helps); limit is
// FAILED_PRECONDITION (retrying the same call cannot help). The tag travels
// as a status payload and is read once, at the edge, for the metrics.
#ifndef WAVE_SERVER_REFUSAL_H_
#define WAVE_SERVER_REFUSAL_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace wave {

inline constexpr absl::string_view kRefusalBusy = "busy";
inline constexpr absl::string_view kRefusalClientShare = "client_share";
inline constexpr absl::string_view kRefusalLimit = "limit";

// RESOURCE_EXHAUSTED "server busy: <message>; retry later".
absl::Status BusyRefusal(absl::string_view message);
// RESOURCE_EXHAUSTED "<message>; retry when this client's other calls end".
absl::Status ClientShareRefusal(absl::string_view message);
// FAILED_PRECONDITION "<field>: <value> exceeds the server's limit of <limit>
// (<flag>); <remedy>".
absl::Status LimitRefusal(absl::string_view field, int64_t value, int64_t limit,
                          absl::string_view flag, absl::string_view remedy);

// The tag of a refusal made by the functions above; "" for any other status.
std::string RefusalReason(const absl::Status& status);

}  // namespace wave

#endif  // WAVE_SERVER_REFUSAL_H_
