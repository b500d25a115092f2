#include "core/learn/learn.h"

#include <c10/core/GradMode.h>
#include <ATen/ATen.h>
#include <torch/optim/optimizer.h>

#include <cmath>
#include <cstdio>
#include <sys/stat.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/base/file_util.h"
#include "core/base/kinds.h"
#include "core/base/status_macros.h"
#include "core/model/vit.h"
#include "nlohmann/json.hpp"

namespace wave {
namespace {

void Log(const TrainLoopOptions& loop, const std::string& line) {
  if (loop.log) loop.log(line);
}

// A checkpoint is <dir>/<name>.safetensors (parameters, with the number of
// finished epochs in its metadata) plus <dir>/<name>.optim.pt.
struct Checkpoint {
  TensorMap params;
  int64_t epochs_done = 0;
  std::string optimizer_path;
};

std::string CheckpointPath(const std::string& dir, const std::string& name) {
  return absl::StrCat(dir, "/", name, ".safetensors");
}

absl::StatusOr<Checkpoint> LoadCheckpoint(const std::string& dir, const std::string& name) {
  Checkpoint ckpt;
  if (dir.empty()) return ckpt;
  auto file = SafetensorsFile::ReadFile(CheckpointPath(dir, name));
  if (absl::IsNotFound(file.status())) return ckpt;
  if (!file.ok()) return file.status();
  auto it = file->metadata().find("epochs_done");
  if (it == file->metadata().end() || !absl::SimpleAtoi(it->second, &ckpt.epochs_done)) {
    return absl::DataLossError(absl::StrCat("checkpoint '", name, "' lacks epochs_done"));
  }
  ASSIGN_OR_RETURN(ckpt.params, ReadTensors(*file));
  ckpt.optimizer_path = absl::StrCat(dir, "/", name, ".optim.pt");
  return ckpt;
}

absl::Status SaveCheckpoint(const std::string& dir, const std::string& name,
                            const TensorMap& params, int64_t epochs_done,
                            torch::optim::Optimizer& optimizer) {
  if (dir.empty()) return absl::OkStatus();
  mkdir(dir.c_str(), 0755);
  // Optimizer first: a crash between the two leaves the older epoch count,
  // which only repeats an epoch.
  RETURN_IF_ERROR(SaveOptimizer(optimizer, absl::StrCat(dir, "/", name, ".optim.pt")));
  return WriteTensors(CheckpointPath(dir, name), params,
                      {{"epochs_done", absl::StrCat(epochs_done)}});
}

void CopyInto(TensorMap& dst, const TensorMap& src) {
  c10::NoGradGuard no_grad;
  for (auto& [name, t] : dst) t.copy_(src.at(name));
}

std::vector<at::Tensor> Values(const TensorMap& m) {
  std::vector<at::Tensor> out;
  for (const auto& [name, t] : m) out.push_back(t);
  return out;
}

TensorMap Detached(const TensorMap& m) {
  TensorMap out;
  for (const auto& [name, t] : m) out[name] = t.detach().clone();
  return out;
}

void RequireGrad(TensorMap& m) {
  for (auto& [name, t] : m) t.set_requires_grad(true);
}

}  // namespace

absl::StatusOr<TensorMap> TrainAncestry(const AncestryOptions& options, const Dataset& train,
                                        const Dataset& test) {
  RETURN_IF_ERROR(ValidateConfig(options.config));
  TensorMap params = DirectInit(options.config, options.loop.seed);
  if (!options.start.empty()) {
    RETURN_IF_ERROR(ValidateParams(options.config, options.start));
    CopyInto(params, options.start);
  }
  TrainLoopOptions loop = options.loop;
  ASSIGN_OR_RETURN(Checkpoint ckpt, LoadCheckpoint(options.checkpoint_dir, "ancestry"));
  if (!ckpt.params.empty()) {
    RETURN_IF_ERROR(ValidateParams(options.config, ckpt.params));
    CopyInto(params, ckpt.params);
    loop.start_epoch = ckpt.epochs_done;
    loop.optimizer_state = ckpt.optimizer_path;
    Log(loop, absl::StrFormat("[ancestry] resuming after epoch %d", ckpt.epochs_done));
  }
  RequireGrad(params);
  const ViTConfig config = options.config;
  auto loss = [&](const at::Tensor& x, const at::Tensor& y) {
    return at::cross_entropy_loss(VitForward(config, params, x), y);
  };
  auto on_epoch = [&](int64_t epoch, double mean_loss, torch::optim::Optimizer& opt) {
    double acc = Accuracy([&](const at::Tensor& x) { return VitForward(config, params, x); },
                          test, loop.mean, loop.std);
    Log(loop, absl::StrFormat("[ancestry] epoch %d done: train loss %.4f, test accuracy %.2f%%",
                              epoch + 1, mean_loss, acc));
    if (loop.replicas.rank != 0) return absl::OkStatus();  // rank 0 writes for all
    return SaveCheckpoint(options.checkpoint_dir, "ancestry", params, epoch + 1, opt);
  };
  RETURN_IF_ERROR(TrainLoop(Values(params), train, loss, loop, on_epoch));
  return Detached(params);
}

absl::StatusOr<TensorMap> LoadAncestry(const std::string& path, const ViTConfig& config) {
  RETURN_IF_ERROR(ValidateConfig(config));
  ASSIGN_OR_RETURN(SafetensorsFile file, SafetensorsFile::ReadFile(path));
  ASSIGN_OR_RETURN(TensorMap params, ReadTensors(file));
  absl::Status status = ValidateParams(config, params);
  if (!status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("ancestry '", path, "' does not match ",
                                                   config.ShortName(), ": ", status.message()));
  }
  for (auto& [name, t] : params) t = t.to(at::kFloat);
  return params;
}

