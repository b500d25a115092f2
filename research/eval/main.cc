// wave-eval: WAVE against the baselines on Fashion-MNIST, for several target
// sizes: test accuracy after initialization and after each training epoch.
#include <ATen/Parallel.h>
#include <c10/core/GradMode.h>
#include <sys/stat.h>
#include <torch/optim/adamw.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <set>
#include <thread>
#include <tuple>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "core/base/file_util.h"
#include "core/base/flags_usage.h"
#include "core/base/status_macros.h"
#include "core/base/stopwatch.h"
#include "core/init/initialize.h"
#include "core/learn/baselines.h"
#include "core/learn/learn.h"
#include "core/model/dataset.h"
#include "core/model/train_loop.h"
#include "core/model/vit.h"
#include "tools/common/data_flags.h"
#include "research/eval/report.h"
#include "server/options.h"
#include "server/request_builder.h"

ABSL_FLAG(std::string, bank, "models/fashion-mnist-vit.safetensors", "Template bank.");
ABSL_FLAG(std::string, ancestry, "models/fashion-mnist-vit.ancestry.safetensors",
          "The bank's ancestry (timm names), for Weight Selection and Heur-LG.");
ABSL_FLAG(std::string, sizes, "3x128,12x128,6x64,6x256,9x192",
          "Target sizes DEPTHxWIDTH, comma-separated.");
ABSL_FLAG(std::string, methods, "wave,wave-naive,direct,weight-selection,heur-lg,mimetic",
          "Initializations to compare (also wave-select: WAVE with tiles selected across "
          "width, ScalerInit::kSelect; wave-default: the server's fit for a request that sets "
          "no fit option, the bank's own defaults included, which ignores the --fit_* flags).");
ABSL_FLAG(std::string, val_data, "",
          "Validation images (--split=val). Default: --val_samples carved from the pool.");
ABSL_FLAG(int64_t, epochs, 5, "Training epochs after initialization.");
ABSL_FLAG(int64_t, train_samples, 10000, "Fixed stratified training subset (0: all 60k).");
ABSL_FLAG(int64_t, test_samples, 0, "Test images used (0: all 10k).");
ABSL_FLAG(int64_t, few_shot, 1000, "Labelled images every method gets before epoch 0.");
ABSL_FLAG(int64_t, fit_steps, 200, "Steps of the few-shot budget.");
ABSL_FLAG(int64_t, fit_batch, 64, "Batch of the few-shot budget.");
ABSL_FLAG(int64_t, fit_held_out, 0,
          "WAVE only: few-shot images held out of the fit for early stopping, as the service "
          "does (0: none; the fit then runs every step).");
ABSL_FLAG(int64_t, eval_every, 0, "WAVE only: early stopping's measurement interval (steps).");
ABSL_FLAG(int64_t, patience, 0, "WAVE only: early stopping's patience (measurements).");
ABSL_FLAG(int64_t, fit_head_steps, 0,
          "WAVE only: steps of the head alone on the initialized body's features before "
          "--fit_steps (forward passes: the fit samples, once).");
ABSL_FLAG(int64_t, fit_tail_blocks, 0,
          "WAVE only: the scaler steps train the last this many blocks, on the tokens the "
          "blocks before them give once (0: every block). Passes count a step through k of "
          "L blocks as k/L of a pass.");
ABSL_FLAG(int64_t, fit_head_refit_steps, 0,
          "WAVE only: after the scaler steps, full-batch steps of the head alone on the "
          "features of the fit samples (forward passes: fit and held-out samples, once); kept "
          "unless the held-out accuracy drops.");
ABSL_FLAG(double, fit_max_passes, 0,
          "WAVE only: scaler steps at most this many passes over the fit samples (0: "
          "--fit_steps as given).");
ABSL_FLAG(bool, fit_head_from_bank, false,
          "WAVE only: start the head from the bank's (resampled to the target's width) where "
          "the class counts agree, as the service does; with --classes, the bank's head maps "
          "other classes onto the target's.");
