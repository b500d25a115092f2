// wave-learn: builds a template bank from an ancestry ViT by
// Kronecker-constrained distillation (docs/DESIGN.md, "Learning templates").
#include <ATen/Parallel.h>

#include <chrono>
#include <optional>
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
#include "absl/time/time.h"
#include "core/base/file_util.h"
#include "core/base/flags_usage.h"
#include "core/base/status_macros.h"
#include "core/base/stopwatch.h"
#include "core/learn/data_parallel.h"
#include "core/learn/learn.h"
#include "core/model/dataset.h"
#include "core/model/precision.h"
#include "core/model/vit.h"
#include "tools/common/data_flags.h"
#include "nlohmann/json.hpp"

ABSL_FLAG(int64_t, image_size, 0,
          "Square side of the bank's images; others are resized (shorter side) and centre-cropped "
          "as torchvision's Resize then CenterCrop. 0: the data's own (square) size.");
ABSL_FLAG(int64_t, channels, 0,
          "1 or 3; grayscale is repeated into RGB, RGB becomes luma. 0: the data's own (an image "
          "folder: 3).");
ABSL_FLAG(std::string, out, "", "Bank file to write (safetensors). Required.");
ABSL_FLAG(std::string, work_dir, "",
          "Folder for checkpoints (default: <out>.work). A rerun resumes from it.");
ABSL_FLAG(std::string, name, "fashion-mnist-vit", "Bank name.");
ABSL_FLAG(std::string, version, "1", "Bank version.");
ABSL_FLAG(std::string, ancestry_in, "",
          "A pretrained standard ViT/DeiT as the ancestry: safetensors with timm names, its size "
          "and geometry read from its tensors (--ancestry, --patch are then ignored). Another "
          "class count than the data's gets a new head, and --ancestry_epochs fine-tune it on "
          "the data (the same count: used as it is). Empty: train one from scratch.");
ABSL_FLAG(int64_t, ancestry_heads, 0,
          "--ancestry_in: its attention heads (0: the file's metadata's num_heads, else its "
          "width / --head_dim).");
ABSL_FLAG(std::string, ancestry, "6x128", "Ancestry size, DEPTHxWIDTH.");
ABSL_FLAG(int64_t, ancestry_epochs, 15, "Epochs of ancestry training.");
ABSL_FLAG(double, ancestry_lr, 1e-3, "Peak learning rate of ancestry training.");
ABSL_FLAG(double, ancestry_weight_decay, 0.05, "AdamW weight decay of ancestry training.");
ABSL_FLAG(std::string, auxiliaries, "",
          "Auxiliary sizes DEPTHxWIDTH, comma-separated (default: the ancestry's).");
ABSL_FLAG(int64_t, tile, 32, "Template tile width w.");
ABSL_FLAG(int64_t, head_dim, 32, "Attention head dimension d_h.");
ABSL_FLAG(int64_t, mlp_ratio, 4, "MLP hidden width over model width.");
ABSL_FLAG(int64_t, patch, 7, "Patch side.");
ABSL_FLAG(int64_t, templates, 8, "Templates per kind (N).");
ABSL_FLAG(std::string, template_init, "svd",
          "svd: nearest Kronecker sum of the ancestry; random: from scratch.");
ABSL_FLAG(int64_t, distill_epochs, 8, "Epochs of distillation.");
ABSL_FLAG(double, distill_lr, 5e-4, "Peak learning rate of distillation.");
ABSL_FLAG(double, distill_weight_decay, 0.0, "AdamW weight decay of distillation.");
ABSL_FLAG(double, temperature, 2.0, "Distillation temperature tau.");
ABSL_FLAG(double, kl_weight, 1.0, "Weight of tau^2 * KL against the cross-entropy.");
ABSL_FLAG(int64_t, batch, 128, "Mini-batch size.");
ABSL_FLAG(int64_t, augment_pad, 2,
          "Random-crop padding with random horizontal flips; 0 turns augmentation off.");
