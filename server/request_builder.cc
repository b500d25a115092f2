#include "server/request_builder.h"

#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/base/status_macros.h"
#include "core/base/wire_names.h"
#include "server/bank_fit_defaults.h"
#include "server/proto_convert.h"
#include "server/target_download.h"
#include "server/refusal.h"

namespace wave {
namespace {

absl::Status Invalid(absl::string_view field, absl::string_view rule) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", rule));
}


}  // namespace

absl::Status RequestBuilder::Add(const v1::InitializeRequest& message) {
  switch (message.kind_case()) {
    case v1::InitializeRequest::kHeader:
      if (header_seen_) return Invalid("header", "sent twice");
      header_seen_ = true;
      return message.header().resume_key().empty() ? AddHeader(message.header())
                                                   : AddResumeHeader(message.header());
    case v1::InitializeRequest::kData:
      if (resume_) return Invalid("data", "a resumed download takes no data");
      if (requests_.empty()) return Invalid("data", "arrived before the header");
      return AddChunk(message.data());
    default:
      return Invalid("request", "neither a header nor a data chunk");
  }
}

absl::StatusOr<v1::FitOptions> WithBankFitDefaults(const TemplateBank& bank, int64_t classes,
                                                   const v1::FitOptions& asked) {
  ASSIGN_OR_RETURN(v1::FitOptions fit,
                   BankFitDefaults(bank, OnBankClasses(bank, classes, asked)));
  fit.MergeFrom(asked);
  return fit;
}

FitOptions ApplyFitHeader(const v1::FitOptions& f) {
  FitOptions fit;
  fit.steps = f.has_steps() ? f.steps() : kDefaultFitSteps;
  if (f.has_batch()) fit.batch = f.batch();
  if (f.has_lr()) fit.lr = f.lr();
  if (f.has_head_lr()) fit.head_lr = f.head_lr();
  if (f.has_seed()) fit.seed = f.seed();
  if (f.has_held_out()) fit.held_out = f.held_out();
  if (f.has_head_from_bank()) fit.head_from_bank = f.head_from_bank();
  if (f.has_head_steps()) fit.head_steps = f.head_steps();
  if (f.has_max_passes()) fit.max_passes = f.max_passes();
  if (f.has_tail_blocks()) fit.tail_blocks = f.tail_blocks();
  if (f.has_head_refit_steps()) fit.head_refit_steps = f.head_refit_steps();
  fit.eval_every = f.has_eval_every() ? f.eval_every() : kDefaultEvalEvery;
  fit.patience = f.has_patience() ? f.patience() : kDefaultPatience;
  auto scheme = ParseScalerInit(f.scaler_init());
  if (scheme.ok()) fit.scaler_init = *scheme;
  auto mix = ParseAuxiliaryMix(f.auxiliary());
  if (mix.ok()) fit.aux_mix = *mix;
  auto precision = ParsePrecision(f.precision());
  if (precision.ok()) fit.precision = *precision;
  fit.progress_every = std::max<int64_t>(1, fit.steps / 100);
  return fit;
}

v1::InitializeHeader ResolvedHeader(const TemplateBank& bank, const CheckedRequest& request,
                                    const v1::OutputOptions& output, v1::ImageDType image_dtype,
                                    const std::vector<std::string>& class_names) {
  v1::InitializeHeader h;
  const bool bank_classes = request.target().classes == bank.ancestry.classes &&
                            request.fit().head_from_bank;
  if (!class_names.empty()) {
    h.mutable_class_names()->Add(class_names.begin(), class_names.end());
  } else if (bank_classes) {
    for (const std::string& name : BankClassNames(bank)) h.add_class_names(name);
  }
  h.set_bank(bank.name);
  ToProto(request.target(), h.mutable_target());
  ToProto(request.fit(), h.mutable_fit());
  auto* out = h.mutable_output();
  out->set_dtype(output.dtype() == v1::WEIGHT_DTYPE_UNSPECIFIED ? v1::WEIGHT_DTYPE_F32
                                                                : output.dtype());
  out->set_include_scalers(output.include_scalers());
  h.set_image_dtype(image_dtype == v1::IMAGE_DTYPE_FLOAT32 ? v1::IMAGE_DTYPE_FLOAT32
                                                           : v1::IMAGE_DTYPE_UINT8);
  return h;
}

