#include "server/fit_job.h"

#include "absl/strings/str_cat.h"
#include "core/base/status_macros.h"
#include "server/bank_fit_defaults.h"
#include "server/call_watchdog.h"
#include "server/proto_convert.h"
#include "server/training_recipe.h"

namespace wave {

v1::InitializeResponse ProgressMessage(const std::string& phase, int64_t step, int64_t total,
                                       double loss, double accuracy) {
  v1::InitializeResponse r;
  auto* p = r.mutable_progress();
  p->set_phase(phase);
  p->set_step(step);
  p->set_total_steps(total);
  p->set_loss(loss);
  p->set_accuracy(accuracy);
  return r;
}

namespace {

// The figures of a fit that its summary reports; what a cache hit reports again.
v1::Summary FitSummary(const TemplateBank& bank, const ViTConfig& target, const FitReport& r) {
  v1::Summary s;
  ToProto(target, s.mutable_target());
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
  s.set_fit_precision(std::string(PrecisionName(r.precision)));
  s.set_fit_precision_note(r.precision_note);
  s.set_head_refit_kept(r.head_refit_kept);
  return s;
}

}  // namespace

absl::StatusOr<FileSource> FitJob::Source(const TemplateBank& bank, const ViTConfig& target,
                                          const FitOptions& fit, const v1::OutputOptions& output,
                                          const v1::InitializeHeader& resolved) const {
  FileSource source;
  ASSIGN_OR_RETURN(source.recipe,
                   TrainingRecipeFor(bank, target, OnBankClasses(bank, target.classes,
                                                                 fit.head_from_bank)));
  source.bank = &bank;
  source.target = target;
  source.fit = fit;
  source.output = output;
  source.class_names.assign(resolved.class_names().begin(), resolved.class_names().end());
  source.device = service_.device;
  source.default_chunk_bytes = static_cast<size_t>(service_.options.chunk_bytes);
  return source;
}

absl::StatusOr<TargetDownloads> FitJob::Fit(InitCall& call) {
  TargetDownloads downloads;
  for (size_t i = 0; i < call.targets.size(); ++i) {
    ASSIGN_OR_RETURN(std::unique_ptr<TargetDownload> download, FitTarget(call, i));
    download->target_index = static_cast<int>(i);
    download->summary().set_target_index(static_cast<int>(i));
    downloads.push_back(std::move(download));
  }
  return downloads;
}

absl::StatusOr<std::unique_ptr<TargetDownload>> FitJob::FitTarget(InitCall& call, size_t index) {
  const int64_t fit_started = CallWatchdog::Now();
  const double max_fit_s = service_.options.bounds.max_fit_s;
  auto check = [&]() -> absl::Status {
    RETURN_IF_ERROR(alive_());
    if (CallWatchdog::SecondsSince(fit_started) > max_fit_s) {
      return absl::DeadlineExceededError(
          absl::StrCat("the fit ran past the server's limit of ", max_fit_s, " s"));
    }
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(check());
  const TemplateBank& bank = *call.bank;
  InitCall::Target& t = call.targets[index];
  const std::string key =
      ResultCache::Key(service_.ResultContext(), bank.file_sha256, t.resolved, call.data_sha256);
  // An identical fit in flight is waited for; a finished one is recomposed.
  ASSIGN_OR_RETURN(ResultCache::Lookup lookup, service_.cache->FindOrLead(key, check));
  if (lookup.hit) return Recompose(*lookup.hit, kModelFileName, 0, call.output.chunk_bytes());
  const ViTConfig& target = t.request.target();
  const FitOptions& fit = t.request.fit();
  int64_t steps_done = 0;
  auto progress = [&](const FitProgress& p) {
    service_.metrics->AddFitSteps(p.step - steps_done);
    steps_done = p.step;
    v1::InitializeResponse message = ProgressMessage("fit", p.step, p.total, p.loss, p.accuracy);
    message.mutable_progress()->set_target_index(static_cast<int>(index));
    send_progress_(message);
  };
  ASSIGN_OR_RETURN(InitResult result, InitializeTarget(t.request, progress, check));
  t.request.ReleaseFewShot();  // this target's share of the upload

  auto fitted = std::make_shared<CachedFit>();
  fitted->key = key;
  fitted->bank_sha256 = bank.file_sha256;
  fitted->header = t.resolved;
  fitted->scalers = result.scalers;
  fitted->head = result.head;
  fitted->target = target;
  fitted->fit = fit;
  const FitReport report = result.report;
  ASSIGN_OR_RETURN(FileSource source, Source(bank, target, fit, call.output, t.resolved));
  ASSIGN_OR_RETURN(auto download, TargetDownload::Make(source, std::move(result)));
  fitted->summary = FitSummary(bank, target, report);
  // Measured on the bytes returned (again, when the dtype rounds them).
  fitted->summary.set_held_out_accuracy(download->summary().held_out_accuracy());
  // A hit recomposes these very bytes: their digests are kept, not recomputed.
  fitted->summary.set_model_sha256(download->summary().model_sha256());
  fitted->summary.set_scalers_sha256(download->summary().scalers_sha256());
  lookup.lead->Complete(fitted);

  download->result_key = key;
  v1::Summary& s = download->summary();
  s.MergeFrom(fitted->summary);
  s.set_result_key(key);
  auto& secs = *s.mutable_seconds();
  secs["scaler_init"] = report.seconds_scaler_init;
  secs["fit"] = report.seconds_fit;
  secs["compose"] = report.seconds_compose;
  return download;
}

absl::StatusOr<std::unique_ptr<TargetDownload>> FitJob::Recompose(const CachedFit& fitted,
                                                                  const std::string& file,
                                                                  uint64_t offset,
                                                                  uint32_t chunk_bytes) {
  const int64_t started = CallWatchdog::Now();
  ASSIGN_OR_RETURN(std::shared_ptr<const TemplateBank> bank,
                   service_.banks.Get(fitted.header.bank()));
  if (bank->file_sha256 != fitted.bank_sha256) {
    return absl::NotFoundError(absl::StrCat("result ", fitted.key, " came from an earlier bank '",
                                            fitted.header.bank(), "'; ask again with the data"));
  }
  ViTConfig target;
  FitOptions fit;
  if (fitted.target && fitted.fit) {
    target = *fitted.target;
    fit = *fitted.fit;
  } else {  // read from the directory: checked here, once per use
    fit = ApplyFitHeader(fitted.header.fit());
    fit.device = service_.device;
    const auto& t = fitted.header.target();
    ASSIGN_OR_RETURN(CheckedRequest request, CheckedRequest::Create(*bank, t.depth(), t.width(),
                                                                    t.heads(), t.classes(), fit));
    target = request.target();
    fit = request.fit();
  }
  ASSIGN_OR_RETURN(InitResult result, RecomposeFitted(*bank, target, fitted.scalers, fitted.head,
                                                      service_.device));
  result.report.held_out = fitted.summary.held_out();
  result.report.held_out_accuracy = fitted.summary.held_out_accuracy();
  result.report.trainable_params = fitted.summary.trainable_params();
  v1::OutputOptions output = fitted.header.output();
  output.set_chunk_bytes(chunk_bytes);
  ASSIGN_OR_RETURN(FileSource source, Source(*bank, target, fit, output, fitted.header));
  ASSIGN_OR_RETURN(auto download,
                   TargetDownload::Make(source, std::move(result), &fitted.summary));
  download->result_key = fitted.key;
  v1::Summary& s = download->summary();
  s.MergeFrom(fitted.summary);
  s.set_result_key(fitted.key);
  s.set_cache_hit(true);
  (*s.mutable_seconds())["compose"] = CallWatchdog::SecondsSince(started);
  RETURN_IF_ERROR(download->SkipTo(file, offset));
  return download;
}

absl::StatusOr<TargetDownloads> FitJob::Resume(const ResumeRequest& resume,
                                               std::string* target_name) {
  if (!service_.cache->enabled()) {
    return absl::FailedPreconditionError(
        "this server keeps no results (--cache_bytes=0): downloads cannot resume");
  }
  std::shared_ptr<const CachedFit> fitted = service_.cache->Find(resume.key);
  if (!fitted) {
    return absl::NotFoundError(
        absl::StrCat("result ", resume.key, " is not kept (any more); ask again with the data"));
  }
  *target_name = absl::StrCat(fitted->header.target().depth(), "x",
                              fitted->header.target().width(), " (resume)");
  ASSIGN_OR_RETURN(std::unique_ptr<TargetDownload> download,
                   Recompose(*fitted, resume.file, resume.offset, resume.chunk_bytes));
  TargetDownloads downloads;
  downloads.push_back(std::move(download));
  return downloads;
}

}  // namespace wave
