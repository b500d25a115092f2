// The Initialize call, in three phases (docs/DESIGN.md, "The server"):
//  1. upload: messages are read on gRPC's threads into the request builder;
//     the header must come within the header timeout, each later message
//     within the idle timeout, the whole upload within the upload timeout;
//  2. fit: on a fit pool slot; progress goes out when the client takes it,
//     and is dropped otherwise, so the fit never waits on the client;
//  3. download: the slot is free again; each file chunk is made when the
//     previous ones went out (OnWriteDone), at most `max_buffered_chunks`
//     queued, and a client that stops taking them, or takes them too slowly,
//     loses the call.
// Messages are read and written as raw bytes and parsed here, so that an
// unparseable message is an INVALID_ARGUMENT of its own, not the end of the
// upload.
//
// Thread-safety: gRPC calls the reactions (OnReadDone, OnWriteDone, OnCancel,
// OnDone) on its threads, the fit pool's worker runs RunFit, the watchdog's
// thread calls Expire; every state change holds mu_. The fit job reads only
// what the upload left (call_, builder_'s resume) and the atomics. Lock
// order: the watchdog's lock, then mu_; never mu_ then the watchdog's.
#ifndef WAVE_SERVER_INITIALIZE_REACTOR_H_
#define WAVE_SERVER_INITIALIZE_REACTOR_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <deque>
#include <memory>
#include <optional>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "server/call_watchdog.h"
#include "server/fit_job.h"
#include "server/request_builder.h"
#include "server/service_context.h"
#include "wave/v1/wave.pb.h"

namespace wave {

class InitializeReactor : public grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>,
                          public CallWatchdog::Watched {
 public:
  InitializeReactor(ServiceContext& service, grpc::CallbackServerContext* context);

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

  int64_t ExpiresAt() const override { return expires_at_.load(); }
  void Expire() override;

 private:
  enum class Phase { kUpload, kFit, kDownload };

  // Upload.
  absl::Status TakeMessage() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void EndUpload() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Fit, on the pool's worker: the call's FitJob, then the download.
  void RunFit(const absl::Status& admitted);
  absl::Status CheckAlive();
  // Messages that may wait for the client at once (the per-call memory bound).
  size_t QueueLimit() const;
  // Queues a progress message unless the client is behind.
  void SendProgress(const v1::InitializeResponse& message);

  void StartDownloadLocked(TargetDownloads downloads) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The front download's "stream" message.
  void StartNextTargetLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FillQueueLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void EnqueueLocked(const v1::InitializeResponse& message) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void StartNextWriteLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Finishes now, or once every queued message went out.
  void FinishAfterWritesLocked(const absl::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FinishLocked(const absl::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void UpdateExpiryLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Marks the call expired; true when the stream must then be cancelled
  // (outside mu_).
  bool ExpireLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  ServiceContext& service_;
  grpc::CallbackServerContext* const context_;
  const int64_t started_ = CallWatchdog::Now();
  grpc::ByteBuffer read_buffer_;
  const absl::StatusOr<std::string> client_;  // server/auth.h's identity
  RequestBuilder builder_;
  std::optional<InitCall> call_;  // the validated request, from the end of the upload

  absl::Mutex mu_;
  ResourceBudget::Lease uploading_lease_ ABSL_GUARDED_BY(mu_), fit_lease_ ABSL_GUARDED_BY(mu_),
      download_lease_ ABSL_GUARDED_BY(mu_);
  Phase phase_ ABSL_GUARDED_BY(mu_) = Phase::kUpload;
  int64_t messages_read_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t last_read_ ABSL_GUARDED_BY(mu_) = started_;  // when the last upload message came
  int64_t write_started_ ABSL_GUARDED_BY(mu_) = 0;     // when the write in flight began
  int64_t download_deadline_ ABSL_GUARDED_BY(mu_) = CallWatchdog::kNever;
  std::atomic<int64_t> expires_at_{CallWatchdog::kNever};
  std::deque<grpc::ByteBuffer> queue_ ABSL_GUARDED_BY(mu_);  // front: the write in flight
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  // Front: the one streaming.
  std::deque<std::unique_ptr<TargetDownload>> downloads_ ABSL_GUARDED_BY(mu_);
  // Written under mu_; atomic because the fit's between-step check reads
  // them without it.
  std::atomic<bool> broken_{false};  // a write failed: the client is gone
  std::atomic<bool> cancelled_{false};
  // Expire is inside TryCancel: Finish waits.
  bool cancelling_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<absl::Status> expired_ ABSL_GUARDED_BY(mu_);  // why the watchdog ended the call
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<absl::Status> pending_finish_ ABSL_GUARDED_BY(mu_);  // once the queue is empty
  // Once TryCancel returned.
  std::optional<absl::Status> finish_after_cancel_ ABSL_GUARDED_BY(mu_);
  absl::Status final_status_ ABSL_GUARDED_BY(mu_);
  std::string target_name_ ABSL_GUARDED_BY(mu_);
  std::string resumed_target_;  // set by the fit job of a resumed download
};

}  // namespace wave

#endif  // WAVE_SERVER_INITIALIZE_REACTOR_H_