absl::StatusOr<FitOptions> RequestBuilder::FitFromHeader(const v1::FitOptions& f) const {
  if (f.has_held_out() && f.held_out() < 0) {  // -1 is core's "default", not a client's value
    return Invalid("fit.held_out", absl::StrCat("must be >= 0, got ", f.held_out()));
  }
  FitOptions fit = ApplyFitHeader(f);
  RETURN_IF_ERROR(CheckFitSchemes(f));
  fit.device = device_;
  if (f.precision().empty()) fit.precision = default_precision_;
  if (fit.steps > limits_.max_fit_steps) {
    return LimitRefusal("fit.steps", fit.steps, limits_.max_fit_steps, "--max_fit_steps",
                        "ask for fewer steps");
  }
  if (fit.head_steps > limits_.max_fit_steps) {
    return LimitRefusal("fit.head_steps", fit.head_steps, limits_.max_fit_steps,
                        "--max_fit_steps", "ask for fewer head steps");
  }
  if (fit.head_refit_steps > limits_.max_fit_steps) {
    return LimitRefusal("fit.head_refit_steps", fit.head_refit_steps, limits_.max_fit_steps,
                        "--max_fit_steps", "ask for fewer head refit steps");
  }
  if (fit.batch > limits_.max_batch) {
    return LimitRefusal("fit.batch", fit.batch, limits_.max_batch, "--max_batch",
                        "ask for a smaller batch");
  }
  for (const auto& [field, lr] :
       {std::pair<const char*, double>{"fit.lr", fit.lr}, {"fit.head_lr", fit.head_lr}}) {
    if (lr > limits_.max_lr) {
      return Invalid(field, absl::StrCat(lr, " exceeds the server's limit of ", limits_.max_lr));
    }
  }
  return fit;
}

absl::StatusOr<FitOptions> RequestBuilder::FitFor(const v1::TargetArchitecture& t,
                                                  const v1::FitOptions& asked) const {
  ASSIGN_OR_RETURN(v1::FitOptions fit, WithBankFitDefaults(*bank_, t.classes(), asked));
  return FitFromHeader(fit);
}

absl::StatusOr<CheckedRequest> RequestBuilder::CheckTarget(const v1::TargetArchitecture& t,
                                                           const v1::FitOptions& asked) const {
  // The server's limits first (they need no bank); every other rule of a
  // target and its fit is core's, checked once by CheckedRequest::Create.
  if (t.depth() > limits_.max_depth) {
    return LimitRefusal("target.depth", t.depth(), limits_.max_depth, "--max_depth",
                        "ask for a shallower target");
  }
  if (t.width() > limits_.max_width) {
    return LimitRefusal("target.width", t.width(), limits_.max_width, "--max_width",
                        "ask for a narrower target");
  }
  if (t.classes() > limits_.max_classes) {
    return LimitRefusal("target.classes", t.classes(), limits_.max_classes, "--max_classes",
                        "ask for fewer classes");
  }
  // The request's options over the bank's defaults for these classes (then the server's).
  ASSIGN_OR_RETURN(FitOptions fit, FitFor(t, asked));
  // The one validation of target and fit options.
  ASSIGN_OR_RETURN(CheckedRequest request, CheckedRequest::Create(*bank_, t.depth(), t.width(),
                                                                  t.heads(), t.classes(), fit));
  const ViTConfig& target = request.target();
  if (target.ParamCount() > limits_.max_target_params) {
    return LimitRefusal("target parameters", target.ParamCount(), limits_.max_target_params,
                        "--max_target_params", "ask for a smaller depth or width");
  }
  return request;
}

namespace {

// "target.width: ..." as "targets[2].width: ...", so the error names the entry.
absl::Status ForEntry(const absl::Status& status, size_t index) {
  std::string message(status.message());
  if (absl::StartsWith(message, "target.")) {
    message = absl::StrCat("targets[", index, "].", message.substr(7));
  } else {
    message = absl::StrCat("targets[", index, "]: ", message);
  }
  absl::Status named(status.code(), message);
  status.ForEachPayload(
      [&](absl::string_view url, const absl::Cord& payload) { named.SetPayload(url, payload); });
  return named;
}

}  // namespace