ABSL_FLAG(int64_t, train_samples, 0, "Use only this many training images (0: all).");
ABSL_FLAG(std::string, classes, "",
          "Learn from these classes of the data only, by index, comma-separated (e.g. 0,1,2,3,4), "
          "relabelled 0.. in that order; recorded in the bank's provenance. Empty: all.");
ABSL_FLAG(int64_t, test_samples, 0, "Use only this many test images (0: all).");
ABSL_FLAG(uint64_t, seed, 1, "Seed of every random choice.");
ABSL_FLAG(int32_t, threads, 0, "LibTorch intra-op threads (0: all cores).");
ABSL_FLAG(std::string, precision, "f32",
          "Training's forward passes (ancestry and distillation): f32, bf16 (bfloat16 matrix "
          "products where the CPU has AVX512-BF16, else f32 with the reason) or auto; "
          "parameters and optimizer state stay float32. f32 by default: a bf16 bank is "
          "another draw of the recipe, not shown to match (research/banks/glyphs-ae-bf16).");
ABSL_FLAG(double, rendezvous_timeout, 120,
          "Data-parallel (WORLD_SIZE > 1): seconds for every rank to join.");
ABSL_FLAG(double, collective_timeout, 120,
          "Data-parallel: seconds a gradient allreduce may wait on a stalled peer (a peer that "
          "exits fails it at once).");