ABSL_FLAG(std::string, aux_mix, "nearest",
          "WAVE only, banks with several auxiliaries: the target's scalers from the nearest "
          "auxiliary (nearest), the nearest no wider than the target (narrower) or the two "
          "nearest weighted by inverse distance (blend).");
ABSL_FLAG(double, fit_distill, 0,
          "Weight of distillation from the ancestry in every method's few-shot budget "
          "(loss = CE + w * T^2 * KL at T = 2); 0: labels only.");
ABSL_FLAG(std::string, fit_precision, "",
          "WAVE's fits: the forward passes' arithmetic, auto, f32 or bf16 "
          "(core/model/precision.h; a CPU without AVX512-BF16 runs f32 and says so). Empty: "
          "f32, and wave-default at the server's default (wave-server --fit_precision).");
ABSL_FLAG(double, lr, 1e-3, "Peak learning rate of training.");
ABSL_FLAG(double, warmup_epochs, 0.2, "Linear learning-rate warm-up of training, in epochs.");
ABSL_FLAG(int64_t, batch, 128, "Training batch.");
ABSL_FLAG(std::string, seeds, "1",
          "Seeds, comma-separated; every (seed, size, method) is one run, paired by seed in the "
          "report.");
ABSL_FLAG(std::string, classes, "",
          "Fashion-MNIST classes of the target task, relabelled 0.. in this order (e.g. "
          "5,6,7,8,9 for transfer from a bank learned on 0-4); empty: the bank's own task. "
          "Every head is fitted fresh; distillation is refused (the ancestry knows other "
          "classes).");
ABSL_FLAG(int64_t, val_samples, 0,
          "Validation images carved (stratified) from the training images before the "
          "training subset is drawn, so the training data are the same whatever --split.");
ABSL_FLAG(std::string, split, "test",
          "Where accuracy is measured: test (the final figures) or val (every choice of "
          "recipe; needs --val_samples).");
ABSL_FLAG(std::string, label, "",
          "Name the rows are recorded under (one method only), e.g. wave-s50 in a fit-steps "
          "sweep; empty: the method's name.");
ABSL_FLAG(std::string, csv, "results.csv", "CSV in --out_dir this run appends to.");
ABSL_FLAG(bool, resume, false, "Keep the CSV and skip the runs whose last epoch it already has.");
ABSL_FLAG(int32_t, threads, 0, "LibTorch threads (0: all cores).");
ABSL_FLAG(std::string, out_dir, "research/results", "Where results.csv/.md/.png go.");
ABSL_FLAG(bool, report, true,
          "After the runs, write the CSV's tables and plots into --out_dir. Scripts that "
          "report with --report_only pass --noreport, so that a running evaluation leaves "
          "the committed reports alone.");
ABSL_FLAG(bool, report_only, false,
          "Only write results.md and the plots in --out_dir from the CSVs in --inputs.");
ABSL_FLAG(std::string, inputs, "",
          "CSVs merged by --report_only, comma-separated; empty: --out_dir/--csv.");
ABSL_FLAG(std::string, reference, "wave", "Method the report's paired differences start from.");
ABSL_FLAG(std::string, report_epochs, "0,1,5", "Epochs the paired differences compare.");
ABSL_FLAG(std::string, yardstick, "direct",
          "Method whose final accuracy the compute table measures the others against.");