absl::Status RequestBuilder::AddHeader(const v1::InitializeHeader& h) {
  ASSIGN_OR_RETURN(bank_, banks_.Get(h.bank()));
  const v1::FitOptions asked = WithClassNames(*bank_, h);
  if (h.targets_size() == 0) {
    ASSIGN_OR_RETURN(CheckedRequest request, CheckTarget(h.target(), asked));
    requests_.push_back(std::move(request));
  } else {
    if (h.has_target()) return Invalid("targets", "set either target or targets, not both");
    if (h.targets_size() > limits_.max_targets) {
      return LimitRefusal("targets", h.targets_size(), limits_.max_targets, "--max_targets",
                          "ask for fewer sizes per call");
    }
    int64_t params = 0;
    for (int i = 0; i < h.targets_size(); ++i) {
      absl::StatusOr<CheckedRequest> request = CheckTarget(h.targets(i), asked);
      if (!request.ok()) return ForEntry(request.status(), i);
      params += request->target().ParamCount();
      requests_.push_back(*std::move(request));
    }
    if (params > limits_.max_call_params) {
      requests_.clear();
      return LimitRefusal("targets' total parameters", params, limits_.max_call_params,
                          "--max_call_params", "ask for fewer or smaller sizes per call");
    }
  }
  const ViTConfig& target = requests_[0].target();  // the image geometry is the bank's
  RETURN_IF_ERROR(CheckImageShape(h, target));
  RETURN_IF_ERROR(CheckClassNames(h, target.classes));

  output_ = h.output();
  if (!v1::WeightDType_IsValid(output_.dtype())) return Invalid("output.dtype", "unknown value");
  RETURN_IF_ERROR(CheckChunkBytes(output_.chunk_bytes()));

  if (!v1::ImageDType_IsValid(h.image_dtype())) return Invalid("image_dtype", "unknown value");
  image_dtype_ = h.image_dtype();
  const bool is_float = h.image_dtype() == v1::IMAGE_DTYPE_FLOAT32;
  expected_samples_ = h.num_samples();
  if (expected_samples_ < 0) return Invalid("num_samples", "must be >= 0");
  if (expected_samples_ > limits_.max_samples) {
    return LimitRefusal("num_samples", expected_samples_, limits_.max_samples, "--max_samples",
                        absl::StrCat("send at most ", limits_.max_samples, " samples"));
  }
  // Each target's fit (the bank's defaults may differ between targets' classes).
  for (const CheckedRequest& request : requests_) {
    const FitOptions& fit = request.fit();
    if (fit.Fits() && expected_samples_ < 2) {
      return Invalid("num_samples", "a fit with steps > 0 needs at least 2 labelled samples");
    }
    if (fit.Fits()) RETURN_IF_ERROR(CheckHeldOut(fit, expected_samples_));
  }
  sample_bytes_ = target.channels * target.image_size * target.image_size * (is_float ? 4 : 1);
  if (expected_samples_ * (sample_bytes_ + kLabelBytes) > limits_.max_sample_bytes) {
    return LimitRefusal("few-shot bytes", expected_samples_ * (sample_bytes_ + kLabelBytes),
                        limits_.max_sample_bytes, "--max_sample_bytes",
                        "send fewer samples, or uint8 images instead of float32");
  }
  if (upload_bytes_ != nullptr) {
    RETURN_IF_ERROR(upload_bytes_->TakeInto(expected_samples_ * (sample_bytes_ + kLabelBytes),
                                            client_, &upload_lease_));
  }
  data_.images =
      at::empty({expected_samples_, target.channels, target.image_size, target.image_size},
                is_float ? at::kFloat : at::kByte);
  data_.labels = at::empty({expected_samples_}, at::kLong);
  return absl::OkStatus();
}

absl::Status RequestBuilder::CheckImageShape(const v1::InitializeHeader& h,
                                             const ViTConfig& target) {
  bank_shape_ = ShapeText(target.channels, target.image_size, target.image_size);
  if (!h.has_image_shape()) return absl::OkStatus();
  const v1::ImageShape& s = h.image_shape();
  if (s.channels() == target.channels && s.height() == target.image_size &&
      s.width() == target.image_size) {
    return absl::OkStatus();
  }
  return Invalid("image_shape",
                 absl::StrCat("bank '", bank_->name, "' takes ", bank_shape_,
                              " images; the request has ",
                              ShapeText(s.channels(), s.height(), s.width()),
                              ". Resize them to the bank's side (shorter side, then centre crop) "
                              "and convert their channels, or name a bank of that shape"));
}

absl::Status RequestBuilder::CheckClassNames(const v1::InitializeHeader& h, int64_t classes) {
  if (h.class_names_size() > classes) {
    return Invalid("class_names", absl::StrCat(h.class_names_size(), " names for ", classes,
                                               " classes"));
  }
  for (const std::string& name : h.class_names()) {
    if (name.size() > kMaxClassNameBytes) {
      return Invalid("class_names", absl::StrCat("a name of ", name.size(),
                                                 " bytes; at most ", kMaxClassNameBytes));
    }
  }
  class_names_.assign(h.class_names().begin(), h.class_names().end());
  return absl::OkStatus();
}

absl::Status RequestBuilder::CheckChunkBytes(uint32_t chunk_bytes) const {
  if (chunk_bytes != 0 && !ChunkBytesAllowed(chunk_bytes, limits_)) {
    return Invalid("output.chunk_bytes", absl::StrCat("must be 0 or in [", kMinChunkBytes, ", ",
                                                      limits_.max_message_bytes / 2, "]"));
  }
  return absl::OkStatus();
}

