#include "server/initialize_reactor.h"

#include <ATen/Parallel.h>
#include <grpcpp/impl/codegen/proto_utils.h>

#include <algorithm>
#include <new>

#include "absl/strings/str_cat.h"
#include "core/base/sha256.h"
#include "core/base/status_macros.h"
#include "core/init/weights_file.h"
#include "server/auth.h"
#include "server/refusal.h"
#include "server/status_util.h"

namespace wave {
namespace {

constexpr char kModelFile[] = "model.safetensors";
constexpr char kScalersFile[] = "scalers.safetensors";

double SecondsSince(int64_t steady_nanos) { return (CallWatchdog::Now() - steady_nanos) * 1e-9; }

int64_t Nanos(double seconds) { return static_cast<int64_t>(seconds * 1e9); }

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
    case v1::WEIGHT_DTYPE_F16:
      return at::kHalf;
    case v1::WEIGHT_DTYPE_BF16:
      return at::kBFloat16;
    default:
      return at::kFloat;
  }
}

// What the call's files will hold, reserved from the download budget before
// the fit: the weights in the requested dtype, the scalers in float32, and
// room for the headers.
int64_t ExpectedDownloadBytes(const InitCall& call) {
  const int64_t element = at::elementSize(OutputType(call.output.dtype()));
  int64_t bytes = 0;
  for (const InitCall::Target& t : call.targets) {
    const ViTConfig& target = t.request.target();
    bytes += target.ParamCount() * element + (1 << 20);
    if (call.output.include_scalers()) {
      bytes += 4 * ScalerCount(target, call.bank->geometry, *call.bank);
    }
  }
  return bytes;
}

}  // namespace

// The files of a finished fit and how far the client has taken them.
struct InitializeReactor::Download {
  struct File {
    std::string name;
    std::unique_ptr<OwnedFile> content;
  };
  std::vector<File> files;
  std::string result_key;
  int target_index = 0;
  size_t current = 0;  // the file being sent
  std::optional<SafetensorsWriter::Cursor> cursor;
  std::unique_ptr<Sha256> hash;
  size_t chunk_bytes = 0;
  uint64_t total_bytes = 0;  // of every file still to send
  int64_t started = 0;
  v1::InitializeResponse summary;  // digests and stream time filled at the end

  // Starts the stream at `offset` of file `name`: earlier files and bytes
  // are hashed, not sent, so the summary's digests cover whole files.
  absl::Status SkipTo(const std::string& name, uint64_t offset);
  void FileDone();  // records the current file's digest, moves to the next
};

absl::Status InitializeReactor::Download::SkipTo(const std::string& name, uint64_t offset) {
  if (name == kModelFile && offset == 0) return absl::OkStatus();
  size_t index = 0;
  while (index < files.size() && files[index].name != name) ++index;
  if (index == files.size()) {
    return absl::NotFoundError(absl::StrCat("resume_file: this result has no ", name));
  }
  const uint64_t size = files[index].content->writer.TotalBytes();
  if (offset > size) {
    return absl::OutOfRangeError(absl::StrCat("resume_offset: ", offset, " is past the end of ",
                                              name, " (", size, " bytes)"));
  }
  std::string scratch;
  while (current <= index) {
    if (!cursor) {
      cursor.emplace(files[current].content->writer);
      hash = std::make_unique<Sha256>();
    }
    const uint64_t stop = current == index ? offset : cursor->total_bytes();
    while (cursor->offset() < stop) {
      scratch.clear();
      cursor->Next(std::min<uint64_t>(4 << 20, stop - cursor->offset()), &scratch);
      hash->Update(scratch);
    }
    if (current == index && !cursor->done()) break;
    FileDone();
  }
  total_bytes -= offset;  // what is left to send
  for (size_t i = 0; i < index; ++i) total_bytes -= files[i].content->writer.TotalBytes();
  return absl::OkStatus();
}

