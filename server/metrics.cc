#include "server/metrics.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <map>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "server/metrics_http.h"

namespace wave {

struct Metrics::Impl {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  std::unique_ptr<MetricsHttpServer> http;
  prometheus::Family<prometheus::Counter>& requests =
      prometheus::BuildCounter()
          .Name("wave_requests_total")
          .Help("RPCs handled, by method and status code")
          .Register(*registry);
  prometheus::Family<prometheus::Histogram>& durations = prometheus::BuildHistogram()
                                                             .Name("wave_request_duration_seconds")
                                                             .Help("RPC wall time, by method")
                                                             .Register(*registry);
  prometheus::Counter& fit_steps = prometheus::BuildCounter()
                                       .Name("wave_fit_steps_total")
                                       .Help("Optimizer steps of few-shot fits")
                                       .Register(*registry)
                                       .Add({});
  prometheus::Counter& streamed = prometheus::BuildCounter()
                                      .Name("wave_streamed_bytes_total")
                                      .Help("Weight file bytes streamed to clients")
                                      .Register(*registry)
                                      .Add({});
  prometheus::Family<prometheus::Gauge>& fits = prometheus::BuildGauge()
                                                    .Name("wave_fits")
                                                    .Help("Fits by state (running, waiting)")
                                                    .Register(*registry);
  prometheus::Family<prometheus::Gauge>& bank_info = prometheus::BuildGauge()
                                                         .Name("wave_bank_info")
                                                         .Help("Loaded template banks")
                                                         .Register(*registry);
  prometheus::Family<prometheus::Counter>& reloads =
      prometheus::BuildCounter()
          .Name("wave_bank_reloads_total")
          .Help("Bank reloads on SIGHUP, by result (ok, failed)")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& expired =
      prometheus::BuildCounter()
          .Name("wave_calls_expired_total")
          .Help("Calls the server ended because the client was too slow, by reason")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& refusals =
      prometheus::BuildCounter()
          .Name("wave_refusals_total")
          .Help(
              "Calls refused for what they asked, by reason: busy (the server is full; add "
              "capacity), client_share (one client holds its share), limit (the request "
              "exceeds a configured limit; a client error)")
          .Register(*registry);
  prometheus::Family<prometheus::Gauge>& held =
      prometheus::BuildGauge()
          .Name("wave_client_held")
          .Help("What calls in flight hold of a bounded resource (bytes or calls)")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& cache_events =
      prometheus::BuildCounter()
          .Name("wave_result_cache_total")
          .Help(
              "Result cache lookups and removals, by event (hit, miss, eviction, "
              "dir_eviction, corrupt)")
          .Register(*registry);
  prometheus::Gauge& cached_bytes = prometheus::BuildGauge()
                                        .Name("wave_result_cache_bytes")
                                        .Help("Bytes the result cache holds in memory")
                                        .Register(*registry)
                                        .Add({});
  absl::Mutex bank_mu;
  // The series now at 1.
  std::map<std::string, prometheus::Gauge*> bank_by_name ABSL_GUARDED_BY(bank_mu);
};

Metrics::Metrics(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Metrics::~Metrics() = default;

absl::StatusOr<std::unique_ptr<Metrics>> Metrics::Create(const std::string& address) {
  auto impl = std::make_unique<Impl>();
  if (!address.empty()) {
    std::weak_ptr<prometheus::Registry> registry = impl->registry;
    MetricsHttpOptions options;
    options.address = address;
    auto http = MetricsHttpServer::Start(options, [registry] {
      auto r = registry.lock();
      return r ? prometheus::TextSerializer().Serialize(r->Collect()) : std::string();
    });
    if (!http.ok()) return http.status();
    impl->http = std::move(*http);
  }
  return std::unique_ptr<Metrics>(new Metrics(std::move(impl)));
}

int Metrics::port() const { return impl_->http ? impl_->http->port() : 0; }

void Metrics::RecordExpiry(const std::string& reason) {
  impl_->expired.Add({{"reason", reason}}).Increment();
}

void Metrics::RecordRefusal(const std::string& reason) {
  if (!reason.empty()) impl_->refusals.Add({{"reason", reason}}).Increment();
}

void Metrics::SetHeld(const std::string& resource, int64_t amount) {
  impl_->held.Add({{"resource", resource}}).Set(static_cast<double>(amount));
}

void Metrics::RecordRequest(const std::string& method, const std::string& code, double seconds) {
  impl_->requests.Add({{"method", method}, {"code", code}}).Increment();
  static const prometheus::Histogram::BucketBoundaries kBuckets = {
      0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300};
  impl_->durations.Add({{"method", method}}, kBuckets).Observe(seconds);
}

void Metrics::RecordCache(const std::string& event) {
  impl_->cache_events.Add({{"event", event}}).Increment();
}

void Metrics::SetCachedBytes(int64_t bytes) { impl_->cached_bytes.Set(double(bytes)); }

void Metrics::AddFitSteps(int64_t steps) { impl_->fit_steps.Increment(double(steps)); }
void Metrics::AddStreamedBytes(int64_t bytes) { impl_->streamed.Increment(double(bytes)); }

void Metrics::SetFits(int running, int waiting) {
  impl_->fits.Add({{"state", "running"}}).Set(running);
  impl_->fits.Add({{"state", "waiting"}}).Set(waiting);
}

void Metrics::SetBank(const std::string& name, const std::string& version,
                      const std::string& sha256) {
  absl::MutexLock lock(&impl_->bank_mu);
  // A reloaded bank replaces its old series, so one name has one series.
  prometheus::Gauge*& current = impl_->bank_by_name[name];
  prometheus::Gauge* next =
      &impl_->bank_info.Add({{"name", name}, {"version", version}, {"sha256", sha256}});
  if (current != nullptr && current != next) impl_->bank_info.Remove(current);
  current = next;
  current->Set(1);
}

void Metrics::RecordReload(bool ok) {
  impl_->reloads.Add({{"result", ok ? "ok" : "failed"}}).Increment();
}

}  // namespace wave
