#include "server/proto_convert.h"

namespace wave {

void ToProto(const ViTConfig& config, v1::TargetArchitecture* out) {
  out->set_depth(config.depth);
  out->set_width(config.width);
  out->set_heads(config.heads);
  out->set_classes(config.classes);
}

void ToProto(const FitOptions& o, v1::FitOptions* out) {
  out->set_steps(o.steps);
  out->set_batch(o.batch);
  out->set_lr(o.lr);
  out->set_head_lr(o.head_lr);
  out->set_seed(o.seed);
  out->set_held_out(o.held_out);
  out->set_scaler_init(std::string(ScalerInitName(o.scaler_init)));
  out->set_auxiliary(std::string(AuxiliaryMixName(o.aux_mix)));
  out->set_head_from_bank(o.head_from_bank);
  out->set_eval_every(o.eval_every);
  out->set_patience(o.patience);
  out->set_head_steps(o.head_steps);
  out->set_max_passes(o.max_passes);
  out->set_tail_blocks(o.tail_blocks);
  out->set_head_refit_steps(o.head_refit_steps);
  out->set_precision(std::string(PrecisionName(o.precision)));
}

}  // namespace wave