void InitializeReactor::Download::FileDone() {
  auto* s = summary.mutable_summary();
  const std::string digest = hash->HexDigest();
  files[current].name == kModelFile ? s->set_model_sha256(digest) : s->set_scalers_sha256(digest);
  cursor.reset();
  ++current;
}

InitializeReactor::InitializeReactor(ServiceContext& service, grpc::CallbackServerContext* context)
    : service_(service),
      context_(context),
      client_(Authenticate(*context, service.options.auth_tokens)),
      builder_(service.options.limits, service.banks, service.upload_bytes.get(),
               client_.ok() ? *client_ : "", service.device) {
  absl::Status status = client_.status();
  if (status.ok() && service.draining) status = absl::UnavailableError("server is shutting down");
  if (status.ok()) {
    auto lease = service.uploading_calls->Take(1, *client_);
    if (lease.ok()) {
      uploading_lease_ = std::move(*lease);
    } else {
      status = lease.status();
    }
  }
  if (status.ok()) service_.watchdog->Watch(this);
  std::lock_guard<std::mutex> lock(mu_);
  if (!status.ok()) {
    FinishLocked(status);
    return;
  }
  UpdateExpiryLocked();
  StartRead(&read_buffer_);
}

// ---- Upload ---------------------------------------------------------------

void InitializeReactor::OnReadDone(bool ok) {
  std::lock_guard<std::mutex> lock(mu_);
  if (finished_) return;  // expired while the read was pending
  if (!ok) {              // the client half-closed, or the call broke
    EndUpload();
    return;
  }
  ++messages_read_;
  last_read_ = CallWatchdog::Now();
  absl::Status status = TakeMessage();
  if (!status.ok()) {
    FinishLocked(status);
    return;
  }
  UpdateExpiryLocked();
  StartRead(&read_buffer_);
}

absl::Status InitializeReactor::TakeMessage() {
  v1::InitializeRequest request;
  if (!grpc::SerializationTraits<v1::InitializeRequest>::Deserialize(&read_buffer_, &request)
           .ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("message ", messages_read_, " of the upload could not be parsed as a ",
                     v1::InitializeRequest::descriptor()->full_name()));
  }
  absl::Status status;
  try {
    status = builder_.Add(request);
  } catch (const std::bad_alloc&) {
    status = absl::ResourceExhaustedError("out of memory for the upload");
  } catch (const std::exception& e) {
    status = absl::InternalError(absl::StrCat("reading the upload: ", e.what()));
  }
  if (status.ok() && target_name_.empty() && builder_.target() != nullptr) {
    target_name_ = builder_.target()->ShortName();
  }
  return status;
}

void InitializeReactor::EndUpload() {
  uploading_lease_.Release();
  if (cancelled_ || context_->IsCancelled()) {
    FinishLocked(absl::CancelledError("call cancelled during upload"));
    return;
  }
  absl::Status status;
  if (!builder_.resume()) {  // a resumed download reserves its bytes once it knows them
    absl::StatusOr<InitCall> call = absl::InternalError("unset");
    try {
      call = builder_.Finish();
    } catch (const std::exception& e) {
      call = absl::InternalError(absl::StrCat("validating the upload: ", e.what()));
    }
    status = call.status();
    if (status.ok()) {
      call_.emplace(*std::move(call));
      auto lease = service_.download_bytes->Take(ExpectedDownloadBytes(*call_), *client_);
      if (lease.ok()) {
        download_lease_ = std::move(*lease);
      } else {
        status = lease.status();
      }
    }
  }
  if (status.ok()) {
    auto lease = service_.fit_places->Take(1, *client_);
    if (lease.ok()) {
      fit_lease_ = std::move(*lease);
    } else {
      status = lease.status();
    }
  }
  if (status.ok()) {
    status = service_.pool->Submit([this](const absl::Status& admitted) { RunFit(admitted); });
  }
  if (!status.ok()) {
    FinishLocked(status);
    return;
  }
  phase_ = Phase::kFit;
  UpdateExpiryLocked();
  EnqueueLocked(ProgressMessage("queued"));
}

