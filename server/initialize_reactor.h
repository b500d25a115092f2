// The Initialize call: reads the upload on gRPC's threads, runs the fit on
// the fit pool, and streams progress, files and a summary back with bounded
// buffering.
#ifndef WAVE_SERVER_INITIALIZE_REACTOR_H_
#define WAVE_SERVER_INITIALIZE_REACTOR_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>

#include "server/request_builder.h"
#include "server/service_context.h"
#include "wave/v1/wave.grpc.pb.h"

namespace wave {

class InitializeReactor
    : public grpc::ServerBidiReactor<v1::InitializeRequest, v1::InitializeResponse> {
 public:
  InitializeReactor(ServiceContext& service, grpc::CallbackServerContext* context);

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  // All below run on the fit worker.
  void RunFit(const absl::Status& admitted);
  absl::Status Fit();
  absl::Status StreamFile(const std::string& name, const SafetensorsWriter& writer,
                          std::string* sha256);
  // Queues a message; waits while the queue is full. Fails once the call is
  // cancelled or broken.
  absl::Status Send(v1::InitializeResponse message, bool may_drop = false);
  absl::Status CheckAlive();

  // Finishes once, after every queued write went out. Locks mu_.
  void FinishAfterWrites(const absl::Status& status);
  void StartNextWriteLocked();
  void FinishLocked(const absl::Status& status);

  ServiceContext& service_;
  grpc::CallbackServerContext* context_;
  const std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  v1::InitializeRequest request_;
  RequestBuilder builder_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<v1::InitializeResponse> queue_;
  bool writing_ = false;
  // Written under mu_ (the waits on cv_ read them there); atomic because the
  // fit's between-step check reads them without it (a race TSan found).
  std::atomic<bool> broken_{false};  // a write failed: the client is gone
  std::atomic<bool> cancelled_{false};
  bool finished_ = false;
  std::optional<absl::Status> pending_finish_;
  absl::Status final_status_;
  std::string target_name_;
};

}  // namespace wave

#endif  // WAVE_SERVER_INITIALIZE_REACTOR_H_
