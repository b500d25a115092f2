// The one home of conversions between the API's messages and core's types
// that more than one server unit needs.
#ifndef WAVE_SERVER_PROTO_CONVERT_H_
#define WAVE_SERVER_PROTO_CONVERT_H_

#include "core/base/vit_config.h"
#include "core/init/initialize.h"
#include "wave/v1/wave.pb.h"

namespace wave {

// depth, width, heads, classes.
void ToProto(const ViTConfig& config, v1::TargetArchitecture* out);
// Every option a client can set, each field set: the resolved request that a
// result's cache key is made of. Its inverse is ApplyFitHeader
// (server/request_builder.h), which also applies the server's defaults to
// unset fields; a test round-trips every field through both.
void ToProto(const FitOptions& fit, v1::FitOptions* out);

}  // namespace wave

#endif  // WAVE_SERVER_PROTO_CONVERT_H_