// ---- Fit ------------------------------------------------------------------

void InitializeReactor::RunFit(const absl::Status& admitted) {
  absl::StatusOr<Downloads> download = Downloads();
  if (!admitted.ok()) {
    download = admitted;
  } else {
    // LibTorch reports failures (out of memory, say) by exception: one bad
    // call must end with a status, never take the server down.
    try {
      download = call_ ? Fit() : Resume();
    } catch (const std::bad_alloc&) {
      download = absl::ResourceExhaustedError("out of memory during the fit");
    } catch (const std::exception& e) {
      download =
          absl::InternalError(absl::StrCat("fit failed: ", std::string(e.what()).substr(0, 300)));
    }
  }
  if (call_) call_->ReleaseFewShot();
  std::lock_guard<std::mutex> lock(mu_);
  fit_lease_.Release();
  if (download.ok() && !call_) {
    auto lease = service_.download_bytes->Take(download->front()->total_bytes, *client_);
    if (lease.ok()) {
      download_lease_ = std::move(*lease);
    } else {
      download = lease.status();
    }
  }
  if (download.ok()) {
    StartDownloadLocked(std::move(*download));
  } else {
    download_lease_.Release();
    FinishAfterWritesLocked(download.status());
  }
}

absl::Status InitializeReactor::CheckAlive() {
  if (context_->deadline() < std::chrono::system_clock::now()) {
    return absl::DeadlineExceededError("deadline exceeded; the fit was stopped");
  }
  if (cancelled_ || broken_) return absl::CancelledError("call cancelled; the fit was stopped");
  return absl::OkStatus();
}

size_t InitializeReactor::QueueLimit() const {
  return static_cast<size_t>(std::max(1, service_.options.max_buffered_chunks));
}

void InitializeReactor::SendProgress(const v1::InitializeResponse& message) {
  std::lock_guard<std::mutex> lock(mu_);
  if (queue_.size() < QueueLimit()) EnqueueLocked(message);
}

namespace {

void SetTarget(const ViTConfig& target, v1::TargetArchitecture* t) {
  t->set_depth(target.depth);
  t->set_width(target.width);
  t->set_heads(target.heads);
  t->set_classes(target.classes);
}

// The figures of a fit that its summary reports; what a cache hit reports again.
v1::Summary FitSummary(const TemplateBank& bank, const ViTConfig& target, const FitReport& r) {
  v1::Summary s;
  SetTarget(target, s.mutable_target());
  s.set_bank(bank.name);
  s.set_param_count(r.model_params);
  s.set_scaler_count(r.scaler_count);
  s.set_trainable_params(r.trainable_params);
  s.set_trainable_ratio(double(r.trainable_params) / r.model_params);
  s.set_held_out_accuracy(r.held_out_accuracy);
  s.set_held_out(r.held_out);
  s.mutable_held_out_indices()->Add(r.held_out_indices.begin(), r.held_out_indices.end());
  s.set_steps_run(r.steps_run);
  s.set_best_step(r.best_step);
  s.set_final_loss(r.steps.empty() ? 0 : r.steps.back().loss);
  return s;
}

}  // namespace

absl::StatusOr<std::unique_ptr<InitializeReactor::Download>> InitializeReactor::MakeDownload(
    const TemplateBank& bank, const ViTConfig& target, const FitOptions& fit,
    const v1::OutputOptions& output, const std::vector<std::string>& class_names,
    InitResult& result) {
  WeightsFileInfo info;
  info.bank_name = bank.name;
  info.bank_version = bank.version;
  info.bank_sha256 = bank.file_sha256;
  info.device = service_.device;
  info.threads = at::get_num_threads();
  info.geometry = bank.geometry;
  info.class_names = class_names;
  auto download = std::make_unique<Download>();
  download->chunk_bytes = output.chunk_bytes() > 0
                              ? output.chunk_bytes()
                              : static_cast<size_t>(service_.options.chunk_bytes);
  TensorMap scalers = result.scalers;
  ASSIGN_OR_RETURN(auto model_file,
                   MakeWeightsFile(result, target, fit, info, OutputType(output.dtype())));
  download->files.push_back({kModelFile, std::move(model_file)});
  if (output.include_scalers()) {
    ASSIGN_OR_RETURN(auto scalers_file, MakeScalersFile(std::move(scalers), target, info));
    download->files.push_back({kScalersFile, std::move(scalers_file)});
  }
  auto* s = download->summary.mutable_summary();
  for (const auto& file : download->files) {
    const uint64_t bytes = file.content->writer.TotalBytes();
    download->total_bytes += bytes;
    file.name == kModelFile ? s->set_model_bytes(bytes) : s->set_scalers_bytes(bytes);
  }
  s->set_device(service_.device);
  return download;
}