absl::StatusOr<LoadedAncestry> LoadTimmAncestry(const std::string& path, int64_t heads,
                                                int64_t head_dim) {
  ASSIGN_OR_RETURN(SafetensorsFile file, SafetensorsFile::ReadFile(path));
  ASSIGN_OR_RETURN(TensorMap params, ReadTensors(file));
  if (heads <= 0) {
    const auto& meta = file.metadata();
    if (auto it = meta.find("num_heads"); it != meta.end()) {
      if (!absl::SimpleAtoi(it->second, &heads)) heads = 0;
    } else if (auto args = meta.find("wave.model_args"); args != meta.end()) {
      auto j = nlohmann::json::parse(args->second, nullptr, /*allow_exceptions=*/false);
      if (j.is_object() && j.contains("num_heads") && j["num_heads"].is_number_integer()) {
        heads = j["num_heads"].get<int64_t>();
      }
    }
  }
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const auto& [name, t] : params) shapes[name] = t.sizes().vec();
  if (auto cls = shapes.find("cls_token");
      heads <= 0 && head_dim > 0 && cls != shapes.end() && cls->second.size() == 3 &&
      cls->second[2] % head_dim == 0) {
    heads = cls->second[2] / head_dim;
  }
  auto config = ConfigFromTimmShapes(shapes, heads);
  if (!config.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("ancestry '", path, "': ", config.status().message()));
  }
  for (auto& [name, t] : params) {
    if (!at::isFloatingType(t.scalar_type())) {
      return absl::InvalidArgumentError(
          absl::StrCat("ancestry '", path, "': tensor '", name, "' is not floating point"));
    }
    t = t.to(at::kFloat);
  }
  return LoadedAncestry{*config, std::move(params)};
}

void SvdTemplates(const TensorMap& ancestry, const ViTConfig& config, const BankGeometry& geometry,
                  int64_t n, uint64_t seed, TensorMap* templates, TensorMap* scalers) {
  c10::NoGradGuard no_grad;
  at::Generator gen = MakeGenerator(seed);
  auto params = TemplatedParams(config, geometry);
  for (const auto& kind : TemplateKinds(config, geometry)) {
    // Rows: every (layer, block) of this kind; columns: the block's entries.
    std::vector<at::Tensor> rows;
    std::vector<const TemplatedParam*> owners;
    for (const auto& p : params) {
      if (p.kind != kind.kind) continue;
      at::Tensor w = ancestry.at(p.name).reshape({p.a, p.p, p.b, p.q});
      rows.push_back(w.permute({0, 2, 1, 3}).reshape({p.a * p.b, p.p * p.q}));
      owners.push_back(&p);
    }
    at::Tensor x = at::cat(rows, 0).to(at::kDouble);
    auto [u, sigma, vh] = at::linalg_svd(x, /*full_matrices=*/false);
    const int64_t rank = std::min<int64_t>(n, sigma.size(0));
    at::Tensor root = sigma.slice(0, 0, rank).sqrt();
    // Templates beyond the rank start small and random; their scalers zero.
    at::Tensor tmpl = at::empty({n, kind.p * kind.q}, at::kDouble).normal_(0, 1e-3, gen);
    tmpl.slice(0, 0, rank).copy_(vh.slice(0, 0, rank) * root.unsqueeze(1));
    at::Tensor coeff = at::zeros({x.size(0), n}, at::kDouble);
    coeff.slice(1, 0, rank).copy_(u.slice(1, 0, rank) * root.unsqueeze(0));
    (*templates)[kind.kind] = tmpl.view({n, kind.p, kind.q}).to(at::kFloat);
    int64_t offset = 0;
    for (const TemplatedParam* p : owners) {
      at::Tensor c = coeff.slice(0, offset, offset + p->a * p->b);
      (*scalers)[p->name] = c.t().reshape({n, p->a, p->b}).to(at::kFloat).contiguous();
      offset += p->a * p->b;
    }
  }
}

