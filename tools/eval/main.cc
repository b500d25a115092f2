// wave-eval: WAVE against the baselines on Fashion-MNIST, for several target
// sizes: test accuracy after initialization and after each training epoch.
#include <ATen/Parallel.h>
#include <c10/core/GradMode.h>
#include <torch/optim/adamw.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <sys/stat.h>
#include <thread>

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
#include "core/init/initialize.h"
#include "core/learn/baselines.h"
#include "core/learn/learn.h"
#include "core/model/dataset.h"
#include "core/model/train_loop.h"
#include "core/model/vit.h"
#include "tools/eval/report.h"

ABSL_FLAG(std::string, bank, "models/fashion-mnist-vit.safetensors", "Template bank.");
ABSL_FLAG(std::string, ancestry, "models/fashion-mnist-vit.ancestry.safetensors",
          "The bank's ancestry (timm names), for Weight Selection and Heur-LG.");
ABSL_FLAG(std::string, sizes, "3x128,12x128,6x64,6x256,9x192",
          "Target sizes DEPTHxWIDTH, comma-separated.");
ABSL_FLAG(std::string, methods, "wave,wave-naive,direct,weight-selection,heur-lg,mimetic",
          "Initializations to compare.");
ABSL_FLAG(int64_t, epochs, 5, "Training epochs after initialization.");
ABSL_FLAG(int64_t, train_samples, 10000, "Fixed stratified training subset (0: all 60k).");
ABSL_FLAG(int64_t, test_samples, 0, "Test images used (0: all 10k).");
ABSL_FLAG(int64_t, few_shot, 1000, "Labelled images every method gets before epoch 0.");
ABSL_FLAG(int64_t, fit_steps, 200, "Steps of the few-shot budget.");
ABSL_FLAG(int64_t, fit_batch, 64, "Batch of the few-shot budget.");
ABSL_FLAG(double, fit_distill, 0,
          "Weight of distillation from the ancestry in every method's few-shot budget "
          "(loss = CE + w * T^2 * KL at T = 2); 0: labels only.");
ABSL_FLAG(double, lr, 1e-3, "Peak learning rate of training.");
ABSL_FLAG(double, warmup_epochs, 0.2, "Linear learning-rate warm-up of training, in epochs.");
ABSL_FLAG(int64_t, batch, 128, "Training batch.");
ABSL_FLAG(uint64_t, seed, 1, "Seed.");
ABSL_FLAG(int32_t, threads, 0, "LibTorch threads (0: all cores).");
ABSL_FLAG(std::string, out_dir, "docs/eval", "Where results.csv/.md/.png go.");
ABSL_FLAG(bool, report_only, false, "Only redraw the table and plot from results.csv.");

