#include "core/init/weights_file.h"

#include "absl/strings/str_cat.h"
#include "core/base/status_macros.h"
#include "nlohmann/json.hpp"

namespace wave {
namespace {

using json = nlohmann::json;

absl::Status Own(OwnedFile& file, TensorMap tensors, at::ScalarType dtype) {
  for (auto it = tensors.begin(); it != tensors.end();) {
    at::Tensor t = it->second.detach().to(at::kCPU).to(dtype).contiguous();
    file.tensors[it->first] = t;
    it = tensors.erase(it);  // drop the original now
  }
  for (const auto& [name, t] : file.tensors) RETURN_IF_ERROR(AddTensor(file.writer, name, t));
  return absl::OkStatus();
}

void Common(OwnedFile& file, const ViTConfig& target, const WeightsFileInfo& info) {
  file.writer.SetMetadata("format", "pt");
  file.writer.SetMetadata("wave.model_args", TimmArgsJson(target));
  file.writer.SetMetadata("wave.bank", info.bank_name);
  file.writer.SetMetadata("wave.bank_version", info.bank_version);
  file.writer.SetMetadata("wave.bank_sha256", info.bank_sha256);
  file.writer.SetMetadata("wave.server_version", WAVE_VERSION);
  file.writer.SetMetadata("wave.device", info.device);
  file.writer.SetMetadata("wave.threads", absl::StrCat(info.threads));
}

absl::Status CheckFinite(const OwnedFile& file, at::ScalarType dtype) {
  for (const auto& [name, t] : file.tensors) {
    if (!AllFinite(t)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "output.dtype: ", name, " does not fit in ", c10::toString(dtype),
          " (values overflow to infinity); ask for F32 or BF16"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<WeightsFile> MakeWeightsFile(TensorMap weights, const FitReport& report,
                                            const Dataset& held_out, const ViTConfig& target,
                                            const FitOptions& fit, const WeightsFileInfo& info,
                                            at::ScalarType dtype) {
  auto file = std::make_unique<OwnedFile>();
  RETURN_IF_ERROR(Own(*file, std::move(weights), dtype));
  double held_out_accuracy = report.held_out_accuracy;
  if (dtype != at::kFloat) {
    RETURN_IF_ERROR(CheckFinite(*file, dtype));
    if (held_out.size() > 0) {
      TensorMap rounded;
      for (const auto& [name, t] : file->tensors) rounded[name] = t.to(at::kFloat);
      ASSIGN_OR_RETURN(held_out_accuracy,
                       HeldOutAccuracy(target, rounded, held_out, info.geometry));
    }
  }
  Common(*file, target, info);
  file->writer.SetMetadata(
      "wave.preprocessing",
      json{{"input",
            "RGB or grayscale as image_shape's channels; resized (shorter side to the image "
            "side, bilinear with antialias) and centre-cropped, as torchvision's Resize then "
            "CenterCrop; uint8 scaled to [0, 1]; then (x - mean) / std per channel"},
           {"image_shape", {info.geometry.channels, info.geometry.image_size,
                            info.geometry.image_size}},
           {"mean", info.geometry.mean},
           {"std", info.geometry.std}}
          .dump());
  if (!info.class_names.empty()) {
    file->writer.SetMetadata("wave.class_names", json(info.class_names).dump());
  }
  if (!info.training_recipe.empty()) {
    file->writer.SetMetadata("wave.training_recipe", info.training_recipe);
  }
  file->writer.SetMetadata("wave.seed", absl::StrCat(fit.seed));
  file->writer.SetMetadata(
      "wave.fit", json{{"steps", fit.steps},
                       {"head_steps", fit.head_steps},
                       {"batch", fit.batch},
                       {"lr", fit.lr},
                       {"head_lr", fit.head_lr},
                       {"scaler_init", ScalerInitName(fit.scaler_init)},
                       {"auxiliary", AuxiliaryMixName(fit.aux_mix)},
                       {"held_out", report.held_out},
                       {"held_out_accuracy", held_out_accuracy},
                       {"trainable_params", report.trainable_params}}
                      .dump());
  return WeightsFile{std::move(file), held_out_accuracy};
}

absl::StatusOr<std::unique_ptr<OwnedFile>> MakeScalersFile(TensorMap scalers,
                                                           const ViTConfig& target,
                                                           const WeightsFileInfo& info) {
  auto file = std::make_unique<OwnedFile>();
  RETURN_IF_ERROR(Own(*file, std::move(scalers), at::kFloat));
  Common(*file, target, info);
  file->writer.SetMetadata("wave.content", "fitted scalers [N, a, b] by parameter name");
  return file;
}

}  // namespace wave
