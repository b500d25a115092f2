// grpc.health.v1.Health (Check and Watch) with bounded Watch streams: the
// default service gRPC ships keeps any number of Watch streams open for ever,
// so one peer could hold thousands. Here Watch streams are bounded
// server-wide and per client (by address: probes carry no token), and
// Shutdown ends them all, so that a draining server is not held open by its
// watchers.
//
// Thread-safe: every method may be called from any thread; gRPC calls the
// handlers on its own threads.
#ifndef WAVE_SERVER_HEALTH_SERVICE_H_
#define WAVE_SERVER_HEALTH_SERVICE_H_

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "server/resource_budget.h"

namespace wave {

class HealthService : public grpc::health::v1::Health::CallbackService {
 public:
  // Answers for "" and for each of `services`. `watch_budget`: how many Watch
  // streams may be open, and each client's share of them.
  HealthService(std::vector<std::string> services, BudgetSpec watch_budget,
                std::function<void(int64_t open)> on_watch_change = nullptr);
  ~HealthService() override;

  // SERVING or NOT_SERVING for every service; watchers are told.
  void SetServing(bool serving);
  // Ends every Watch stream (OK) and refuses new ones: before the server's
  // own Shutdown, which would otherwise wait for them.
  void Shutdown();
  int open_watches() const;

  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* context,
                                  const grpc::health::v1::HealthCheckRequest* request,
                                  grpc::health::v1::HealthCheckResponse* response) override;
  grpc::ServerWriteReactor<grpc::health::v1::HealthCheckResponse>* Watch(
      grpc::CallbackServerContext* context,
      const grpc::health::v1::HealthCheckRequest* request) override;

 private:
  class Watcher;
  using ServingStatus = grpc::health::v1::HealthCheckResponse::ServingStatus;
  ServingStatus StatusOfLocked(const std::string& service) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Forget(Watcher* watcher);

  ResourceBudget watch_budget_;
  mutable absl::Mutex mu_;
  std::map<std::string, ServingStatus> status_ ABSL_GUARDED_BY(mu_);
  std::set<Watcher*> watchers_ ABSL_GUARDED_BY(mu_);
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace wave

#endif  // WAVE_SERVER_HEALTH_SERVICE_H_
