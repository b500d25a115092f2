#include "server/health_service.h"

#include "server/auth.h"
#include "server/status_util.h"

namespace wave {

using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

// One Watch stream: sends the status now and each change after it, one write
// at a time (a change while a write is in flight replaces the pending one:
// only the latest status matters).
class HealthService::Watcher : public grpc::ServerWriteReactor<HealthCheckResponse> {
 public:
  Watcher(HealthService* service, std::string watched, ResourceBudget::Lease lease)
      : service_(service), watched_(std::move(watched)), lease_(std::move(lease)) {}
  const std::string& watched() const { return watched_; }

  // Called by the service under its lock.
  void Send(ServingStatus status) {
    absl::MutexLock lock(&mu_);
    if (finished_) return;
    if (writing_) {
      pending_ = status;
      has_pending_ = true;
      return;
    }
    WriteLocked(status);
  }
  void End(const grpc::Status& status) {
    absl::MutexLock lock(&mu_);
    FinishLocked(status);
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    if (!ok) {
      FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "the watcher went away"));
    } else if (has_pending_) {
      has_pending_ = false;
      WriteLocked(pending_);
    }
  }
  void OnCancel() override {
    absl::MutexLock lock(&mu_);
    FinishLocked(grpc::Status::CANCELLED);
  }
  void OnDone() override {
    service_->Forget(this);
    delete this;
  }

 private:
  void WriteLocked(ServingStatus status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    response_.set_status(status);
    writing_ = true;
    StartWrite(&response_);
  }
  void FinishLocked(const grpc::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_) return;
    finished_ = true;
    lease_.Release();
    Finish(status);
  }

  HealthService* const service_;
  const std::string watched_;  // the service name it watches
  absl::Mutex mu_;
  ResourceBudget::Lease lease_ ABSL_GUARDED_BY(mu_);
  HealthCheckResponse response_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool has_pending_ ABSL_GUARDED_BY(mu_) = false;
  ServingStatus pending_ ABSL_GUARDED_BY(mu_) = HealthCheckResponse::UNKNOWN;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

HealthService::HealthService(std::vector<std::string> services, BudgetSpec watch_budget,
                             std::function<void(int64_t)> on_watch_change)
    : watch_budget_(std::move(watch_budget), std::move(on_watch_change)) {
  absl::MutexLock lock(&mu_);
  status_[""] = HealthCheckResponse::SERVING;
  for (const std::string& name : services) status_[name] = HealthCheckResponse::SERVING;
}

HealthService::~HealthService() { Shutdown(); }

HealthService::ServingStatus HealthService::StatusOfLocked(const std::string& service) const {
  auto it = status_.find(service);
  return it == status_.end() ? HealthCheckResponse::SERVICE_UNKNOWN : it->second;
}

void HealthService::SetServing(bool serving) {
  absl::MutexLock lock(&mu_);
  for (auto& [name, status] : status_) {
    status = serving ? HealthCheckResponse::SERVING : HealthCheckResponse::NOT_SERVING;
  }
  for (Watcher* watcher : watchers_) watcher->Send(StatusOfLocked(watcher->watched()));
}

void HealthService::Shutdown() {
  absl::MutexLock lock(&mu_);
  shut_down_ = true;
  for (Watcher* watcher : watchers_) watcher->End(grpc::Status::OK);
}

int HealthService::open_watches() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(watchers_.size());
}

void HealthService::Forget(Watcher* watcher) {
  absl::MutexLock lock(&mu_);
  watchers_.erase(watcher);
}

grpc::ServerUnaryReactor* HealthService::Check(grpc::CallbackServerContext* context,
                                               const HealthCheckRequest* request,
                                               HealthCheckResponse* response) {
  auto* reactor = context->DefaultReactor();
  ServingStatus status;
  {
    absl::MutexLock lock(&mu_);
    status = StatusOfLocked(request->service());
  }
  if (status == HealthCheckResponse::SERVICE_UNKNOWN) {
    reactor->Finish(grpc::Status(grpc::StatusCode::NOT_FOUND,
                                 "no such service: '" + request->service() + "'"));
  } else {
    response->set_status(status);
    reactor->Finish(grpc::Status::OK);
  }
  return reactor;
}

grpc::ServerWriteReactor<HealthCheckResponse>* HealthService::Watch(
    grpc::CallbackServerContext* context, const HealthCheckRequest* request) {
  absl::StatusOr<ResourceBudget::Lease> lease =
      watch_budget_.Take(1, PeerHost(context->peer()));
  absl::MutexLock lock(&mu_);
  if (lease.ok() && shut_down_) lease = absl::UnavailableError("server is shutting down");
  auto* watcher = new Watcher(this, request->service(),
                              lease.ok() ? std::move(*lease) : ResourceBudget::Lease());
  if (!lease.ok()) {
    watcher->End(ToGrpcStatus(lease.status()));
    return watcher;  // Forget finds nothing to erase
  }
  watchers_.insert(watcher);
  watcher->Send(StatusOfLocked(request->service()));
  return watcher;
}

}  // namespace wave
