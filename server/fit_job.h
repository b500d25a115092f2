// The domain work of one Initialize call between its upload and its
// download, run on a fit pool worker: for each target, a kept result
// recomposed or a new fit (one fit per identical request in flight: the
// result cache's single-flight), then its files. A resumed download
// recomposes the kept result and starts at the client's offset. The reactor
// (server/initialize_reactor.h) only moves bytes; it gives the job a check
// (is the client still there, is the deadline near) and a sink for progress.
//
// Not thread-safe: one per call, run on one worker thread.
#ifndef WAVE_SERVER_FIT_JOB_H_
#define WAVE_SERVER_FIT_JOB_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/request_builder.h"
#include "server/result_cache.h"
#include "server/service_context.h"
#include "server/target_download.h"

namespace wave {

using TargetDownloads = std::vector<std::unique_ptr<TargetDownload>>;

class FitJob {
 public:
  // `alive` is checked between fit steps (and while waiting for an identical
  // fit): a non-OK status stops the job. `send_progress` takes a progress
  // message; it must not block.
  FitJob(ServiceContext& service, CheckFn alive,
         std::function<void(const v1::InitializeResponse&)> send_progress)
      : service_(service), alive_(std::move(alive)), send_progress_(std::move(send_progress)) {}

  // Every target of `call`, one after another. Each fit stops past the
  // server's --max_fit_seconds.
  absl::StatusOr<TargetDownloads> Fit(InitCall& call);
  // The kept result of `resume`, from its file and offset; `target_name`
  // names it for the log.
  absl::StatusOr<TargetDownloads> Resume(const ResumeRequest& resume, std::string* target_name);

 private:
  absl::StatusOr<std::unique_ptr<TargetDownload>> FitTarget(InitCall& call, size_t index);
  // A kept fit's files again, the stream starting at `file`, `offset`.
  absl::StatusOr<std::unique_ptr<TargetDownload>> Recompose(const CachedFit& fitted,
                                                            const std::string& file,
                                                            uint64_t offset, uint32_t chunk_bytes);
  absl::StatusOr<FileSource> Source(const TemplateBank& bank, const ViTConfig& target,
                                    const FitOptions& fit, const v1::OutputOptions& output,
                                    const v1::InitializeHeader& resolved) const;

  ServiceContext& service_;
  const CheckFn alive_;
  const std::function<void(const v1::InitializeResponse&)> send_progress_;
};

// A progress message of `phase` (and, during the fit, its step and figures).
v1::InitializeResponse ProgressMessage(const std::string& phase, int64_t step = 0,
                                       int64_t total = 0, double loss = 0, double accuracy = 0);

}  // namespace wave

#endif  // WAVE_SERVER_FIT_JOB_H_