absl::Status RequestBuilder::AddResumeHeader(const v1::InitializeHeader& h) {
  const std::string& key = h.resume_key();
  if (key.size() != 64 || key.find_first_not_of("0123456789abcdef") != std::string::npos) {
    return Invalid("resume_key", "must be the 64 hex digits of a result_key");
  }
  if (!h.resume_file().empty() && h.resume_file() != kModelFileName &&
      h.resume_file() != kScalersFileName) {
    return Invalid("resume_file", "must be model.safetensors or scalers.safetensors");
  }
  if (h.has_target() || h.targets_size() > 0 || h.has_fit() || h.num_samples() != 0 ||
      !h.bank().empty() || h.image_dtype() != v1::IMAGE_DTYPE_UNSPECIFIED ||
      h.output().dtype() != 0 || h.output().include_scalers()) {
    return Invalid("resume_key",
                   "a resumed download names nothing else (the result fixes bank, target, fit "
                   "and output); only output.chunk_bytes may be set");
  }
  RETURN_IF_ERROR(CheckChunkBytes(h.output().chunk_bytes()));
  resume_ = ResumeRequest{key, h.resume_file().empty() ? kModelFileName : h.resume_file(),
                          h.resume_offset(), h.output().chunk_bytes()};
  return absl::OkStatus();
}

absl::Status RequestBuilder::AddChunk(const v1::DataChunk& chunk) {
  if (chunk.sequence() != next_sequence_) {
    return Invalid("data.sequence",
                   absl::StrCat("expected chunk ", next_sequence_, ", got ", chunk.sequence()));
  }
  ++next_sequence_;
  const int64_t image_bytes = static_cast<int64_t>(chunk.images().size());
  if (image_bytes % sample_bytes_ != 0) {
    return Invalid("data.images",
                   absl::StrCat(image_bytes, " bytes is not a whole number of ", sample_bytes_,
                                "-byte images (bank '", bank_->name, "' takes ", bank_shape_,
                                " images of ", image_dtype_ == v1::IMAGE_DTYPE_FLOAT32
                                                   ? "float32" : "uint8", ")"));
  }
  const int64_t k = image_bytes / sample_bytes_;
  if (static_cast<int64_t>(chunk.labels().size()) != 8 * k) {
    return Invalid("data.labels",
                   absl::StrCat("expected ", k, " int64 labels (", 8 * k, " bytes) for ", k,
                                " images, got ", chunk.labels().size(), " bytes"));
  }
  if (received_samples_ + k > expected_samples_) {
    return Invalid(
        "data", absl::StrCat("more samples than the ", expected_samples_, " the header announced"));
  }
  if (k == 0) return absl::OkStatus();  // an empty chunk: nothing to copy (nor a buffer to copy to)
  std::memcpy(static_cast<char*>(data_.images.data_ptr()) + received_samples_ * sample_bytes_,
              chunk.images().data(), image_bytes);
  std::memcpy(data_.labels.data_ptr<int64_t>() + received_samples_, chunk.labels().data(), 8 * k);
  images_hash_.Update(chunk.images());
  labels_hash_.Update(chunk.labels());
  received_samples_ += k;
  return absl::OkStatus();
}

absl::StatusOr<InitCall> RequestBuilder::Finish() {
  if (requests_.empty()) return Invalid("header", "never sent");
  if (received_samples_ != expected_samples_) {
    return Invalid("data", absl::StrCat("the header announced ", expected_samples_, " samples but ",
                                        received_samples_, " arrived"));
  }
  InitCall call;
  call.targets.reserve(requests_.size());
  for (size_t i = 0; i < requests_.size(); ++i) {
    // The targets share the samples' tensors.
    absl::Status status = requests_[i].SetFewShot(expected_samples_ > 0 ? data_ : Dataset{});
    if (!status.ok()) return requests_.size() > 1 ? ForEntry(status, i) : status;
    v1::InitializeHeader resolved =
        ResolvedHeader(*bank_, requests_[i], output_, image_dtype_, class_names_);
    call.targets.push_back({std::move(requests_[i]), std::move(resolved)});
  }
  requests_.clear();
  data_ = Dataset{};
  call.bank = std::move(bank_);
  call.output = output_;
  call.upload_lease = std::move(upload_lease_);
  call.data_sha256 = Sha256Hex(absl::StrCat(received_samples_, ":", images_hash_.HexDigest(), ":",
                                            labels_hash_.HexDigest()));
  return call;
}

}  // namespace wave
