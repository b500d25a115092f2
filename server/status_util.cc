#include "server/status_util.h"

#include <string>

namespace wave {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  // absl and gRPC share the canonical code numbers.
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

std::string GrpcCodeName(grpc::StatusCode code) {
  // gRPC's code names are absl's canonical ones.
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

}  // namespace wave