namespace wave {
namespace {

// The flags, read once in Run; the helpers below never read flags.
struct EvalOptions {
  int64_t fit_steps = 0, fit_batch = 0, few_shot = 0;
  double fit_distill = 0;
  int64_t epochs = 0, batch = 0, train_samples = 0, test_samples = 0;
  double lr = 0, warmup_epochs = 0;
};

EvalOptions EvalOptionsFromFlags() {
  EvalOptions o;
  o.fit_steps = absl::GetFlag(FLAGS_fit_steps);
  o.fit_batch = absl::GetFlag(FLAGS_fit_batch);
  o.few_shot = absl::GetFlag(FLAGS_few_shot);
  o.fit_distill = absl::GetFlag(FLAGS_fit_distill);
  o.epochs = absl::GetFlag(FLAGS_epochs);
  o.batch = absl::GetFlag(FLAGS_batch);
  o.train_samples = absl::GetFlag(FLAGS_train_samples);
  o.test_samples = absl::GetFlag(FLAGS_test_samples);
  o.lr = absl::GetFlag(FLAGS_lr);
  o.warmup_epochs = absl::GetFlag(FLAGS_warmup_epochs);
  return o;
}

struct Context {
  EvalOptions options;
  TemplateBank bank;
  TensorMap ancestry;
  Dataset train, few_shot, test;
  double mean, std;
  uint64_t seed;
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

absl::StatusOr<TensorMap> Initialize(const std::string& method, const ViTConfig& c,
                                     const Context& ctx) {
  if (method == "wave" || method == "wave-naive") {
    FitOptions o;
    o.steps = ctx.options.fit_steps;
    o.batch = ctx.options.fit_batch;
    o.held_out = 0;
    o.seed = ctx.seed;
    o.scaler_init = method == "wave" ? ScalerInit::kStructured : ScalerInit::kNaive;
    o.distill_weight = ctx.options.fit_distill;
    if (o.distill_weight > 0) {
      o.teacher = [&ctx](const at::Tensor& x) {
        return VitForward(ctx.bank.ancestry, ctx.ancestry, x);
      };
    }
    ASSIGN_OR_RETURN(InitResult r, InitializeTarget(ctx.bank, c, ctx.few_shot, o));
    return r.weights;
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
  return params;
}

absl::Status EvaluateOne(const std::string& size_name, const ViTConfig& c,
                         const std::string& method, const Context& ctx, const std::string& csv) {
  auto t0 = std::chrono::steady_clock::now();
  auto init = Initialize(method, c, ctx);
  const double init_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (absl::IsFailedPrecondition(init.status())) {
    std::printf("[eval] %s %s: n/a (%s)\n", size_name.c_str(), method.c_str(),
                std::string(init.status().message()).c_str());
    return AppendCsv(csv, {size_name, method, 0, NAN, 0});
  }
  if (!init.ok()) return init.status();
  TensorMap params = *init;
  auto forward = [&](const at::Tensor& x) { return VitForward(c, params, x); };
  double acc = Accuracy(forward, ctx.test, ctx.mean, ctx.std);
  std::printf("[eval] %s %s epoch 0: %.2f%% (init %.1f s)\n", size_name.c_str(), method.c_str(),
              acc, init_s);
  std::fflush(stdout);
  RETURN_IF_ERROR(AppendCsv(csv, {size_name, method, 0, acc, init_s}));
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
  return TrainLoop(all, ctx.train, loss, loop,
                   [&](int64_t epoch, double, torch::optim::Optimizer&) {
                     double a = Accuracy(forward, ctx.test, ctx.mean, ctx.std);
                     std::printf("[eval] %s %s epoch %lld: %.2f%%\n", size_name.c_str(),
                                 method.c_str(), static_cast<long long>(epoch + 1), a);
                     std::fflush(stdout);
                     return AppendCsv(csv, {size_name, method, static_cast<int>(epoch + 1), a,
                                            init_s});
                   });
}

std::string Header(const Context& ctx) {
  return absl::StrCat(
      "## WAVE against the baselines on Fashion-MNIST\n\nBank `", ctx.bank.name, "` (sha256 ",
      ctx.bank.file_sha256.substr(0, 16), "...), ancestry ", ctx.bank.ancestry.ShortName(),
      ". Every method gets the same few-shot budget before epoch 0 (",
      ctx.options.few_shot, " training images, ", ctx.options.fit_steps,
      " steps of batch ", ctx.options.fit_batch,
      "; WAVE fits scalers and head, baselines fit their head",
      ctx.options.fit_distill > 0
          ? absl::StrCat("; loss: cross-entropy + ", ctx.options.fit_distill,
                         " x T^2 x KL to the ancestry's logits at T = 2")
          : "",
      "), then all parameters train on a "
      "fixed stratified subset of ",
      ctx.train.size() > 0 ? ctx.train.size() : ctx.options.train_samples,
      " training images (AdamW lr ",
      ctx.options.lr, ", ", ctx.options.warmup_epochs,
      " epoch(s) of linear warm-up, then cosine, batch ", ctx.options.batch,
      ", no augmentation) and are tested on ",
      ctx.test.size() > 0 ? ctx.test.size() : ctx.options.test_samples,
      " test images (stratified). Seed ", ctx.seed, ".");
}

absl::Status Run() {
  Context ctx;
  ctx.options = EvalOptionsFromFlags();
  if (const double w = ctx.options.fit_distill; !(w >= 0) || !std::isfinite(w)) {
    return absl::InvalidArgumentError("--fit_distill: must be >= 0 and finite");
  }
  const std::string dir = absl::GetFlag(FLAGS_out_dir);
  RETURN_IF_ERROR(MakeDirectory(dir));
  const std::string csv = dir + "/results.csv";
  ASSIGN_OR_RETURN(ctx.bank, LoadBank(absl::GetFlag(FLAGS_bank)));
  ctx.seed = absl::GetFlag(FLAGS_seed);
  ctx.mean = ctx.bank.geometry.mean;
  ctx.std = ctx.bank.geometry.std;
  std::vector<std::pair<std::string, ViTConfig>> sizes;
  for (auto part : absl::StrSplit(absl::GetFlag(FLAGS_sizes), ',', absl::SkipEmpty())) {
    ASSIGN_OR_RETURN(ViTConfig c, ParseTargetSize(part, ctx.bank.ancestry.classes,
                                                  ctx.bank.geometry));
    sizes.emplace_back(std::string(part), c);
  }
  std::vector<std::string> methods = absl::StrSplit(absl::GetFlag(FLAGS_methods), ',');
  if (absl::GetFlag(FLAGS_report_only)) {
    ASSIGN_OR_RETURN(auto rows, ReadCsv(csv));
    return WriteReport(rows, dir, Header(ctx));
  }
  int threads = absl::GetFlag(FLAGS_threads);
  at::set_num_threads(threads > 0 ? threads : std::thread::hardware_concurrency());
  ASSIGN_OR_RETURN(ctx.ancestry, LoadAncestry(absl::GetFlag(FLAGS_ancestry), ctx.bank.ancestry));
  const int64_t classes = ctx.bank.ancestry.classes;  // the task the bank was learned on
  ASSIGN_OR_RETURN(Dataset train, LoadFashionMnist("train"));
  ASSIGN_OR_RETURN(ctx.test, LoadFashionMnist("t10k"));
  if (int64_t n = ctx.options.test_samples; n > 0 && n < ctx.test.size()) {
    ctx.test = StratifiedSubset(ctx.test, n, classes, ctx.seed);
  }
  const int64_t n = ctx.options.train_samples;
  ctx.train =
      n > 0 && n < train.size() ? StratifiedSubset(train, n, classes, ctx.seed) : train;
  ctx.few_shot = StratifiedSubset(ctx.train, ctx.options.few_shot, classes, ctx.seed + 1);
  std::remove(csv.c_str());
  for (const auto& [name, config] : sizes) {
    for (const auto& method : methods) {
      RETURN_IF_ERROR(EvaluateOne(name, config, method, ctx, csv));
    }
  }
  ASSIGN_OR_RETURN(auto rows, ReadCsv(csv));
  return WriteReport(rows, dir, Header(ctx));
}

}  // namespace
}  // namespace wave

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("Compares WAVE with baseline initializations on Fashion-MNIST.");
  wave::ShowEveryFlagInHelp();
  absl::ParseCommandLine(argc, argv);
  absl::Status status = wave::Run();
  if (!status.ok()) {
    std::fprintf(stderr, "wave-eval: %s\n", std::string(status.message()).c_str());
    return 1;
  }
  return 0;
}