absl::StatusOr<InitializeReactor::Downloads> InitializeReactor::Fit() {
  Downloads downloads;
  for (size_t i = 0; i < call_->targets.size(); ++i) {
    ASSIGN_OR_RETURN(std::unique_ptr<Download> download, FitTarget(i));
    download->target_index = static_cast<int>(i);
    download->summary.mutable_summary()->set_target_index(static_cast<int>(i));
    downloads.push_back(std::move(download));
  }
  return downloads;
}

absl::StatusOr<std::unique_ptr<InitializeReactor::Download>> InitializeReactor::FitTarget(
    size_t index) {
  const int64_t fit_started = CallWatchdog::Now();
  const double max_fit_s = service_.options.bounds.max_fit_s;
  auto check = [&]() -> absl::Status {
    RETURN_IF_ERROR(CheckAlive());
    if (SecondsSince(fit_started) > max_fit_s) {
      return absl::DeadlineExceededError(
          absl::StrCat("the fit ran past the server's limit of ", max_fit_s, " s"));
    }
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(check());
  const TemplateBank& bank = *call_->bank;
  InitCall::Target& t = call_->targets[index];
  const std::string key =
      ResultCache::Key(service_.ResultContext(), bank.file_sha256, t.resolved, call_->data_sha256);
  // An identical fit in flight is waited for; a finished one is recomposed.
  ASSIGN_OR_RETURN(ResultCache::Lookup lookup, service_.cache->FindOrLead(key, check));
  if (lookup.hit) return Recompose(*lookup.hit, kModelFile, 0, call_->output.chunk_bytes());
  const ViTConfig& target = t.request.target();
  const FitOptions& fit = t.request.fit();
  int64_t steps_done = 0;
  auto progress = [&](const FitProgress& p) {
    service_.metrics->AddFitSteps(p.step - steps_done);
    steps_done = p.step;
    v1::InitializeResponse message = ProgressMessage("fit", p.step, p.total, p.loss, p.accuracy);
    message.mutable_progress()->set_target_index(static_cast<int>(index));
    SendProgress(message);
  };
  ASSIGN_OR_RETURN(InitResult result, InitializeTarget(t.request, progress, check));
  t.request.ReleaseFewShot();  // this target's share of the upload

  auto fitted = std::make_shared<CachedFit>();
  fitted->key = key;
  fitted->bank_sha256 = bank.file_sha256;
  fitted->header = t.resolved;
  fitted->scalers = result.scalers;
  fitted->head = result.head;
  const FitReport& r = result.report;
  ASSIGN_OR_RETURN(auto download, MakeDownload(bank, target, fit, call_->output,
                                                {t.resolved.class_names().begin(),
                                                 t.resolved.class_names().end()},
                                                result));
  // After MakeDownload: a rounding dtype measures the held-out accuracy again.
  fitted->summary = FitSummary(bank, target, r);
  lookup.lead->Complete(fitted);

  download->result_key = key;
  auto* s = download->summary.mutable_summary();
  s->MergeFrom(fitted->summary);
  s->set_result_key(key);
  auto& secs = *s->mutable_seconds();
  secs["scaler_init"] = r.seconds_scaler_init;
  secs["fit"] = r.seconds_fit;
  secs["compose"] = r.seconds_compose;
  return download;
}

absl::StatusOr<std::unique_ptr<InitializeReactor::Download>> InitializeReactor::Recompose(
    const CachedFit& fitted, const std::string& file, uint64_t offset, uint32_t chunk_bytes) {
  const int64_t started = CallWatchdog::Now();
  ASSIGN_OR_RETURN(std::shared_ptr<const TemplateBank> bank,
                   service_.banks.Get(fitted.header.bank()));
  if (bank->file_sha256 != fitted.bank_sha256) {
    return absl::NotFoundError(absl::StrCat("result ", fitted.key, " came from an earlier bank '",
                                            fitted.header.bank(), "'; ask again with the data"));
  }
  FitOptions fit = ApplyFitHeader(fitted.header.fit());
  fit.device = service_.device;
  const auto& t = fitted.header.target();
  ASSIGN_OR_RETURN(CheckedRequest request, CheckedRequest::Create(*bank, t.depth(), t.width(),
                                                                  t.heads(), t.classes(), fit));
  const ViTConfig& target = request.target();
  // Composed where a fit composes, so that the bytes are the fit's.
  const at::Device device(service_.device);
  TensorMap scalers, head;
  for (const auto& [name, x] : fitted.scalers) scalers[name] = x.to(device);
  for (const auto& [name, x] : fitted.head) head[name] = x.to(device);
  InitResult result;
  ASSIGN_OR_RETURN(result.weights, ComposeFitted(*bank, target, scalers, head));
  for (auto& [name, w] : result.weights) w = w.to(at::kCPU);
  result.scalers = fitted.scalers;
  result.report.held_out = fitted.summary.held_out();
  result.report.held_out_accuracy = fitted.summary.held_out_accuracy();
  result.report.trainable_params = fitted.summary.trainable_params();
  v1::OutputOptions output = fitted.header.output();
  output.set_chunk_bytes(chunk_bytes);
  ASSIGN_OR_RETURN(auto download, MakeDownload(*bank, target, fit, output,
                                                {fitted.header.class_names().begin(),
                                                 fitted.header.class_names().end()},
                                                result));
  download->result_key = fitted.key;
  auto* s = download->summary.mutable_summary();
  s->MergeFrom(fitted.summary);
  s->set_result_key(fitted.key);
  s->set_cache_hit(true);
  (*s->mutable_seconds())["compose"] = SecondsSince(started);
  RETURN_IF_ERROR(download->SkipTo(file, offset));
  return download;
}

absl::StatusOr<InitializeReactor::Downloads> InitializeReactor::Resume() {
  const ResumeRequest& resume = *builder_.resume();
  if (!service_.cache->enabled()) {
    return absl::FailedPreconditionError(
        "this server keeps no results (--cache_bytes=0): downloads cannot resume");
  }
  std::shared_ptr<const CachedFit> fitted = service_.cache->Find(resume.key);
  if (!fitted) {
    return absl::NotFoundError(
        absl::StrCat("result ", resume.key, " is not kept (any more); ask again with the data"));
  }
  target_name_ = absl::StrCat(fitted->header.target().depth(), "x", fitted->header.target().width(),
                              " (resume)");
  ASSIGN_OR_RETURN(std::unique_ptr<Download> download,
                   Recompose(*fitted, resume.file, resume.offset, resume.chunk_bytes));
  Downloads downloads;
  downloads.push_back(std::move(download));
  return downloads;
}

// ---- Download -------------------------------------------------------------

void InitializeReactor::StartDownloadLocked(Downloads downloads) {
  if (broken_) {  // the client went away during the fit; the files go with `downloads`
    FinishAfterWritesLocked(absl::CancelledError("the client went away during the fit"));
    return;
  }
  const ClientBounds& bounds = service_.options.bounds;
  uint64_t total_bytes = 0;
  for (const auto& d : downloads) total_bytes += d->total_bytes;
  download_deadline_ = CallWatchdog::Now() + Nanos(bounds.write_stall_timeout_s) +
                       Nanos(total_bytes / bounds.min_download_bytes_per_s);
  for (auto& d : downloads) downloads_.push_back(std::move(d));
  phase_ = Phase::kDownload;
  StartNextTargetLocked();
  FillQueueLocked();
  UpdateExpiryLocked();
}

void InitializeReactor::StartNextTargetLocked() {
  Download& d = *downloads_.front();
  d.started = CallWatchdog::Now();
  v1::InitializeResponse stream = ProgressMessage("stream");
  stream.mutable_progress()->set_result_key(d.result_key);
  stream.mutable_progress()->set_target_index(d.target_index);
  EnqueueLocked(stream);
}

void InitializeReactor::FillQueueLocked() {
  while (!downloads_.empty() && !finished_ && !broken_ && queue_.size() < QueueLimit()) {
    Download& d = *downloads_.front();
    if (d.current == d.files.size()) {
      auto& secs = *d.summary.mutable_summary()->mutable_seconds();
      secs["stream"] = SecondsSince(d.started);
      secs["total"] = SecondsSince(started_);
      EnqueueLocked(d.summary);
      downloads_.pop_front();  // its files go now
      if (!downloads_.empty()) {
        StartNextTargetLocked();
        continue;
      }
      download_lease_.Release();
      FinishAfterWritesLocked(absl::OkStatus());
      return;
    }
    const Download::File& file = d.files[d.current];
    if (!d.cursor) {
      d.cursor.emplace(file.content->writer);
      d.hash = std::make_unique<Sha256>();
    }
    v1::InitializeResponse r;
    auto* chunk = r.mutable_file();
    chunk->set_name(file.name);
    chunk->set_target_index(d.target_index);
    chunk->set_offset(d.cursor->offset());
    chunk->set_total_bytes(d.cursor->total_bytes());
    d.cursor->Next(d.chunk_bytes, chunk->mutable_data());
    d.hash->Update(chunk->data());
    service_.metrics->AddStreamedBytes(static_cast<int64_t>(chunk->data().size()));
    EnqueueLocked(r);
    if (d.cursor->done()) d.FileDone();
  }
}

// ---- Writes and the end of the call ---------------------------------------

void InitializeReactor::EnqueueLocked(const v1::InitializeResponse& message) {
  if (finished_ || broken_) return;
  grpc::ByteBuffer buffer;
  bool own_buffer = false;
  (void)grpc::SerializationTraits<v1::InitializeResponse>::Serialize(message, &buffer, &own_buffer);
  queue_.push_back(std::move(buffer));
  StartNextWriteLocked();
}

void InitializeReactor::StartNextWriteLocked() {
  if (writing_ || broken_ || finished_ || queue_.empty()) return;
  writing_ = true;
  write_started_ = CallWatchdog::Now();
  StartWrite(&queue_.front());
  UpdateExpiryLocked();
}

void InitializeReactor::OnWriteDone(bool ok) {
  std::lock_guard<std::mutex> lock(mu_);
  writing_ = false;
  if (ok) {
    queue_.pop_front();
    FillQueueLocked();
    StartNextWriteLocked();
  } else {
    broken_ = true;
    queue_.clear();
    downloads_.clear();
    download_lease_.Release();
  }
  UpdateExpiryLocked();
  if (writing_ || !queue_.empty()) return;
  if (pending_finish_) {
    FinishLocked(*pending_finish_);
  } else if (broken_ && phase_ == Phase::kDownload) {
    FinishLocked(absl::CancelledError("the client went away during the download"));
  }
}

void InitializeReactor::FinishAfterWritesLocked(const absl::Status& status) {
  if (broken_) queue_.clear();
  if (!writing_ && queue_.empty()) {
    FinishLocked(status);
  } else {
    pending_finish_ = status;
  }
}

void InitializeReactor::FinishLocked(const absl::Status& status) {
  if (finished_) return;
  if (cancelling_) {  // Expire finishes once TryCancel has returned
    finish_after_cancel_ = status;
    return;
  }
  finished_ = true;
  final_status_ = expired_ ? *expired_ : status;
  expires_at_ = CallWatchdog::kNever;
  uploading_lease_.Release();
  fit_lease_.Release();
  download_lease_.Release();
  downloads_.clear();
  Finish(ToGrpcStatus(final_status_));
}

void InitializeReactor::OnCancel() {
  std::lock_guard<std::mutex> lock(mu_);
  cancelled_ = true;
}

void InitializeReactor::OnDone() {
  service_.watchdog->Unwatch(this);  // waits out an Expire() in progress
  // Wait for the worker to leave the lock it finished the call under.
  { std::lock_guard<std::mutex> lock(mu_); }
  const std::string code = GrpcCodeName(static_cast<grpc::StatusCode>(final_status_.code()));
  const double seconds = SecondsSince(started_);
  service_.metrics->RecordRequest("Initialize", code, seconds);
  service_.metrics->RecordRefusal(RefusalReason(final_status_));
  LogCall("Initialize", context_->peer(), target_name_, code, seconds,
          std::string(final_status_.message()));
  delete this;
}

// ---- Bounds on slow clients -------------------------------------------------

void InitializeReactor::UpdateExpiryLocked() {
  const ClientBounds& b = service_.options.bounds;
  int64_t t = CallWatchdog::kNever;
  if (finished_ || expired_) {
    // nothing left to bound
  } else if (phase_ == Phase::kUpload) {
    t = messages_read_ == 0 ? started_ + Nanos(b.header_timeout_s)
                            : std::min(last_read_ + Nanos(b.upload_idle_timeout_s),
                                       started_ + Nanos(b.upload_timeout_s));
  } else {
    if (writing_) t = write_started_ + Nanos(b.write_stall_timeout_s);
    if (phase_ == Phase::kDownload) t = std::min(t, download_deadline_);
  }
  expires_at_ = t;
}

void InitializeReactor::Expire() {
  std::unique_lock<std::mutex> lock(mu_);
  expires_at_ = CallWatchdog::kNever;
  if (finished_ || expired_) return;
  const ClientBounds& b = service_.options.bounds;
  const int64_t now = CallWatchdog::Now();
  std::string reason, message;
  if (phase_ == Phase::kUpload) {
    if (messages_read_ == 0) {
      reason = "header";
      message = absl::StrCat("no header within ", b.header_timeout_s, " s");
    } else if (now >= started_ + Nanos(b.upload_timeout_s)) {
      reason = "upload_total";
      message = absl::StrCat("the upload took longer than ", b.upload_timeout_s, " s");
    } else {
      reason = "upload_idle";
      message = absl::StrCat("no upload message for ", b.upload_idle_timeout_s, " s");
    }
  } else if (writing_ && now >= write_started_ + Nanos(b.write_stall_timeout_s)) {
    reason = "write_stall";
    message = absl::StrCat("the client took no message for ", b.write_stall_timeout_s, " s");
  } else {
    reason = "download_rate";
    message =
        absl::StrCat("the download fell below ", b.min_download_bytes_per_s, " bytes/s on average");
  }
  expired_ = absl::DeadlineExceededError(absl::StrCat(message, "; call ended by the server"));
  service_.metrics->RecordExpiry(reason);
  if (phase_ == Phase::kUpload) {
    // Only a read is pending: the status reaches the client as it is.
    FinishLocked(*expired_);
    return;
  }
  // A write is stuck behind a client that does not read: only cancelling the
  // stream frees it. Finish waits until TryCancel has returned, so the call
  // (and its context) outlives it.
  cancelled_ = true;
  cancelling_ = true;
  lock.unlock();
  context_->TryCancel();
  lock.lock();
  cancelling_ = false;
  if (finish_after_cancel_) FinishLocked(*finish_after_cancel_);
}

}  // namespace wave
