// The one home of conversions between the API's messages and core's types
// that more than one server unit needs.
#ifndef WAVE_SERVER_PROTO_CONVERT_H_
#define WAVE_SERVER_PROTO_CONVERT_H_

#include "core/base/vit_config.h"
#include "wave/v1/wave.pb.h"

namespace wave {

// depth, width, heads, classes.
void ToProto(const ViTConfig& config, v1::TargetArchitecture* out);

}  // namespace wave

#endif  // WAVE_SERVER_PROTO_CONVERT_H_
