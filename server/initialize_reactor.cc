#include "server/initialize_reactor.h"

#include <ATen/Parallel.h>

#include "absl/strings/str_cat.h"
#include "core/sha256.h"
#include "core/status_macros.h"
#include "core/weights_file.h"
#include "server/auth.h"
#include "server/status_util.h"

namespace wave {
namespace {

double SecondsSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

v1::InitializeResponse ProgressMessage(const std::string& phase, int64_t step = 0,
                                       int64_t total = 0, double loss = 0, double acc = 0) {
  v1::InitializeResponse r;
  auto* p = r.mutable_progress();
  p->set_phase(phase);
  p->set_step(step);
  p->set_total_steps(total);
  p->set_loss(loss);
  p->set_accuracy(acc);
  return r;
}

at::ScalarType OutputType(v1::WeightDType dtype) {
  switch (dtype) {
    case v1::WEIGHT_DTYPE_F16: return at::kHalf;
    case v1::WEIGHT_DTYPE_BF16: return at::kBFloat16;
    default: return at::kFloat;
  }
}

}  // namespace

InitializeReactor::InitializeReactor(ServiceContext& service,
                                     grpc::CallbackServerContext* context)
    : service_(service), context_(context), builder_(service.options.limits, service.banks) {
  absl::Status auth = CheckToken(*context, service.options.auth_token);
  if (auth.ok() && service.draining) auth = absl::UnavailableError("server is shutting down");
  if (!auth.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    FinishLocked(auth);
    return;
  }
  StartRead(&request_);
}

void InitializeReactor::OnReadDone(bool ok) {
  if (ok) {
    absl::Status status;
    try {
      status = builder_.Add(request_);
    } catch (const std::exception&) {
      status = absl::ResourceExhaustedError("out of memory for the upload");
    }
    request_.Clear();
    if (status.ok() && target_name_.empty() && builder_.has_header() && builder_.bank()) {
      target_name_ = builder_.target().ShortName();
    }
    if (!status.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      FinishLocked(status);
      return;
    }
    StartRead(&request_);
    return;
  }
  // The client half-closed, or the call broke.
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (cancelled_ || context_->IsCancelled()) {
      FinishLocked(absl::CancelledError("call cancelled during upload"));
      return;
    }
  }
  absl::Status status;
  try {
    status = builder_.Finish();
  } catch (const std::exception& e) {
    status = absl::InternalError(absl::StrCat("validating the upload: ", e.what()));
  }
  if (status.ok()) {
    status = service_.pool->Submit([this](const absl::Status& admitted) { RunFit(admitted); });
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (!status.ok()) {
    FinishLocked(status);
    return;
  }
  queue_.push_back(ProgressMessage("queued"));
  StartNextWriteLocked();
}

void InitializeReactor::OnWriteDone(bool ok) {
  std::lock_guard<std::mutex> lock(mu_);
  writing_ = false;
  if (!ok) {
    broken_ = true;
    queue_.clear();
  } else {
    queue_.pop_front();
  }
  cv_.notify_all();
  StartNextWriteLocked();
  if (!writing_ && queue_.empty() && pending_finish_) FinishLocked(*pending_finish_);
}

void InitializeReactor::OnCancel() {
  std::lock_guard<std::mutex> lock(mu_);
  cancelled_ = true;
  cv_.notify_all();
}

void InitializeReactor::OnDone() {
  // Wait for the worker to leave FinishAfterWrites.
  { std::lock_guard<std::mutex> lock(mu_); }
  const std::string code = GrpcCodeName(static_cast<grpc::StatusCode>(final_status_.code()));
  const double seconds = SecondsSince(started_);
  service_.metrics->RecordRequest("Initialize", code, seconds);
  LogCall("Initialize", context_->peer(), target_name_, code, seconds,
          std::string(final_status_.message()));
  delete this;
}

void InitializeReactor::StartNextWriteLocked() {
  if (writing_ || broken_ || finished_ || queue_.empty()) return;
  writing_ = true;
  StartWrite(&queue_.front());
}

void InitializeReactor::FinishLocked(const absl::Status& status) {
  if (finished_) return;
  finished_ = true;
  final_status_ = status;
  Finish(ToGrpcStatus(status));
}

void InitializeReactor::FinishAfterWrites(const absl::Status& status) {
  std::lock_guard<std::mutex> lock(mu_);
  if (broken_) queue_.clear();
  if (!writing_ && queue_.empty()) {
    FinishLocked(status);
  } else {
    pending_finish_ = status;
  }
}

absl::Status InitializeReactor::CheckAlive() {
  if (context_->deadline() < std::chrono::system_clock::now()) {
    return absl::DeadlineExceededError("deadline exceeded; the fit was stopped");
  }
  if (cancelled_ || broken_) return absl::CancelledError("call cancelled; the fit was stopped");
  return absl::OkStatus();
}

absl::Status InitializeReactor::Send(v1::InitializeResponse message, bool may_drop) {
  std::unique_lock<std::mutex> lock(mu_);
  const size_t limit = static_cast<size_t>(std::max(1, service_.options.max_buffered_chunks));
  if (may_drop && queue_.size() >= limit) return CheckAlive();
  cv_.wait(lock, [&] { return queue_.size() < limit || cancelled_ || broken_; });
  RETURN_IF_ERROR(CheckAlive());
  queue_.push_back(std::move(message));
  StartNextWriteLocked();
  return absl::OkStatus();
}

void InitializeReactor::RunFit(const absl::Status& admitted) {
  absl::Status status = admitted;
  if (status.ok()) {
    // LibTorch reports failures (out of memory, say) by exception: one bad
    // call must end with a status, never take the server down.
    try {
      status = Fit();
    } catch (const std::bad_alloc&) {
      status = absl::ResourceExhaustedError("out of memory during the fit");
    } catch (const std::exception& e) {
      status = absl::InternalError(absl::StrCat("fit failed: ", std::string(e.what()).substr(0, 300)));
    }
  }
  builder_.data() = Dataset{};
  FinishAfterWrites(status);
}

absl::Status InitializeReactor::StreamFile(const std::string& name,
                                           const SafetensorsWriter& writer,
                                           std::string* sha256) {
  const uint64_t total = writer.TotalBytes();
  const size_t chunk_bytes = builder_.output().chunk_bytes() > 0
                                 ? builder_.output().chunk_bytes()
                                 : static_cast<size_t>(service_.options.chunk_bytes);
  Sha256 hash;
  uint64_t offset = 0;
  RETURN_IF_ERROR(writer.Stream(chunk_bytes, [&](absl::string_view piece) -> absl::Status {
    hash.Update(piece);
    v1::InitializeResponse r;
    auto* f = r.mutable_file();
    f->set_name(name);
    f->set_offset(offset);
    f->set_total_bytes(total);
    f->set_data(piece.data(), piece.size());
    offset += piece.size();
    RETURN_IF_ERROR(Send(std::move(r)));
    service_.metrics->AddStreamedBytes(static_cast<int64_t>(piece.size()));
    return absl::OkStatus();
  }));
  *sha256 = hash.HexDigest();
  return absl::OkStatus();
}

absl::Status InitializeReactor::Fit() {
  RETURN_IF_ERROR(CheckAlive());
  const TemplateBank& bank = *builder_.bank();
  const ViTConfig& target = builder_.target();
  FitOptions fit = builder_.fit();
  fit.device = service_.device;
  fit.progress_every = std::max<int64_t>(1, fit.steps / 100);
  int64_t steps_done = 0;
  auto progress = [&](const FitProgress& p) {
    service_.metrics->AddFitSteps(p.step - steps_done);
    steps_done = p.step;
    (void)Send(ProgressMessage("fit", p.step, p.total, p.loss, p.accuracy), /*may_drop=*/true);
  };
  ASSIGN_OR_RETURN(InitResult result, InitializeTarget(bank, target, builder_.data(), fit,
                                                       progress, [&] { return CheckAlive(); }));
  builder_.data() = Dataset{};  // the upload is no longer needed
  const double final_loss = result.report.steps.empty() ? 0 : result.report.steps.back().loss;

  WeightsFileInfo info;
  info.bank_name = bank.name;
  info.bank_version = bank.version;
  info.bank_sha256 = bank.file_sha256;
  info.device = service_.device;
  info.threads = at::get_num_threads();
  info.geometry = bank.geometry;
  auto t_stream = std::chrono::steady_clock::now();
  v1::InitializeResponse summary;
  auto* s = summary.mutable_summary();
  {
    ASSIGN_OR_RETURN(auto file,
                     MakeWeightsFile(std::move(result.weights), target, fit, result.report, info,
                                     OutputType(builder_.output().dtype())));
    (void)Send(ProgressMessage("stream"), true);
    s->set_model_bytes(file->writer.TotalBytes());
    RETURN_IF_ERROR(StreamFile("model.safetensors", file->writer, s->mutable_model_sha256()));
  }
  if (builder_.output().include_scalers()) {
    ASSIGN_OR_RETURN(auto file, MakeScalersFile(std::move(result.scalers), target, info));
    s->set_scalers_bytes(file->writer.TotalBytes());
    RETURN_IF_ERROR(StreamFile("scalers.safetensors", file->writer, s->mutable_scalers_sha256()));
  }
  const FitReport& r = result.report;
  auto* t = s->mutable_target();
  t->set_depth(target.depth);
  t->set_width(target.width);
  t->set_heads(target.heads);
  t->set_classes(target.classes);
  s->set_bank(bank.name);
  s->set_param_count(r.model_params);
  s->set_scaler_count(r.scaler_count);
  s->set_trainable_params(r.trainable_params);
  s->set_trainable_ratio(double(r.trainable_params) / r.model_params);
  s->set_held_out_accuracy(r.held_out_accuracy);
  s->set_held_out(r.held_out);
  s->set_final_loss(final_loss);
  s->set_device(service_.device);
  auto& secs = *s->mutable_seconds();
  secs["scaler_init"] = r.seconds_scaler_init;
  secs["fit"] = r.seconds_fit;
  secs["compose"] = r.seconds_compose;
  secs["stream"] = SecondsSince(t_stream);
  secs["total"] = SecondsSince(started_);
  RETURN_IF_ERROR(Send(std::move(summary)));
  return absl::OkStatus();
}

}  // namespace wave