namespace wave {
namespace {

absl::Status CheckPositive(const char* flag, double value) {
  if (!(value > 0)) return absl::InvalidArgumentError(absl::StrCat("--", flag, " must be > 0"));
  return absl::OkStatus();
}

// What to learn, from the flags, checked before any data is read; the
// geometry's image side, channels and normalization, and the class count,
// are completed from the data (CompletePlan).
struct Plan {
  std::string out, work_dir;
  BankGeometry geometry;
  ViTConfig ancestry;
  std::vector<std::string> auxiliary_sizes;
  std::vector<ViTConfig> auxiliaries;
  std::string template_init;
  std::vector<int64_t> classes;  // empty: every class of the data
  std::vector<std::string> class_names;
  std::string test_source;  // where the test images came from
  std::optional<LoadedAncestry> loaded;  // --ancestry_in
  int threads = 1;
  Precision precision = Precision::kFloat32;  // what training's forward passes run at
};

absl::StatusOr<std::vector<int64_t>> ParseClasses(const std::string& text) {
  std::vector<int64_t> classes;
  for (auto part : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    int64_t c = 0;
    if (!absl::SimpleAtoi(part, &c) || c < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--classes: '", part, "' is not a class index (0, 1, ...)"));
    }
    classes.push_back(c);
  }
  if (classes.size() == 1) return absl::InvalidArgumentError("--classes: at least 2");
  return classes;
}

absl::StatusOr<Plan> PlanFromFlags() {
  Plan plan;
  plan.out = absl::GetFlag(FLAGS_out);
  if (plan.out.empty()) return absl::InvalidArgumentError("--out is required");
  std::string precision_note;
  absl::StatusOr<Precision> precision = ResolvePrecisionSetting(
      absl::GetFlag(FLAGS_precision), at::Device(at::kCPU), &precision_note);
  if (!precision.ok()) return absl::InvalidArgumentError("--precision must be auto, f32 or bf16");
  plan.precision = *precision;
  if (!precision_note.empty()) std::printf("[wave-learn] %s\n", precision_note.c_str());
  plan.work_dir =
      absl::GetFlag(FLAGS_work_dir).empty() ? plan.out + ".work" : absl::GetFlag(FLAGS_work_dir);
  BankGeometry& geometry = plan.geometry;
  geometry.tile = absl::GetFlag(FLAGS_tile);
  geometry.head_dim = absl::GetFlag(FLAGS_head_dim);
  geometry.mlp_ratio = absl::GetFlag(FLAGS_mlp_ratio);
  geometry.patch = absl::GetFlag(FLAGS_patch);
  geometry.image_size = absl::GetFlag(FLAGS_image_size);
  geometry.channels = absl::GetFlag(FLAGS_channels);
  if (geometry.channels != 0 && geometry.channels != 1 && geometry.channels != 3) {
    return absl::InvalidArgumentError("--channels must be 1 or 3 (or 0: the data's own)");
  }
  if (geometry.image_size < 0) return absl::InvalidArgumentError("--image_size must be >= 0");
  if (geometry.image_size > 0 && geometry.image_size % geometry.patch != 0) {
    return absl::InvalidArgumentError(absl::StrCat("--patch (", geometry.patch,
                                                   ") must divide --image_size (",
                                                   geometry.image_size, ")"));
  }
  if (const std::string in = absl::GetFlag(FLAGS_ancestry_in); !in.empty()) {
    ASSIGN_OR_RETURN(plan.loaded, LoadTimmAncestry(in, absl::GetFlag(FLAGS_ancestry_heads),
                                                   geometry.head_dim));
    const ViTConfig& a = plan.loaded->config;
    if (geometry.image_size > 0 && geometry.image_size != a.image_size) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--image_size ", geometry.image_size, " differs from the ancestry's ", a.image_size));
    }
    if (geometry.channels > 0 && geometry.channels != a.channels) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--channels ", geometry.channels, " differs from the ancestry's ", a.channels));
    }
    geometry.image_size = a.image_size;
    geometry.channels = a.channels;
    geometry.patch = a.patch;
    geometry.mlp_ratio = a.mlp_ratio;
    geometry.head_dim = a.head_dim();
  }
  ASSIGN_OR_RETURN(plan.classes, ParseClasses(absl::GetFlag(FLAGS_classes)));
  std::string aux_text = absl::GetFlag(FLAGS_auxiliaries);
  if (aux_text.empty()) {
    aux_text = plan.loaded ? absl::StrCat(plan.loaded->config.depth, "x", plan.loaded->config.width)
                           : absl::GetFlag(FLAGS_ancestry);
  }
  plan.auxiliary_sizes = absl::StrSplit(aux_text, ',');
  plan.template_init = absl::GetFlag(FLAGS_template_init);
  if (plan.template_init != "svd" && plan.template_init != "random") {
    return absl::InvalidArgumentError("--template_init must be 'svd' or 'random'");
  }
  RETURN_IF_ERROR(CheckPositive("ancestry_lr", absl::GetFlag(FLAGS_ancestry_lr)));
  RETURN_IF_ERROR(CheckPositive("distill_lr", absl::GetFlag(FLAGS_distill_lr)));
  RETURN_IF_ERROR(CheckPositive("temperature", absl::GetFlag(FLAGS_temperature)));
  RETURN_IF_ERROR(CheckPositive("batch", absl::GetFlag(FLAGS_batch)));
  if (absl::GetFlag(FLAGS_templates) < 1) {
    return absl::InvalidArgumentError("--templates must be at least 1");
  }
  if (absl::GetFlag(FLAGS_ancestry_epochs) < 0 || absl::GetFlag(FLAGS_distill_epochs) < 0 ||
      absl::GetFlag(FLAGS_augment_pad) < 0 || absl::GetFlag(FLAGS_kl_weight) < 0) {
    return absl::InvalidArgumentError("epochs, augment_pad and kl_weight must be >= 0");
  }
  plan.threads = absl::GetFlag(FLAGS_threads);
  if (plan.threads <= 0) plan.threads = static_cast<int>(std::thread::hardware_concurrency());
  return plan;
}

