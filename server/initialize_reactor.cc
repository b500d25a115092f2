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
#include "server/fit_job.h"
#include "server/refusal.h"
#include "server/status_util.h"

namespace wave {
namespace {

int64_t Nanos(double seconds) { return static_cast<int64_t>(seconds * 1e9); }

}  // namespace

InitializeReactor::InitializeReactor(ServiceContext& service, grpc::CallbackServerContext* context)
    : service_(service),
      context_(context),
      client_(Authenticate(*context, service.options.auth_tokens)),
      builder_(service.options.limits, service.banks, service.upload_bytes.get(),
               client_.ok() ? *client_ : "", service.device, service.fit_precision) {
  absl::Status status = client_.status();
  if (status.ok() && service.draining) status = absl::UnavailableError("server is shutting down");
  ResourceBudget::Lease uploading;
  if (status.ok()) status = service.uploading_calls->TakeInto(1, *client_, &uploading);
  // Outside mu_: the watchdog calls Expire() under its own lock, which takes mu_.
  if (status.ok()) service_.watchdog->Watch(this);
  absl::MutexLock lock(&mu_);
  uploading_lease_ = std::move(uploading);
  if (!status.ok()) {
    FinishLocked(status);
    return;
  }
  UpdateExpiryLocked();
  StartRead(&read_buffer_);
}

// ---- Upload ---------------------------------------------------------------

void InitializeReactor::OnReadDone(bool ok) {
  absl::MutexLock lock(&mu_);
  if (finished_) return;  // expired while the read was pending
  if (!ok) {              // the client half-closed, or the call broke
    EndUpload();
    return;
  }
  ++messages_read_;
  last_read_ = CallWatchdog::Now();
  absl::Status status = TakeMessage();
  if (!status.ok()) {
    FinishAfterWritesLocked(status);  // after the header's acknowledgement, if sent
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
  // Every rule of the header held: the client may send its images now.
  if (status.ok() && request.has_header() && !builder_.resume()) {
    EnqueueLocked(ProgressMessage("upload", 0, request.header().num_samples()));
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
      status = service_.download_bytes->TakeInto(ExpectedDownloadBytes(*call_), *client_,
                                                 &download_lease_);
    }
  }
  if (status.ok()) status = service_.fit_places->TakeInto(1, *client_, &fit_lease_);
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
  absl::StatusOr<TargetDownloads> download = TargetDownloads();
  if (!admitted.ok()) {
    download = admitted;
  } else {
    FitJob job(service_, [this] { return CheckAlive(); },
               [this](const v1::InitializeResponse& message) { SendProgress(message); });
    // LibTorch reports failures (out of memory, say) by exception: one bad
    // call must end with a status, never take the server down.
    try {
      download = call_ ? job.Fit(*call_) : job.Resume(*builder_.resume(), &resumed_target_);
    } catch (const std::bad_alloc&) {
      download = absl::ResourceExhaustedError("out of memory during the fit");
    } catch (const std::exception& e) {
      download =
          absl::InternalError(absl::StrCat("fit failed: ", std::string(e.what()).substr(0, 300)));
    }
  }
  if (call_) call_->ReleaseFewShot();
  absl::MutexLock lock(&mu_);
  fit_lease_.Release();
  if (!resumed_target_.empty()) target_name_ = resumed_target_;
  if (download.ok() && !call_) {
    absl::Status taken = service_.download_bytes->TakeInto(download->front()->total_bytes(),
                                                            *client_, &download_lease_);
    if (!taken.ok()) download = taken;
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
  absl::MutexLock lock(&mu_);
  if (queue_.size() < QueueLimit()) EnqueueLocked(message);
}

// ---- Download -------------------------------------------------------------

void InitializeReactor::StartDownloadLocked(TargetDownloads downloads) {
  if (broken_) {  // the client went away during the fit; the files go with `downloads`
    FinishAfterWritesLocked(absl::CancelledError("the client went away during the fit"));
    return;
  }
  const ClientBounds& bounds = service_.options.bounds;
  uint64_t total_bytes = 0;
  for (const auto& d : downloads) total_bytes += d->total_bytes();
  download_deadline_ = CallWatchdog::Now() + Nanos(bounds.write_stall_timeout_s) +
                       Nanos(total_bytes / bounds.min_download_bytes_per_s);
  for (auto& d : downloads) downloads_.push_back(std::move(d));
  phase_ = Phase::kDownload;
  StartNextTargetLocked();
  FillQueueLocked();
  UpdateExpiryLocked();
}

void InitializeReactor::StartNextTargetLocked() {
  TargetDownload& d = *downloads_.front();
  d.started = CallWatchdog::Now();
  v1::InitializeResponse stream = ProgressMessage("stream");
  stream.mutable_progress()->set_result_key(d.result_key);
  stream.mutable_progress()->set_target_index(d.target_index);
  EnqueueLocked(stream);
}

void InitializeReactor::FillQueueLocked() {
  while (!downloads_.empty() && !finished_ && !broken_ && queue_.size() < QueueLimit()) {
    TargetDownload& d = *downloads_.front();
    if (d.done()) {
      auto& secs = *d.summary().mutable_seconds();
      secs["stream"] = CallWatchdog::SecondsSince(d.started);
      secs["total"] = CallWatchdog::SecondsSince(started_);
      EnqueueLocked(d.summary_message());
      downloads_.pop_front();  // its files go now
      if (!downloads_.empty()) {
        StartNextTargetLocked();
        continue;
      }
      download_lease_.Release();
      FinishAfterWritesLocked(absl::OkStatus());
      return;
    }
    v1::InitializeResponse chunk = d.NextChunk();
    service_.metrics->AddStreamedBytes(static_cast<int64_t>(chunk.file().data().size()));
    EnqueueLocked(chunk);
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
  absl::MutexLock lock(&mu_);
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
  absl::MutexLock lock(&mu_);
  cancelled_ = true;
}

void InitializeReactor::OnDone() {
  service_.watchdog->Unwatch(this);  // waits out an Expire() in progress
  absl::Status status;
  std::string target;
  {
    // Also waits for the worker to leave the lock it finished the call under.
    absl::MutexLock lock(&mu_);
    status = final_status_;
    target = target_name_;
  }
  const std::string code = GrpcCodeName(static_cast<grpc::StatusCode>(status.code()));
  const double seconds = CallWatchdog::SecondsSince(started_);
  service_.metrics->RecordRequest("Initialize", code, seconds);
  service_.metrics->RecordRefusal(RefusalReason(status));
  LogCall("Initialize", context_->peer(), target, code, seconds, std::string(status.message()));
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
  {
    absl::MutexLock lock(&mu_);
    if (!ExpireLocked()) return;
  }
  // A write is stuck behind a client that does not read: only cancelling the
  // stream frees it. Finish waits until TryCancel has returned, so the call
  // (and its context) outlives it.
  context_->TryCancel();
  absl::MutexLock lock(&mu_);
  cancelling_ = false;
  if (finish_after_cancel_) FinishLocked(*finish_after_cancel_);
}

bool InitializeReactor::ExpireLocked() {
  expires_at_ = CallWatchdog::kNever;
  if (finished_ || expired_) return false;
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
    return false;
  }
  cancelled_ = true;
  cancelling_ = true;
  return true;
}

}  // namespace wave