namespace {

// Random templates and scalers whose composition has the scale of timm's
// initialization; norm weights start at one.
void RandomTemplates(const ViTConfig& config, const BankGeometry& geometry, int64_t n,
                     uint64_t seed, TensorMap* templates, TensorMap* scalers) {
  at::Generator gen = MakeGenerator(seed);
  for (const auto& kind : TemplateKinds(config, geometry)) {
    (*templates)[kind.kind] = at::empty({n, kind.p, kind.q}).normal_(0, 1, gen);
  }
  for (const auto& p : TemplatedParams(config, geometry)) {
    const bool is_norm_weight = p.kind.find("norm") != std::string::npos &&
                                p.kind.find("weight") != std::string::npos;
    at::Tensor s = at::empty({n, p.a, p.b}).normal_(0, 0.02 / std::sqrt(double(n)), gen);
    if (is_norm_weight) {
      s.zero_();
      s[0].fill_(1.0);
      (*templates)[p.kind][0].fill_(1.0);
    }
    (*scalers)[p.name] = s;
  }
}

}  // namespace

namespace {

absl::Status ValidateDistillOptions(const DistillOptions& o) {
  RETURN_IF_ERROR(ValidateGeometry(o.geometry));
  if (o.templates_per_kind < 1 || o.templates_per_kind > 1024) {
    return absl::InvalidArgumentError("templates_per_kind: must be in [1, 1024]");
  }
  if (o.auxiliaries.empty()) return absl::InvalidArgumentError("auxiliaries: none given");
  if (!(o.temperature > 0)) return absl::InvalidArgumentError("temperature: must be positive");
  for (const auto& aux : o.auxiliaries) RETURN_IF_ERROR(ValidateTarget(aux, o.geometry));
  return absl::OkStatus();
}

// The trainable state at its start, all in one map for checkpoints, named
// as in a bank file: "templates.<kind>", "aux.<i>.<param>", "aux.<i>.head.*".
TensorMap StartDistillState(const DistillOptions& o, const TensorMap& ancestry,
                            const ViTConfig& ancestry_config) {
  TensorMap state;
  for (size_t i = 0; i < o.auxiliaries.size(); ++i) {
    const ViTConfig& aux = o.auxiliaries[i];
    TensorMap templates, scalers;
    const bool svd = o.init == TemplateInit::kSvd && aux == ancestry_config;
    if (svd) {
      SvdTemplates(ancestry, aux, o.geometry, o.templates_per_kind, o.loop.seed, &templates,
                   &scalers);
    } else {
      RandomTemplates(aux, o.geometry, o.templates_per_kind, o.loop.seed + i, &templates,
                      &scalers);
    }
    // The first auxiliary decides the starting templates.
    if (i == 0) {
      for (auto& [kind, t] : templates) state[kTemplatePrefix + kind] = t;
    }
    const std::string prefix = AuxiliaryPrefix(i);
    for (auto& [name, s] : scalers) state[prefix + name] = s;
    TensorMap head = DirectInit(aux, o.loop.seed + 17 * i);
    if (aux.width == ancestry_config.width && aux.classes == ancestry_config.classes) {
      head["head.weight"] = ancestry.at("head.weight").clone();
      head["head.bias"] = ancestry.at("head.bias").clone();
    }
    state[prefix + "head.weight"] = head["head.weight"];
    state[prefix + "head.bias"] = head["head.bias"];
  }
  return state;
}

// Auxiliary i's whole model, composed from the state.
TensorMap AuxiliaryParams(const DistillOptions& o, const TensorMap& state, size_t i) {
  const std::string prefix = AuxiliaryPrefix(i);
  TensorMap templates, scalers;
  for (const auto& kind : TemplateKinds(o.auxiliaries[i], o.geometry)) {
    templates[kind.kind] = state.at(kTemplatePrefix + kind.kind);
  }
  for (const auto& p : TemplatedParams(o.auxiliaries[i], o.geometry)) {
    scalers[p.name] = state.at(prefix + p.name);
  }
  TensorMap params = ComposeWeights(templates, scalers, o.auxiliaries[i], o.geometry);
  params["head.weight"] = state.at(prefix + "head.weight");
  params["head.bias"] = state.at(prefix + "head.bias");
  return params;
}

// The bank from the trained state: the templates and each auxiliary.
TemplateBank BankFromState(const DistillOptions& o, const ViTConfig& ancestry_config,
                           const TensorMap& state, const std::vector<double>& accuracies) {
  TemplateBank bank;
  bank.geometry = o.geometry;
  bank.ancestry = ancestry_config;
  TensorMap final_state = Detached(state);
  for (const auto& kind : TemplateKinds(o.auxiliaries[0], o.geometry)) {
    bank.templates[kind.kind] = final_state.at(kTemplatePrefix + kind.kind);
  }
  for (size_t i = 0; i < o.auxiliaries.size(); ++i) {
    AuxiliaryModel aux;
    aux.config = o.auxiliaries[i];
    aux.accuracy = accuracies[i];
    const std::string prefix = AuxiliaryPrefix(i);
    for (const auto& p : TemplatedParams(aux.config, o.geometry)) {
      aux.scalers[p.name] = final_state.at(prefix + p.name);
    }
    aux.head["head.weight"] = final_state.at(prefix + "head.weight");
    aux.head["head.bias"] = final_state.at(prefix + "head.bias");
    bank.auxiliaries.push_back(std::move(aux));
  }
  return bank;
}

}  // namespace

