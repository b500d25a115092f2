// What every call handler shares: options, banks, the fit pool, the budgets
// and watchdog that bound what clients hold, metrics.
#ifndef WAVE_SERVER_SERVICE_CONTEXT_H_
#define WAVE_SERVER_SERVICE_CONTEXT_H_

#include <atomic>
#include <memory>
#include <string>

#include "core/model/precision.h"
#include "server/bank_registry.h"
#include "server/call_watchdog.h"
#include "server/fit_pool.h"
#include "server/metrics.h"
#include "server/options.h"
#include "server/resource_budget.h"
#include "server/result_cache.h"

namespace wave {

struct ServiceContext {
  ServerOptions options;
  // Declared before everything that reports to it, so it is destroyed after
  // them (the pool's destructor still reports its last counts).
  std::unique_ptr<Metrics> metrics;
  BankRegistry banks;
  std::unique_ptr<FitPool> pool;
  // Every resource a client holds, each bounded server-wide and per client.
  std::unique_ptr<ResourceBudget> uploading_calls, upload_bytes, fit_places, download_bytes;
  std::unique_ptr<CallWatchdog> watchdog;
  std::unique_ptr<ResultCache> cache;
  std::string device = "cpu";  // resolved from options.device
  // A fit's precision when the request sets none, resolved from
  // options.fit_precision for `device`.
  Precision fit_precision = Precision::kFloat32;
  int torch_threads = 1;
  // What determines a result beside the request: part of every cache key.
  std::string ResultContext() const;
  std::atomic<bool> draining{false};  // set on SIGTERM: new fits are refused
};

// One structured log line per call.
void LogCall(const std::string& method, const std::string& peer, const std::string& target,
             const std::string& code, double seconds, const std::string& message);

}  // namespace wave

#endif  // WAVE_SERVER_SERVICE_CONTEXT_H_
