#include "server/refusal.h"

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"

namespace wave {
namespace {

constexpr absl::string_view kReasonPayload = "type.wave-init/refusal";

absl::Status Tagged(absl::Status status, absl::string_view reason) {
  status.SetPayload(kReasonPayload, absl::Cord(reason));
  return status;
}

}  // namespace

absl::Status BusyRefusal(absl::string_view message) {
  return Tagged(absl::ResourceExhaustedError(absl::StrCat("server busy: ", message, "; retry later")),
                kRefusalBusy);
}

absl::Status ClientShareRefusal(absl::string_view message) {
  return Tagged(absl::ResourceExhaustedError(
                    absl::StrCat(message, "; retry when this client's other calls end")),
                kRefusalClientShare);
}

absl::Status LimitRefusal(absl::string_view field, int64_t value, int64_t limit,
                          absl::string_view flag, absl::string_view remedy) {
  return Tagged(absl::FailedPreconditionError(
                    absl::StrCat(field, ": ", value, " exceeds the server's limit of ", limit,
                                 " (", flag, "); ", remedy)),
                kRefusalLimit);
}

std::string RefusalReason(const absl::Status& status) {
  auto payload = status.GetPayload(kReasonPayload);
  return payload ? std::string(*payload) : std::string();
}

}  // namespace wave