absl::StatusOr<TemplateBank> DistillTemplates(const DistillOptions& o, const TensorMap& ancestry,
                                              const ViTConfig& ancestry_config,
                                              const Dataset& train, const Dataset& test) {
  RETURN_IF_ERROR(ValidateDistillOptions(o));
  TensorMap state = StartDistillState(o, ancestry, ancestry_config);
  TrainLoopOptions loop = o.loop;
  ASSIGN_OR_RETURN(Checkpoint ckpt, LoadCheckpoint(o.checkpoint_dir, "distill"));
  if (!ckpt.params.empty()) {
    if (ckpt.params.size() != state.size()) {
      return absl::FailedPreconditionError("distill checkpoint is from another configuration");
    }
    CopyInto(state, ckpt.params);
    loop.start_epoch = ckpt.epochs_done;
    loop.optimizer_state = ckpt.optimizer_path;
    Log(loop, absl::StrFormat("[distill] resuming after epoch %d", ckpt.epochs_done));
  }
  RequireGrad(state);

  int64_t step = 0;
  auto loss = [&](const at::Tensor& x, const at::Tensor& y) {
    // One auxiliary per step, in a fixed rotation.
    const size_t i = static_cast<size_t>(step++ % static_cast<int64_t>(o.auxiliaries.size()));
    at::Tensor teacher;
    {
      c10::NoGradGuard no_grad;
      teacher = VitForward(ancestry_config, ancestry, x);
    }
    at::Tensor student = VitForward(o.auxiliaries[i], AuxiliaryParams(o, state, i), x);
    return DistillLoss(student, teacher, y, o.temperature, o.kl_weight);
  };
  std::vector<double> accuracies(o.auxiliaries.size(), 0.0);
  auto evaluate = [&] {
    for (size_t i = 0; i < o.auxiliaries.size(); ++i) {
      TensorMap params = AuxiliaryParams(o, state, i);
      accuracies[i] = Accuracy(
          [&](const at::Tensor& x) { return VitForward(o.auxiliaries[i], params, x); }, test,
          loop.mean, loop.std);
      Log(loop, absl::StrFormat("[distill] auxiliary %s test accuracy %.2f%%",
                                o.auxiliaries[i].ShortName(), accuracies[i]));
    }
  };
  if (loop.start_epoch == 0) {
    Log(loop, absl::StrFormat("[distill] before training (%s initialization):",
                              o.init == TemplateInit::kSvd ? "svd" : "random"));
    evaluate();
  }
  auto on_epoch = [&](int64_t epoch, double mean_loss, torch::optim::Optimizer& opt) {
    Log(loop, absl::StrFormat("[distill] epoch %d done: train loss %.4f", epoch + 1, mean_loss));
    evaluate();
    if (loop.replicas.rank != 0) return absl::OkStatus();  // rank 0 writes for all
    return SaveCheckpoint(o.checkpoint_dir, "distill", state, epoch + 1, opt);
  };
  loop.log_prefix = "distill";
  RETURN_IF_ERROR(TrainLoop(Values(state), train, loss, loop, on_epoch));
  if (loop.start_epoch >= loop.epochs) evaluate();
  return BankFromState(o, ancestry_config, state, accuracies);
}

}  // namespace wave