// The training and test images (ReadTrainAndTest), cut as the flags say;
// completes the plan's geometry (side, channels, per-channel mean and std of
// the training images), classes and sizes from them.
absl::StatusOr<std::pair<Dataset, Dataset>> LoadData(Plan& plan) {
  ImageLoadOptions options;
  options.channels = plan.geometry.channels;
  options.image_size = plan.geometry.image_size;
  options.threads = plan.threads;
  ASSIGN_OR_RETURN(TrainAndTest data, ReadTrainAndTest(options));
  plan.geometry.channels = data.channels;
  plan.geometry.image_size = data.image_size;
  plan.class_names = data.class_names;
  plan.test_source = data.test_source;
  Dataset train = std::move(data.train), test = std::move(data.test);
  const int64_t all_classes = static_cast<int64_t>(plan.class_names.size());
  if (!plan.classes.empty()) {
    std::vector<std::string> names;
    for (int64_t c : plan.classes) {
      if (c >= all_classes) {
        return absl::InvalidArgumentError(
            absl::StrCat("--classes: ", c, " is not a class of the data (", all_classes, ")"));
      }
      names.push_back(plan.class_names[c]);
    }
    plan.class_names = names;
    ASSIGN_OR_RETURN(train, SelectClasses(train, plan.classes));
    ASSIGN_OR_RETURN(test, SelectClasses(test, plan.classes));
  }
  const int64_t classes = static_cast<int64_t>(plan.class_names.size());
  if (int64_t n = absl::GetFlag(FLAGS_train_samples); n > 0 && n < train.size()) {
    train = StratifiedSubset(train, n, classes, absl::GetFlag(FLAGS_seed));
  }
  if (int64_t n = absl::GetFlag(FLAGS_test_samples); n > 0 && n < test.size()) {
    test = Slice(test, 0, n);
  }
  ChannelStatsOf(train, &plan.geometry.mean, &plan.geometry.std);
  RETURN_IF_ERROR(ValidateGeometry(plan.geometry));
  if (plan.loaded) {
    plan.ancestry = plan.loaded->config;
    plan.ancestry.classes = classes;
  } else {
    ASSIGN_OR_RETURN(plan.ancestry,
                     ParseTargetSize(absl::GetFlag(FLAGS_ancestry), classes, plan.geometry));
  }
  for (const auto& part : plan.auxiliary_sizes) {
    ASSIGN_OR_RETURN(ViTConfig aux, ParseTargetSize(part, classes, plan.geometry));
    plan.auxiliaries.push_back(aux);
  }
  return std::make_pair(std::move(train), std::move(test));
}

// The ancestry: trained here (resumable), or loaded from --ancestry_in and,
// when its class count is not the data's, given a new head and fine-tuned.
absl::StatusOr<TensorMap> GetAncestry(const Plan& plan, const TrainLoopOptions& loop,
                                      const Dataset& train, const Dataset& test) {
  AncestryOptions a;
  a.config = plan.ancestry;
  a.loop = loop;
  a.loop.epochs = absl::GetFlag(FLAGS_ancestry_epochs);
  a.loop.lr = absl::GetFlag(FLAGS_ancestry_lr);
  a.loop.weight_decay = absl::GetFlag(FLAGS_ancestry_weight_decay);
  a.loop.log_prefix = "ancestry";
  a.checkpoint_dir = plan.work_dir;
  if (plan.loaded) {
    a.start = plan.loaded->params;
    // Its own classes: used as it is. Others: a new head, fine-tuned.
    if (plan.loaded->config.classes == plan.ancestry.classes) return a.start;
    {
      if (a.loop.epochs == 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            "the ancestry has ", plan.loaded->config.classes, " classes and the data ",
            plan.ancestry.classes, ": give --ancestry_epochs to fine-tune it with a new head"));
      }
      TensorMap fresh = DirectInit(plan.ancestry, absl::GetFlag(FLAGS_seed));
      a.start["head.weight"] = fresh["head.weight"];
      a.start["head.bias"] = fresh["head.bias"];
    }
  }
  return TrainAncestry(a, train, test);
}