namespace wave {
namespace {

// The flags, read once in Run; the helpers below never read flags.
struct EvalOptions {
  int64_t fit_steps = 0, fit_batch = 0, few_shot = 0;
  int64_t fit_held_out = 0, eval_every = 0, patience = 0, fit_head_steps = 0;
  double fit_max_passes = 0;
  int64_t fit_tail_blocks = 0, fit_head_refit_steps = 0;
  bool fit_head_from_bank = false;
  AuxiliaryMix aux_mix = AuxiliaryMix::kNearest;
  Precision fit_precision = Precision::kFloat32;         // WAVE's fits
  Precision served_fit_precision = Precision::kFloat32;  // wave-default's: the server's
  double fit_distill = 0;
  int64_t epochs = 0, batch = 0, train_samples = 0, test_samples = 0, val_samples = 0;
  double lr = 0, warmup_epochs = 0;
  std::vector<int64_t> classes;  // empty: the bank's own task
  std::string split, label;
};

absl::StatusOr<std::vector<int64_t>> ParseList(const std::string& flag, const std::string& text) {
  std::vector<int64_t> out;
  for (auto part : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    int64_t v;
    if (!absl::SimpleAtoi(part, &v) || v < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", flag, ": '", part, "' is not a non-negative integer"));
    }
    out.push_back(v);
  }
  return out;
}

absl::StatusOr<EvalOptions> EvalOptionsFromFlags() {
  EvalOptions o;
  o.fit_steps = absl::GetFlag(FLAGS_fit_steps);
  o.fit_batch = absl::GetFlag(FLAGS_fit_batch);
  o.few_shot = absl::GetFlag(FLAGS_few_shot);
  o.fit_held_out = absl::GetFlag(FLAGS_fit_held_out);
  o.eval_every = absl::GetFlag(FLAGS_eval_every);
  o.patience = absl::GetFlag(FLAGS_patience);
  o.fit_head_steps = absl::GetFlag(FLAGS_fit_head_steps);
  o.fit_max_passes = absl::GetFlag(FLAGS_fit_max_passes);
  o.fit_tail_blocks = absl::GetFlag(FLAGS_fit_tail_blocks);
  o.fit_head_refit_steps = absl::GetFlag(FLAGS_fit_head_refit_steps);
  o.fit_head_from_bank = absl::GetFlag(FLAGS_fit_head_from_bank);
  ASSIGN_OR_RETURN(o.aux_mix, ParseAuxiliaryMix(absl::GetFlag(FLAGS_aux_mix)));
  const std::string precision = absl::GetFlag(FLAGS_fit_precision);
  std::string precision_note;
  ASSIGN_OR_RETURN(o.fit_precision,
                   ResolvePrecisionSetting(precision.empty() ? "f32" : precision,
                                           at::Device(at::kCPU), &precision_note));
  ASSIGN_OR_RETURN(o.served_fit_precision,
                   ResolvePrecisionSetting(
                       precision.empty() ? ServerOptions().fit_precision : precision,
                       at::Device(at::kCPU), nullptr));
  if (!precision_note.empty()) std::fprintf(stderr, "wave-eval: %s\n", precision_note.c_str());
  o.fit_distill = absl::GetFlag(FLAGS_fit_distill);
  o.epochs = absl::GetFlag(FLAGS_epochs);
  o.batch = absl::GetFlag(FLAGS_batch);
  o.train_samples = absl::GetFlag(FLAGS_train_samples);
  o.test_samples = absl::GetFlag(FLAGS_test_samples);
  o.val_samples = absl::GetFlag(FLAGS_val_samples);
  o.lr = absl::GetFlag(FLAGS_lr);
  o.warmup_epochs = absl::GetFlag(FLAGS_warmup_epochs);
  o.split = absl::GetFlag(FLAGS_split);
  o.label = absl::GetFlag(FLAGS_label);
  ASSIGN_OR_RETURN(o.classes, ParseList("classes", absl::GetFlag(FLAGS_classes)));
  if (!(o.fit_distill >= 0) || !std::isfinite(o.fit_distill)) {
    return absl::InvalidArgumentError("--fit_distill: must be >= 0 and finite");
  }
  if (!o.classes.empty() && o.fit_distill > 0) {
    return absl::InvalidArgumentError(
        "--fit_distill: the ancestry's classes are not the target's (--classes)");
  }
  if (o.split != "test" && o.split != "val") {
    return absl::InvalidArgumentError("--split: test or val");
  }
  if (o.split == "val" && o.val_samples <= 0 && absl::GetFlag(FLAGS_val_data).empty()) {
    return absl::InvalidArgumentError("--split=val: needs --val_data or --val_samples");
  }
  return o;
}

struct Context {
  EvalOptions options;
  TemplateBank bank;
  TensorMap ancestry;
  Dataset train, few_shot, eval;  // eval: the validation or the test images
  int64_t classes = 0;            // of the target task
  std::vector<double> mean, std;
  uint64_t seed = 0;
};

// Trains only the head for the few-shot budget: what every baseline spends
// the images and steps on that WAVE spends on scalers and head.
void FitHead(TensorMap& params, const ViTConfig& c, const Context& ctx) {
  for (auto& [name, t] : params) t = t.detach().set_requires_grad(false);
  params["head.weight"].set_requires_grad(true);
  params["head.bias"].set_requires_grad(true);
  FitOptions defaults;
  const int64_t steps = ctx.options.fit_steps, batch = ctx.options.fit_batch;
  ScheduledAdamW optimizer({{{params["head.weight"], params["head.bias"]}, defaults.head_lr, 0}},
                           {steps, 0, 0.0});
  at::Generator gen = MakeGenerator(ctx.seed + 3);
  const at::Tensor x_all = Normalize(ctx.few_shot.images, ctx.mean, ctx.std);
  const double distill = ctx.options.fit_distill;
  at::Tensor teacher_logits;
  if (distill > 0) {
    c10::NoGradGuard no_grad;
    teacher_logits = VitForward(ctx.bank.ancestry, ctx.ancestry, x_all);
  }
  for (int64_t s = 0; s < steps; ++s) {
    at::Tensor idx = at::randint(0, ctx.few_shot.size(), {batch}, gen, at::kLong);
    at::Tensor logits = VitForward(c, params, x_all.index_select(0, idx));
    at::Tensor y = ctx.few_shot.labels.index_select(0, idx);
    at::Tensor loss = distill > 0 ? DistillLoss(logits, teacher_logits.index_select(0, idx), y,
                                                defaults.distill_temperature, distill)
                                  : at::cross_entropy_loss(logits, y);
    optimizer.Step(s, loss);
  }
  for (auto& [name, t] : params) t = t.detach();
}

// The initialized weights and what the few-shot budget cost in image passes.
struct Initialized {
  TensorMap params;
  double passes = 0, forward_passes = 0;
};

// WAVE's fit with options `o`, and what it cost: early stopping may end the
// fit early, and measures the held-out images (forward only) at step 0,
// every eval_every steps and the last. A fit of the last k of L blocks
// counts its steps and measurements as k/L of a pass each, and the blocks
// before them, run once over the fit and held-out images, as (L-k)/L of a
// forward pass (the patch embedding and head are left out of both: under 1%
// of a block's arithmetic at these sizes).
absl::StatusOr<Initialized> InitializeWave(const Context& ctx, const ViTConfig& c,
                                           const FitOptions& o, Initialized out) {
  ASSIGN_OR_RETURN(InitResult r, InitializeTarget(ctx.bank, c, ctx.few_shot, o));
  out.params = std::move(r.weights);
  const double trained = static_cast<double>(r.report.trained_blocks) / c.depth;
  out.passes = static_cast<double>(r.report.steps_run * o.batch) * trained;
  out.forward_passes += static_cast<double>(r.report.feature_passes) * trained;
  out.forward_passes += static_cast<double>(r.report.token_passes) * (1 - trained);
  if (o.eval_every > 0 && r.report.held_out > 0) {
    const int64_t measured = 1 + r.report.steps_run / o.eval_every +
                             (r.report.steps_run % o.eval_every != 0 ? 1 : 0);
    out.forward_passes += static_cast<double>(measured * r.report.held_out) * trained;
  }
  return out;
}

absl::StatusOr<Initialized> Initialize(const std::string& method, const ViTConfig& c,
                                       const Context& ctx) {
  const EvalOptions& eo = ctx.options;
  Initialized out;
  // Every method runs fit_steps batches forward and backward (the
  // baselines' backward stops at the head); the teacher, when distilling,
  // sees each few-shot image once.
  out.passes = static_cast<double>(eo.fit_steps * eo.fit_batch);
  out.forward_passes = eo.fit_distill > 0 ? ctx.few_shot.size() : 0;
  if (method == "wave-default") {
    // The server's own resolution of a request that sets no fit option.
    ASSIGN_OR_RETURN(const v1::FitOptions served,
                     WithBankFitDefaults(ctx.bank, c.classes, v1::FitOptions()));
    FitOptions o = ApplyFitHeader(served);
    o.precision = ctx.options.served_fit_precision;
    return InitializeWave(ctx, c, o, std::move(out));
  }
  if (method == "wave" || method == "wave-naive" || method == "wave-select") {
    FitOptions o;
    o.steps = ctx.options.fit_steps;
    o.batch = ctx.options.fit_batch;
    o.held_out = ctx.options.fit_held_out;
    o.eval_every = ctx.options.eval_every;
    o.patience = ctx.options.patience;
    o.head_steps = ctx.options.fit_head_steps;
    o.max_passes = ctx.options.fit_max_passes;
    o.tail_blocks = ctx.options.fit_tail_blocks;
    o.head_refit_steps = ctx.options.fit_head_refit_steps;
    o.seed = ctx.seed;
    o.scaler_init = method == "wave"          ? ScalerInit::kStructured
                    : method == "wave-select" ? ScalerInit::kSelect
                                              : ScalerInit::kNaive;
    // Every method fits a fresh head, unless asked to start from the bank's.
    o.head_from_bank = ctx.options.fit_head_from_bank;
    o.aux_mix = ctx.options.aux_mix;
    o.distill_weight = ctx.options.fit_distill;
    o.precision = ctx.options.fit_precision;
    if (o.distill_weight > 0) {
      o.teacher = [&ctx](const at::Tensor& x) {
        return VitForward(ctx.bank.ancestry, ctx.ancestry, x);
      };
    }
    return InitializeWave(ctx, c, o, std::move(out));
  }
  TensorMap params;
  if (method == "direct") {
    params = DirectInit(c, ctx.seed);
  } else if (method == "weight-selection") {
    ASSIGN_OR_RETURN(params, WeightSelectionInit(ctx.ancestry, ctx.bank.ancestry, c, ctx.seed));
  } else if (method == "heur-lg") {
    ASSIGN_OR_RETURN(params, HeurLgInit(ctx.ancestry, ctx.bank.ancestry, c, ctx.seed));
  } else if (method == "mimetic") {
    params = MimeticInit(c, ctx.seed);
  } else {
    return absl::InvalidArgumentError(absl::StrCat("unknown method '", method, "'"));
  }
  FitHead(params, c, ctx);
  out.params = std::move(params);
  return out;
}

absl::Status EvaluateOne(const std::string& size_name, const ViTConfig& c,
                         const std::string& method, const Context& ctx, const std::string& csv) {
  EvalRow row;
  row.seed = ctx.seed;
  row.split = ctx.options.split;
  row.size = size_name;
  row.method = ctx.options.label.empty() ? method : ctx.options.label;
  const std::string tag = absl::StrCat(size_name, " ", row.method, " seed ", ctx.seed);
  const Stopwatch init_watch;
  auto init = Initialize(method, c, ctx);
  row.seconds = init_watch.Seconds();
  if (absl::IsFailedPrecondition(init.status())) {
    std::printf("[eval] %s: n/a (%s)\n", tag.c_str(), std::string(init.status().message()).c_str());
    return AppendCsv(csv, row);
  }
  if (!init.ok()) return init.status();
  row.passes = init->passes;
  row.forward_passes = init->forward_passes;
  TensorMap params = std::move(init->params);
  auto forward = [&](const at::Tensor& x) { return VitForward(c, params, x); };
  row.accuracy = Accuracy(forward, ctx.eval, ctx.mean, ctx.std);
  std::printf("[eval] %s epoch 0: %.2f%% (init %.1f s)\n", tag.c_str(), row.accuracy, row.seconds);
  std::fflush(stdout);
  RETURN_IF_ERROR(AppendCsv(csv, row));
  std::vector<at::Tensor> all;
  for (auto& [name, t] : params) {
    t = t.detach().clone().set_requires_grad(true);
    all.push_back(t);
  }
  TrainLoopOptions loop;
  loop.epochs = ctx.options.epochs;
  loop.batch = ctx.options.batch;
  loop.lr = ctx.options.lr;
  loop.warmup_epochs = ctx.options.warmup_epochs;
  loop.seed = ctx.seed;
  loop.mean = ctx.mean;
  loop.std = ctx.std;
  loop.log_every = 0;
  auto loss = [&](const at::Tensor& x, const at::Tensor& y) {
    return at::cross_entropy_loss(forward(x), y);
  };
  Stopwatch epoch_watch;
  return TrainLoop(
      all, ctx.train, loss, loop, [&](int64_t epoch, double, torch::optim::Optimizer&) {
        row.seconds += epoch_watch.Seconds();  // evaluation excluded
        row.passes += ctx.train.size();
        row.epoch = static_cast<int>(epoch + 1);
        row.accuracy = Accuracy(forward, ctx.eval, ctx.mean, ctx.std);
        std::printf("[eval] %s epoch %d: %.2f%%\n", tag.c_str(), row.epoch, row.accuracy);
        std::fflush(stdout);
        epoch_watch.Restart();
        return AppendCsv(csv, row);
      });
}

// The training data's name in a report: Fashion-MNIST, or the --data path.
std::string DataName() {
  const std::string data = absl::GetFlag(FLAGS_data);
  return data == kFashionMnistDir ? "Fashion-MNIST" : absl::StrCat("`", data, "`");
}

std::string Header(const Context& ctx) {
  const EvalOptions& o = ctx.options;
  return absl::StrCat(
      "Bank `", ctx.bank.name, "` (sha256 ", ctx.bank.file_sha256.substr(0, 16), "...), ancestry ",
      ctx.bank.ancestry.ShortName(), ". Task: ",
      o.classes.empty() ? "the bank's own classes"
                        : absl::StrCat(DataName(), " classes ", absl::StrJoin(o.classes, ","),
                                       " relabelled 0.. (fresh heads)"),
      ". Every method gets the same few-shot budget before epoch 0 (", o.few_shot,
      " training images, ", o.fit_steps, " steps of batch ", o.fit_batch,
      "; WAVE fits scalers and head, baselines fit their head",
      o.fit_head_from_bank ? "; WAVE's head starts from the bank's" : "",
      o.aux_mix == AuxiliaryMix::kBlend ? "; scalers blended from the two nearest auxiliaries" : "",
      o.fit_head_steps > 0 ? absl::StrCat("; WAVE first fits its head alone for ", o.fit_head_steps,
                                          " steps on features computed once")
                           : "",
      o.fit_head_refit_steps > 0
          ? absl::StrCat("; after the scaler steps WAVE refits its head alone for ",
                         o.fit_head_refit_steps, " full-batch steps on features computed once")
          : "",
      o.eval_every > 0 ? absl::StrCat("; WAVE stops early: held-out accuracy every ", o.eval_every,
                                      " steps, patience ", o.patience)
                       : "",
      o.fit_distill > 0 ? absl::StrCat("; loss: cross-entropy + ", o.fit_distill,
                                       " x T^2 x KL to the ancestry's logits at T = 2")
                        : "",
      "), then all parameters train on a fixed stratified subset of ", ctx.train.size(),
      " training images for ", o.epochs, " epochs (AdamW lr ", o.lr, ", ", o.warmup_epochs,
      " epoch(s) of linear warm-up, then cosine to 1% of the peak, batch ", o.batch,
      ", no augmentation), measured on ", ctx.eval.size(), " ",
      o.split == "val" ? absl::StrCat("validation images carved from the training images")
                       : "test images",
      ".");
}

// The runs the CSV already holds to the last epoch (--resume).
absl::StatusOr<std::set<std::string>> FinishedRuns(const std::string& csv, int64_t epochs) {
  std::set<std::string> done;
  if (!std::ifstream(csv).good()) return done;
  ASSIGN_OR_RETURN(auto rows, ReadCsv(csv));
  for (const auto& r : rows) {
    if (r.epoch == epochs || std::isnan(r.accuracy)) {
      done.insert(absl::StrCat(r.seed, "/", r.size, "/", r.method));
    }
  }
  return done;
}

absl::Status ReportOnly(const std::string& dir, const std::string& default_csv) {
  std::string inputs = absl::GetFlag(FLAGS_inputs);
  if (inputs.empty()) inputs = default_csv;
  std::vector<EvalRow> rows;
  std::vector<std::string> names;
  for (auto path : absl::StrSplit(inputs, ',', absl::SkipEmpty())) {
    ASSIGN_OR_RETURN(auto part, ReadCsv(std::string(path)));
    rows.insert(rows.end(), part.begin(), part.end());
    names.push_back(absl::StrCat("`", path, "`"));
  }
  ReportOptions options;
  options.reference = absl::GetFlag(FLAGS_reference);
  options.yardstick = absl::GetFlag(FLAGS_yardstick);
  ASSIGN_OR_RETURN(auto epochs, ParseList("report_epochs", absl::GetFlag(FLAGS_report_epochs)));
  if (epochs.empty()) return absl::InvalidArgumentError("--report_epochs: none given");
  options.epochs.assign(epochs.begin(), epochs.end());
  return WriteReport(rows, dir,
                     absl::StrCat("## Results merged from ", absl::StrJoin(names, ", "),
                                  "\n\nThe recipe of each run is in `runs.md` beside them."),
                     options);
}

// Every image brought to the bank's channels and side.
absl::Status LoadData(Context& ctx) {
  ImageLoadOptions options;
  options.channels = ctx.bank.geometry.channels;
  options.image_size = ctx.bank.geometry.image_size;
  ASSIGN_OR_RETURN(TrainAndTest data, ReadTrainAndTest(options));
  Dataset pool = std::move(data.train), test = std::move(data.test);
  Dataset given_val;
  if (const std::string val_path = absl::GetFlag(FLAGS_val_data); !val_path.empty()) {
    ASSIGN_OR_RETURN(ImageSet val_set, ReadFlagData(val_path, options));
    given_val = ToDataset(val_set);
  }
  if (!ctx.options.classes.empty()) {
    ASSIGN_OR_RETURN(pool, SelectClasses(pool, ctx.options.classes));
    ASSIGN_OR_RETURN(test, SelectClasses(test, ctx.options.classes));
  }
  // The validation images leave the pool first, with a seed of their own, so
  // the training subset is the same whether a run measures on val or test.
  Dataset val = given_val;
  if (given_val.size() > 0 && !ctx.options.classes.empty()) {
    ASSIGN_OR_RETURN(val, SelectClasses(given_val, ctx.options.classes));
  } else if (given_val.size() == 0 && ctx.options.val_samples > 0) {
    std::tie(pool, val) = SplitHeldOut(pool, ctx.options.val_samples, ctx.classes, 1000);
  }
  const int64_t n = ctx.options.train_samples;
  ctx.train = n > 0 && n < pool.size() ? StratifiedSubset(pool, n, ctx.classes, ctx.seed) : pool;
  ctx.few_shot = StratifiedSubset(ctx.train, ctx.options.few_shot, ctx.classes, ctx.seed + 1);
  if (ctx.options.split == "val") {
    ctx.eval = val;
  } else {
    ctx.eval = test;
    if (int64_t m = ctx.options.test_samples; m > 0 && m < test.size()) {
      ctx.eval = StratifiedSubset(test, m, ctx.classes, ctx.seed);
    }
  }
  return absl::OkStatus();
}

// Appends `line` to runs.md unless it is there already: a resumed evaluation
// describes the same runs again.
absl::Status RecordRun(const std::string& path, const std::string& line) {
  std::ifstream in(path);
  for (std::string existing; std::getline(in, existing);) {
    if (existing == line) return absl::OkStatus();
  }
  std::ofstream out(path, std::ios::app);
  out << line << "\n";
  if (!out) return absl::InternalError(absl::StrCat("cannot append to ", path));
  return absl::OkStatus();
}

absl::Status Run() {
  const std::string dir = absl::GetFlag(FLAGS_out_dir);
  RETURN_IF_ERROR(MakeDirectory(dir));
  const std::string csv = absl::StrCat(dir, "/", absl::GetFlag(FLAGS_csv));
  if (absl::GetFlag(FLAGS_report_only)) return ReportOnly(dir, csv);
  Context ctx;
  ASSIGN_OR_RETURN(ctx.options, EvalOptionsFromFlags());
  ASSIGN_OR_RETURN(ctx.bank, LoadBank(absl::GetFlag(FLAGS_bank)));
  ctx.mean = ctx.bank.geometry.mean;
  ctx.std = ctx.bank.geometry.std;
  ctx.classes = ctx.options.classes.empty() ? ctx.bank.ancestry.classes
                                            : static_cast<int64_t>(ctx.options.classes.size());
  std::vector<std::pair<std::string, ViTConfig>> sizes;
  for (auto part : absl::StrSplit(absl::GetFlag(FLAGS_sizes), ',', absl::SkipEmpty())) {
    ASSIGN_OR_RETURN(ViTConfig c, ParseTargetSize(part, ctx.classes, ctx.bank.geometry));
    sizes.emplace_back(std::string(part), c);
  }
  std::vector<std::string> methods = absl::StrSplit(absl::GetFlag(FLAGS_methods), ',');
  if (!ctx.options.label.empty() && methods.size() != 1) {
    return absl::InvalidArgumentError("--label: names the rows of one method only");
  }
  ASSIGN_OR_RETURN(auto seeds, ParseList("seeds", absl::GetFlag(FLAGS_seeds)));
  if (seeds.empty()) return absl::InvalidArgumentError("--seeds: none given");
  int threads = absl::GetFlag(FLAGS_threads);
  at::set_num_threads(threads > 0 ? threads : std::thread::hardware_concurrency());
  ASSIGN_OR_RETURN(ctx.ancestry, LoadAncestry(absl::GetFlag(FLAGS_ancestry), ctx.bank.ancestry));
  std::set<std::string> done;
  if (absl::GetFlag(FLAGS_resume)) {
    ASSIGN_OR_RETURN(done, FinishedRuns(csv, ctx.options.epochs));
  } else {
    std::remove(csv.c_str());
  }
  for (int64_t seed : seeds) {
    ctx.seed = static_cast<uint64_t>(seed);
    RETURN_IF_ERROR(LoadData(ctx));
    if (seed == seeds.front()) {
      RETURN_IF_ERROR(RecordRun(dir + "/runs.md",
                                absl::StrCat("- `", absl::GetFlag(FLAGS_csv), "`: ", Header(ctx),
                                             " Seeds ", absl::StrJoin(seeds, ","), ".")));
    }
    for (const auto& [name, config] : sizes) {
      for (const auto& method : methods) {
        const std::string label = ctx.options.label.empty() ? method : ctx.options.label;
        if (done.count(absl::StrCat(seed, "/", name, "/", label))) continue;
        RETURN_IF_ERROR(DropRun(csv, ctx.seed, name, label));  // a half-done run, redone
        RETURN_IF_ERROR(EvaluateOne(name, config, method, ctx, csv));
      }
    }
  }
  if (!absl::GetFlag(FLAGS_report)) return absl::OkStatus();
  ASSIGN_OR_RETURN(auto rows, ReadCsv(csv));
  ReportOptions options;
  return WriteReport(rows, dir, absl::StrCat("## ", absl::GetFlag(FLAGS_csv), "\n\n", Header(ctx)),
                     options);
}

}  // namespace
}  // namespace wave

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Compares WAVE with baseline initializations on Fashion-MNIST (or a subset of its "
      "classes): accuracy after initialization and after each epoch, image passes and "
      "seconds; --report_only merges CSVs into tables with paired intervals.");
  wave::ShowEveryFlagInHelp();
  absl::ParseCommandLine(argc, argv);
  absl::Status status = wave::Run();
  if (!status.ok()) {
    std::fprintf(stderr, "wave-eval: %s\n", std::string(status.message()).c_str());
    return 1;
  }
  return 0;
}
