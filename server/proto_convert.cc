#include "server/proto_convert.h"

namespace wave {

void ToProto(const ViTConfig& config, v1::TargetArchitecture* out) {
  out->set_depth(config.depth);
  out->set_width(config.width);
  out->set_heads(config.heads);
  out->set_classes(config.classes);
}

}  // namespace wave