absl::StatusOr<TemplateBank> Distill(const Plan& plan, const TrainLoopOptions& loop,
                                     const TensorMap& ancestry, const Dataset& train,
                                     const Dataset& test) {
  DistillOptions d;
  d.geometry = plan.geometry;
  d.auxiliaries = plan.auxiliaries;
  d.templates_per_kind = absl::GetFlag(FLAGS_templates);
  d.init = plan.template_init == "svd" ? TemplateInit::kSvd : TemplateInit::kRandom;
  d.temperature = absl::GetFlag(FLAGS_temperature);
  d.kl_weight = absl::GetFlag(FLAGS_kl_weight);
  d.loop = loop;
  d.loop.epochs = absl::GetFlag(FLAGS_distill_epochs);
  d.loop.lr = absl::GetFlag(FLAGS_distill_lr);
  d.loop.weight_decay = absl::GetFlag(FLAGS_distill_weight_decay);
  d.checkpoint_dir = plan.work_dir;
  return DistillTemplates(d, ancestry, plan.ancestry, train, test);
}

// What made the bank, as its metadata: the command, data, accuracies, times.
std::map<std::string, std::string> Provenance(const Plan& plan, const TemplateBank& bank,
                                              const std::vector<std::string>& args,
                                              const Dataset& train, const Dataset& test,
                                              double ancestry_acc, double ancestry_secs,
                                              double total_secs) {
  const std::string ancestry_in = absl::GetFlag(FLAGS_ancestry_in);
  std::map<std::string, std::string> p = {
      {"command", absl::StrJoin(args, " ")},
      {"data", absl::StrCat(absl::GetFlag(FLAGS_data), ", ", train.size(), " train / ",
                            test.size(), " test images of ", ShapeText(plan.geometry.channels,
                            plan.geometry.image_size, plan.geometry.image_size))},
      {"test_data", plan.test_source},
      {"class_names", nlohmann::json(plan.class_names).dump()},
      {"ancestry", ancestry_in.empty() ? "trained from scratch" : ancestry_in},
      {"ancestry_test_accuracy", absl::StrCat(ancestry_acc)},
      {"ancestry_epochs", absl::StrCat(absl::GetFlag(FLAGS_ancestry_epochs))},
      {"distill_epochs", absl::StrCat(absl::GetFlag(FLAGS_distill_epochs))},
      {"seed", absl::StrCat(absl::GetFlag(FLAGS_seed))},
      {"threads", absl::StrCat(plan.threads)},
      {"precision", std::string(PrecisionName(plan.precision))},
      {"template_init", plan.template_init},
      {"classes", plan.classes.empty() ? "all" : absl::StrJoin(plan.classes, ",")},
      {"seconds_ancestry", absl::StrCat(static_cast<int64_t>(ancestry_secs))},
      {"seconds_total", absl::StrCat(static_cast<int64_t>(total_secs))},
  };
  for (const auto& aux : bank.auxiliaries) {
    p[absl::StrCat("auxiliary_", aux.config.ShortName(), "_test_accuracy")] =
        absl::StrCat(aux.accuracy);
  }
  return p;
}

// Data-parallel when WORLD_SIZE > 1 (torchrun's variables): connected
// before any data is read, so bad settings fail first.
absl::StatusOr<std::unique_ptr<ProcessGroup>> JoinGroup() {
  ASSIGN_OR_RETURN(auto env, DistributedEnvFrom([](const char* name) { return std::getenv(name); }));
  if (!env) return std::unique_ptr<ProcessGroup>();
  ProcessGroupOptions o;
  o.rendezvous_timeout = absl::Seconds(absl::GetFlag(FLAGS_rendezvous_timeout));
  o.collective_timeout = absl::Seconds(absl::GetFlag(FLAGS_collective_timeout));
  std::printf("[wave-learn] rank %lld of %lld: rendezvous at %s:%d\n",
              static_cast<long long>(env->rank), static_cast<long long>(env->world),
              env->master_addr.c_str(), env->master_port);
  std::fflush(stdout);
  return ProcessGroup::Connect(*env, o);
}

