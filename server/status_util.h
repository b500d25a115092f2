// The single conversion from absl::Status to grpc::Status at the boundary.
#ifndef WAVE_SERVER_STATUS_UTIL_H_
#define WAVE_SERVER_STATUS_UTIL_H_

#include <grpcpp/support/status.h>

#include <string>

#include "absl/status/status.h"

namespace wave {

grpc::Status ToGrpcStatus(const absl::Status& status);
std::string GrpcCodeName(grpc::StatusCode code);

}  // namespace wave

#endif  // WAVE_SERVER_STATUS_UTIL_H_
