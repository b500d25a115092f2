#include "core/bank/scaler_init.h"

#include <c10/core/GradMode.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "core/base/kinds.h"
#include "core/base/status_macros.h"

namespace wave {

absl::StatusOr<ScalerInit> ParseScalerInit(const std::string& name) {
  if (name == "structured" || name.empty()) return ScalerInit::kStructured;
  if (name == "naive") return ScalerInit::kNaive;
  if (name == "select") return ScalerInit::kSelect;
  return absl::InvalidArgumentError(
      absl::StrCat("scaler_init: must be 'structured', 'naive' or 'select', got '", name, "'"));
}

const char* ScalerInitName(ScalerInit scheme) {
  switch (scheme) {
    case ScalerInit::kNaive:
      return "naive";
    case ScalerInit::kSelect:
      return "select";
    default:
      return "structured";
  }
}

namespace {

// Where target index i of `to` falls among `from` source indices, the ends
// aligned (a lone target sits in the middle).
double AlignedPosition(int64_t i, int64_t to, int64_t from) {
  return to == 1 ? (from - 1) / 2.0 : i * (from - 1) / static_cast<double>(to - 1);
}

}  // namespace

at::Tensor InterpolationMatrix(int64_t to, int64_t from) {
  at::Tensor r = at::zeros({to, from}, at::kFloat);
  auto acc = r.accessor<float, 2>();
  for (int64_t i = 0; i < to; ++i) {
    const double x = AlignedPosition(i, to, from);
    const int64_t lo = static_cast<int64_t>(std::floor(x));
    const int64_t hi = std::min(lo + 1, from - 1);
    const double frac = x - lo;
    acc[i][lo] += static_cast<float>(1.0 - frac);
    acc[i][hi] += static_cast<float>(frac);
  }
  return r;
}

at::Tensor SelectionMatrix(int64_t to, int64_t from, bool split_inputs) {
  at::Tensor r = at::zeros({to, from}, at::kFloat);
  auto acc = r.accessor<float, 2>();
  for (int64_t i = 0; i < to; ++i) {
    const double x = AlignedPosition(i, to, from);
    acc[i][std::lround(x)] = 1.0f;
  }
  if (split_inputs) r = r / r.sum(0, /*keepdim=*/true).clamp_min(1.0f);
  return r;
}

namespace {

// The resampling maps of one (source, target) pair of sizes: for the axes a
// layer writes (rows) and, where they differ, for the axes it reads (cols).
struct AxisMaps {
  at::Tensor residual, residual_in;  // [D'/w, D/w]
  at::Tensor heads, heads_in;        // over rows of one of q, k, v: [H' d_h/w, H d_h/w]
  at::Tensor qkv;                    // [3D'/w, 3D/w]: q, k, v apart
  at::Tensor hidden, hidden_in;      // [M'/w, M/w]
};

AxisMaps StructuredMaps(const ViTConfig& src, const ViTConfig& dst, const BankGeometry& g,
                        ScalerInit scheme) {
  const bool select = scheme == ScalerInit::kSelect;
  auto map = [select](int64_t to, int64_t from, bool input) {
    return select ? SelectionMatrix(to, from, input) : InterpolationMatrix(to, from);
  };
  AxisMaps m;
  const int64_t w = g.tile;
  m.residual = map(dst.width / w, src.width / w, false);
  m.residual_in = map(dst.width / w, src.width / w, true);
  if (g.head_dim % w == 0) {
    // Heads are whole units of d_h / w tiles: blend heads, never tiles
    // from different heads.
    const at::Tensor sub = at::eye(g.head_dim / w, at::kFloat);
    m.heads = at::kron(map(dst.heads, src.heads, false), sub);
    m.heads_in = at::kron(map(dst.heads, src.heads, true), sub);
  } else {
    m.heads = m.residual;
    m.heads_in = m.residual_in;
  }
  m.qkv = at::kron(at::eye(3, at::kFloat), m.heads);
  m.hidden = map(dst.mlp_hidden() / w, src.mlp_hidden() / w, false);
  m.hidden_in = map(dst.mlp_hidden() / w, src.mlp_hidden() / w, true);
  return m;
}

// rows: map for the grid's rows (or undefined: identity), cols likewise.
at::Tensor ApplyMaps(const at::Tensor& s, const at::Tensor& rows, const at::Tensor& cols) {
  at::Tensor out = s;
  if (rows.defined()) out = at::matmul(rows, out);
  if (cols.defined()) out = at::matmul(out, cols.t());
  return out;
}

// Source layer blend for target layer l.
at::Tensor DepthBlend(const AuxiliaryModel& aux, const std::string& kind, int64_t l,
                      int64_t target_depth) {
  const int64_t depth = aux.config.depth;
  const double x = AlignedPosition(l, target_depth, depth);
  const int64_t lo = static_cast<int64_t>(std::floor(x));
  const int64_t hi = std::min(lo + 1, depth - 1);
  const double frac = x - lo;
  const at::Tensor& a = aux.scalers.at(absl::StrCat("blocks.", lo, ".", kind));
  if (frac == 0.0 || hi == lo) return a.clone();
  const at::Tensor& b = aux.scalers.at(absl::StrCat("blocks.", hi, ".", kind));
  return a * (1.0 - frac) + b * frac;
}

double FanInRescale(const std::string& kind, const ViTConfig& src, const ViTConfig& dst,
                    ScalerInit scheme) {
  if (scheme == ScalerInit::kSelect) return 1.0;  // the input maps split the weights instead
  if (kind == "attn.qkv.weight" || kind == "attn.proj.weight" || kind == "mlp.fc1.weight") {
    return std::sqrt(double(src.width) / dst.width);
  }
  if (kind == "mlp.fc2.weight") return std::sqrt(double(src.mlp_hidden()) / dst.mlp_hidden());
  return 1.0;
}

// The distance AuxiliarySources measures: log ratios of
// depth and of width, added.
double SizeDistance(const ViTConfig& a, const ViTConfig& b) {
  return std::abs(std::log(double(a.depth) / b.depth)) +
         std::abs(std::log(double(a.width) / b.width));
}

// Every scaler of `target` resampled from one auxiliary.
TensorMap ResampleFrom(const AuxiliaryModel& aux, const TemplateBank& bank, const ViTConfig& target,
                       ScalerInit scheme) {
  const AxisMaps m = StructuredMaps(aux.config, target, bank.geometry, scheme);
  const at::Tensor none;
  TensorMap out;
  for (const auto& p : TemplatedParams(target, bank.geometry)) {
    at::Tensor src = p.layer >= 0 ? DepthBlend(aux, p.kind, p.layer, target.depth)
                                  : aux.scalers.at(p.name).clone();
    at::Tensor rows, cols;
    if (scheme == ScalerInit::kNaive) {
      if (src.size(1) != p.a) rows = InterpolationMatrix(p.a, src.size(1));
      if (src.size(2) != p.b) cols = InterpolationMatrix(p.b, src.size(2));
    } else if (p.kind == "attn.qkv.weight") {
      rows = m.qkv, cols = m.residual_in;
    } else if (p.kind == "attn.qkv.bias") {
      rows = m.qkv;
    } else if (p.kind == "attn.proj.weight") {
      rows = m.residual, cols = m.heads_in;
    } else if (p.kind == "mlp.fc1.weight") {
      rows = m.hidden, cols = m.residual_in;
    } else if (p.kind == "mlp.fc1.bias") {
      rows = m.hidden;
    } else if (p.kind == "mlp.fc2.weight") {
      rows = m.residual, cols = m.hidden_in;
    } else if (p.kind == "pos_embed") {
      cols = m.residual;
    } else {  // every other grid runs along the residual stream
      rows = m.residual;
    }
    at::Tensor s = ApplyMaps(src, rows, cols) * FanInRescale(p.kind, aux.config, target, scheme);
    out[p.name] = s.contiguous();
  }
  return out;
}

}  // namespace

absl::StatusOr<AuxiliaryMix> ParseAuxiliaryMix(const std::string& name) {
  if (name == "nearest" || name.empty()) return AuxiliaryMix::kNearest;
  if (name == "blend") return AuxiliaryMix::kBlend;
  if (name == "narrower") return AuxiliaryMix::kNearestNarrower;
  return absl::InvalidArgumentError(
      absl::StrCat("aux_mix: must be 'nearest', 'narrower' or 'blend', got '", name, "'"));
}

const char* AuxiliaryMixName(AuxiliaryMix mix) {
  switch (mix) {
    case AuxiliaryMix::kBlend:
      return "blend";
    case AuxiliaryMix::kNearestNarrower:
      return "narrower";
    default:
      return "nearest";
  }
}

std::vector<std::pair<const AuxiliaryModel*, double>> AuxiliarySources(const TemplateBank& bank,
                                                                       const ViTConfig& target,
                                                                       AuxiliaryMix mix) {
  const bool narrower_exists =
      std::any_of(bank.auxiliaries.begin(), bank.auxiliaries.end(),
                  [&](const AuxiliaryModel& aux) { return aux.config.width <= target.width; });
  std::vector<std::pair<double, const AuxiliaryModel*>> by_distance;
  for (const auto& aux : bank.auxiliaries) {
    if (mix == AuxiliaryMix::kNearestNarrower && narrower_exists &&
        aux.config.width > target.width) {
      continue;
    }
    by_distance.push_back({SizeDistance(aux.config, target), &aux});
  }
  std::stable_sort(by_distance.begin(), by_distance.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  if (mix != AuxiliaryMix::kBlend || by_distance.size() == 1 || by_distance[0].first == 0) {
    return {{by_distance[0].second, 1.0}};
  }
  // Inverse-distance weights over the two nearest.
  const double a = 1 / by_distance[0].first, b = 1 / by_distance[1].first;
  return {{by_distance[0].second, a / (a + b)}, {by_distance[1].second, b / (a + b)}};
}

const AuxiliaryModel& NearestAuxiliary(const TemplateBank& bank, const ViTConfig& target,
                                       AuxiliaryMix mix) {
  return *AuxiliarySources(bank, target, mix).front().first;
}

absl::StatusOr<TensorMap> ResampleScalers(const TemplateBank& bank, const ViTConfig& target,
                                          ScalerInit scheme, AuxiliaryMix mix) {
  RETURN_IF_ERROR(ValidateTarget(target, bank.geometry));
  c10::NoGradGuard no_grad;
  TensorMap out;
  for (const auto& [aux, weight] : AuxiliarySources(bank, target, mix)) {
    TensorMap part = ResampleFrom(*aux, bank, target, scheme);
    if (out.empty() && weight == 1.0) return part;
    for (auto& [name, s] : part) {
      auto it = out.find(name);
      if (it == out.end()) {
        out[name] = s * weight;
      } else {
        it->second.add_(s, weight);
      }
    }
  }
  return out;
}

TensorMap ResampleHead(const AuxiliaryModel& aux, const ViTConfig& target, const BankGeometry& g,
                       ScalerInit scheme) {
  c10::NoGradGuard no_grad;
  const at::Tensor& w = aux.head.at("head.weight");
  // Columns read the residual stream: whole tiles, mapped as the residual
  // scalers map them (dimension k of a tile stays dimension k).
  const int64_t to = target.width / g.tile, from = aux.config.width / g.tile;
  const bool select = scheme == ScalerInit::kSelect;
  const at::Tensor tiles =
      select ? SelectionMatrix(to, from, /*split_inputs=*/true) : InterpolationMatrix(to, from);
  const at::Tensor r = at::kron(tiles, at::eye(g.tile, at::kFloat));
  const double rescale = select ? 1.0 : std::sqrt(double(aux.config.width) / target.width);
  TensorMap head;
  head["head.weight"] = (at::matmul(w, r.t()) * rescale).contiguous();
  head["head.bias"] = aux.head.at("head.bias").clone();
  return head;
}

}  // namespace wave