absl::Status Run(int argc, char** argv) {
  ASSIGN_OR_RETURN(Plan plan, PlanFromFlags());
  ASSIGN_OR_RETURN(std::unique_ptr<ProcessGroup> group, JoinGroup());
  at::set_num_threads(plan.threads);
  ASSIGN_OR_RETURN(auto data, LoadData(plan));
  const auto& [train, test] = data;
  RETURN_IF_ERROR(MakeDirectory(plan.work_dir));
  const Stopwatch learn_watch;

  TrainLoopOptions loop;
  loop.log = [](const std::string& line) {
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  };
  loop.batch = absl::GetFlag(FLAGS_batch);
  loop.seed = absl::GetFlag(FLAGS_seed);
  loop.mean = plan.geometry.mean;
  loop.std = plan.geometry.std;
  loop.augment_pad = absl::GetFlag(FLAGS_augment_pad);
  loop.precision = plan.precision;
  if (group) {
    loop.replicas = group->replicas();
    const std::string prefix = absl::StrCat("[rank ", group->rank(), "] ");
    loop.log = [prefix](const std::string& line) {
      std::printf("%s%s\n", prefix.c_str(), line.c_str());
      std::fflush(stdout);
    };
  }

  ASSIGN_OR_RETURN(TensorMap ancestry, GetAncestry(plan, loop, train, test));
  const double ancestry_acc = Accuracy(
      [&](const at::Tensor& x) { return VitForward(plan.ancestry, ancestry, x); }, test,
      plan.geometry.mean, plan.geometry.std);
  std::printf("[wave-learn] ancestry %s test accuracy %.2f%%\n",
              plan.ancestry.ShortName().c_str(), ancestry_acc);
  const double ancestry_secs = learn_watch.Seconds();

  ASSIGN_OR_RETURN(TemplateBank bank, Distill(plan, loop, ancestry, train, test));
  const double total_secs = learn_watch.Seconds();
  bank.name = absl::GetFlag(FLAGS_name);
  bank.version = absl::GetFlag(FLAGS_version);
  bank.provenance = Provenance(plan, bank, std::vector<std::string>(argv, argv + argc), train,
                               test, ancestry_acc, ancestry_secs, total_secs);
  if (group) {
    // Every rank finished the same steps; only rank 0 writes the bank.
    RETURN_IF_ERROR(group->Barrier());
    if (group->rank() != 0) return absl::OkStatus();
    bank.provenance["world_size"] = absl::StrCat(group->world());
  }
  RETURN_IF_ERROR(SaveBank(bank, plan.out));
  std::printf("[wave-learn] wrote %s: %lld template parameters, ancestry %.2f%%, "
              "auxiliary %.2f%%, %.0f s\n",
              plan.out.c_str(), static_cast<long long>(bank.TemplateParamCount()), ancestry_acc,
              bank.auxiliaries[0].accuracy, total_secs);
  return absl::OkStatus();
}

}  // namespace
}  // namespace wave

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Builds a WAVE template bank from labelled images: an image folder, NumPy arrays or IDX\n"
      "(Fashion-MNIST by default), from an ancestry trained here or a pretrained timm ViT.\n"
      "  wave-learn --data=DIR_OR_FILE --out=models/bank.safetensors [flags]\n"
      "  (docs/own-data.md walks through it)");
  wave::ShowEveryFlagInHelp();
  absl::ParseCommandLine(argc, argv);
  absl::Status status = wave::Run(argc, argv);
  if (!status.ok()) {
    std::fprintf(stderr, "wave-learn: %s\n", std::string(status.message()).c_str());
    return 1;
  }
  return 0;
}
