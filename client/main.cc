// wave-client: the command line for training clusters. No LibTorch.
//   wave-client health | banks | describe [--bank=NAME] | init [flags]
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "client/commands.h"
#include "core/base/file_util.h"
#include "core/base/flags_usage.h"
#include "core/base/malloc_tuning.h"

ABSL_FLAG(std::string, server, "localhost:50051",
          "Server address host:port, or a gRPC target such as dns:///NAME:PORT.");
ABSL_FLAG(std::string, lb_policy, "",
          "round_robin: spread calls over every address --server resolves to (a headless "
          "Kubernetes Service); empty: gRPC's default, pick_first (one address).");
ABSL_FLAG(std::string, token_file, "", "File with the bearer token; also $WAVE_AUTH_TOKEN.");
ABSL_FLAG(bool, tls, false, "Use TLS with the system's root certificates.");
ABSL_FLAG(std::string, tls_ca, "", "PEM CA that signed the server's certificate (turns TLS on).");
ABSL_FLAG(std::string, tls_cert, "", "PEM client certificate (mutual TLS).");
ABSL_FLAG(std::string, tls_key, "", "PEM client key (mutual TLS).");
ABSL_FLAG(double, deadline, 0, "Seconds before the call is abandoned (0: none).");
ABSL_FLAG(std::string, bank, "", "Template bank name (empty: the server's default).");
ABSL_FLAG(std::string, service, "", "The service to check (empty: the whole server).");
ABSL_FLAG(int64_t, depth, 0, "target depth (layers).");
ABSL_FLAG(int64_t, width, 0, "target width (embedding dimension).");
ABSL_FLAG(int64_t, heads, 0, "attention heads (0: width / the bank's head dim).");
ABSL_FLAG(int64_t, classes, 0,
          "classes of the task head (0: the data's: an image folder's sub-folders, else the "
          "largest label + 1).");
ABSL_FLAG(std::string, images, "",
          "labelled images: an image folder (one sub-folder per class), a .npz (images and "
          "labels, or x and y), a .npy, or an IDX images file; resized to the bank's shape.");
ABSL_FLAG(std::string, labels, "",
          "labels of a .npy or IDX --images (default: found beside them).");
ABSL_FLAG(std::string, data_format, "auto", "--images' format: auto, folder, npy, npz, idx.");
ABSL_FLAG(std::string, data, "", "safetensors file with 'images' and 'labels'.");
ABSL_FLAG(int64_t, samples, 0, "stratified subset of this many samples (0: all).");
ABSL_FLAG(int64_t, steps, -1,
          "most fit steps (-1: the bank's or the server's default, 400 with early "
          "stopping; 0: scaler initialization only).");
ABSL_FLAG(int64_t, batch, 0, "fit batch size (0: the bank's or the server's default).");
ABSL_FLAG(double, lr, 0, "scaler learning rate (0: the server's default).");
ABSL_FLAG(double, head_lr, 0, "head learning rate (0: the server's default).");
ABSL_FLAG(uint64_t, seed, 0, "seed of sampling and fitting.");
ABSL_FLAG(int64_t, held_out, -1, "samples held out to report accuracy (-1: default).");
ABSL_FLAG(int64_t, eval_every, -1,
          "early stopping measures the held-out accuracy every this many steps "
          "(0: off; -1: the server's default).");
ABSL_FLAG(int64_t, patience, -1,
          "stop after this many measurements without improvement (0: never; -1: the "
          "server's default).");
ABSL_FLAG(std::string, scaler_init, "",
          "structured | select | naive (empty: the bank's or the server's default).");
ABSL_FLAG(std::string, auxiliary, "",
          "banks with several auxiliaries: nearest | narrower (empty: the bank's or the "
          "server's default, nearest).");
ABSL_FLAG(int64_t, head_steps, -1,
          "steps of the head alone on the initialized body's features before --steps "
          "(cheap: one forward pass over the samples in all; -1: the bank's or the server's "
          "default, 0).");
ABSL_FLAG(double, max_passes, -1,
          "Scaler steps at most this many passes over the uploaded samples (the fit's cost "
          "follows the upload's size; -1: the bank's or the server's default).");
ABSL_FLAG(int64_t, tail_blocks, -1,
          "Scaler steps train only the last this many blocks, on what the blocks before them "
          "give once (each step costs that share of a pass; -1: the bank's or the server's "
          "default, 0: every block).");
ABSL_FLAG(int64_t, head_refit_steps, -1,
          "After the scaler steps, full-batch steps of the head alone on the fitted body's "
          "features (one forward pass); the new head is kept unless held-out accuracy drops. "
          "A better start for weights used as returned (-1: the bank's or the server's "
          "default, 0).");
ABSL_FLAG(std::string, precision, "",
          "f32 | bf16: the fit's arithmetic (bf16: matrix products in bfloat16, the weights "
          "stay float32; empty: the server's default, as describe shows it).");
ABSL_FLAG(bool, head_from_bank, true,
          "start the head from the bank's when the class counts agree; "
          "--nohead_from_bank when your classes mean something else.");
ABSL_FLAG(std::string, dtype, "f32", "Output dtype f32 | f16 | bf16 (half precision: half the bytes).");
ABSL_FLAG(std::string, out, "model.safetensors", "output weights file.");
ABSL_FLAG(std::string, sizes, "",
          "several targets from one upload, DEPTHxWIDTH,... (instead of --depth/--width); "
          "each written to --out_dir/vit-DEPTHxWIDTH.safetensors as it completes.");
ABSL_FLAG(std::string, out_dir, ".", "where --sizes' files go.");
ABSL_FLAG(std::string, scalers_out, "", "also fetch the fitted scalers into this file.");
ABSL_FLAG(bool, json, false, "print the summary as JSON.");
ABSL_FLAG(bool, resume, false,
          "continue the download a broken call left in --out's .part (with its .part.key); "
          "fits again when the server no longer keeps the result.");

namespace {

const char kUsage[] =
    "wave-client: initial weights for a ViT of any size from a wave-server.\n\n"
    "Commands:\n"
    "  health    [--service=NAME]        is the server serving? (exit 0 if so)\n"
    "  banks                             list the loaded template banks\n"
    "  describe  [--bank=NAME]           one bank: geometry, provenance, valid sizes\n"
    "  init      fit and download verified weights for one size (--depth --width) or\n"
    "            several (--sizes=DxW,...), from --images (a folder, .npz, .npy or IDX)\n\n"
    "`wave-client COMMAND --help` lists that command's flags.\n";

const wave::FlagGroup kConnection = {
    "Connection (every command)",
    {"server", "lb_policy", "deadline", "token_file", "tls", "tls_ca", "tls_cert", "tls_key"}};
const std::vector<wave::FlagGroup> kInitGroups = {
    {"Target", {"bank", "depth", "width", "heads", "classes", "sizes"}},
    {"Data", {"images", "labels", "data_format", "data", "samples"}},
    {"Fit (unset: the bank's or the server's defaults, as describe shows them)",
     {"steps", "batch", "lr", "head_lr", "seed", "held_out", "eval_every", "patience",
      "scaler_init", "auxiliary", "head_steps", "max_passes", "tail_blocks", "head_refit_steps",
      "head_from_bank",
      "precision"}},
    {"Output", {"out", "out_dir", "scalers_out", "dtype", "json", "resume"}},
};

// Help for `command` ("" for the program), from its own flags only.
std::string HelpFor(const std::string& command) {
  if (command == "init") {
    std::vector<wave::FlagGroup> groups = kInitGroups;
    groups.push_back(kConnection);
    return wave::GroupedHelp(
        "wave-client init: fit and download verified weights.\n"
        "  wave-client init --depth=9 --width=192 --images=DIR --out=vit.safetensors\n"
        "  wave-client init --sizes=3x64,9x192 --images=x.npz --out_dir=vits\n",
        groups, "");
  }
  if (command == "health") {
    return wave::GroupedHelp("wave-client health: exit 0 when the server is serving.\n",
                             {{"Health", {"service"}}, kConnection}, "");
  }
  if (command == "banks" || command == "describe") {
    return wave::GroupedHelp(
        "wave-client " + command + ": " +
            (command == "banks" ? "the loaded template banks.\n"
                                : "one bank: geometry, normalization, classes, valid sizes.\n"),
        {{"Bank", {"bank"}}, kConnection}, "");
  }
  // The program's help lists every flag; one no section names shows at the end.
  std::vector<wave::FlagGroup> groups = {kConnection, {"health", {"service"}}};
  for (const auto& group : kInitGroups) {
    groups.push_back({"init: " + group.title, group.flags});
  }
  return wave::GroupedHelp(kUsage, groups, "client/main.cc");
}

}  // namespace

int main(int argc, char** argv) {
  if (wave::WantsHelp(argc, argv)) {
    std::string command;
    for (int i = 1; i < argc && command.empty(); ++i) {
      if (argv[i][0] != '-') command = argv[i];
    }
    std::fputs(HelpFor(command).c_str(), stdout);
    return 0;
  }
  absl::SetProgramUsageMessage(kUsage);
  wave::ShowEveryFlagInHelp();
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  wave::KeepLargeAllocationsInHeap();
  if (args.size() != 2) {
    std::fprintf(stderr, "%s", kUsage);
    return args.size() == 1 ? 0 : 2;
  }
  const std::string command = args[1];

  wave::ConnectionOptions c;
  c.server = absl::GetFlag(FLAGS_server);
  c.lb_policy = absl::GetFlag(FLAGS_lb_policy);
  c.deadline_s = absl::GetFlag(FLAGS_deadline);
  c.tls = absl::GetFlag(FLAGS_tls);
  c.tls_ca = absl::GetFlag(FLAGS_tls_ca);
  c.tls_cert = absl::GetFlag(FLAGS_tls_cert);
  c.tls_key = absl::GetFlag(FLAGS_tls_key);
  auto token = wave::ReadBearerToken(absl::GetFlag(FLAGS_token_file));
  if (!token.ok()) {
    std::fprintf(stderr, "wave-client: %s\n", std::string(token.status().message()).c_str());
    return 1;
  }
  c.token = *token;

  if (command == "health") return wave::RunHealth(c, absl::GetFlag(FLAGS_service));
  if (command == "banks") return wave::RunBanks(c);
  if (command == "describe") return wave::RunDescribe(c, absl::GetFlag(FLAGS_bank));
  if (command != "init") {
    std::fprintf(stderr, "wave-client: unknown subcommand '%s'\n\n%s", command.c_str(), kUsage);
    return 2;
  }
  wave::InitCommand init;
  auto& h = init.header;
  h.set_bank(absl::GetFlag(FLAGS_bank));
  h.mutable_target()->set_depth(absl::GetFlag(FLAGS_depth));
  h.mutable_target()->set_width(absl::GetFlag(FLAGS_width));
  h.mutable_target()->set_heads(absl::GetFlag(FLAGS_heads));
  h.mutable_target()->set_classes(absl::GetFlag(FLAGS_classes));
  auto* fit = h.mutable_fit();
  if (absl::GetFlag(FLAGS_steps) >= 0) fit->set_steps(absl::GetFlag(FLAGS_steps));
  if (absl::GetFlag(FLAGS_batch) > 0) fit->set_batch(absl::GetFlag(FLAGS_batch));
  if (absl::GetFlag(FLAGS_lr) != 0) fit->set_lr(absl::GetFlag(FLAGS_lr));
  if (absl::GetFlag(FLAGS_head_lr) != 0) fit->set_head_lr(absl::GetFlag(FLAGS_head_lr));
  fit->set_seed(absl::GetFlag(FLAGS_seed));
  if (absl::GetFlag(FLAGS_held_out) >= 0) fit->set_held_out(absl::GetFlag(FLAGS_held_out));
  if (absl::GetFlag(FLAGS_eval_every) >= 0) fit->set_eval_every(absl::GetFlag(FLAGS_eval_every));
  if (absl::GetFlag(FLAGS_patience) >= 0) fit->set_patience(absl::GetFlag(FLAGS_patience));
  fit->set_scaler_init(absl::GetFlag(FLAGS_scaler_init));
  fit->set_auxiliary(absl::GetFlag(FLAGS_auxiliary));
  if (absl::GetFlag(FLAGS_head_steps) >= 0) fit->set_head_steps(absl::GetFlag(FLAGS_head_steps));
  if (absl::GetFlag(FLAGS_max_passes) >= 0) fit->set_max_passes(absl::GetFlag(FLAGS_max_passes));
  if (absl::GetFlag(FLAGS_tail_blocks) >= 0) {
    fit->set_tail_blocks(absl::GetFlag(FLAGS_tail_blocks));
  }
  if (absl::GetFlag(FLAGS_head_refit_steps) >= 0) {
    fit->set_head_refit_steps(absl::GetFlag(FLAGS_head_refit_steps));
  }
  fit->set_head_from_bank(absl::GetFlag(FLAGS_head_from_bank));
  fit->set_precision(absl::GetFlag(FLAGS_precision));
  const std::string dtype = absl::GetFlag(FLAGS_dtype);
  if (dtype == "f16") {
    h.mutable_output()->set_dtype(wave::v1::WEIGHT_DTYPE_F16);
  } else if (dtype == "bf16") {
    h.mutable_output()->set_dtype(wave::v1::WEIGHT_DTYPE_BF16);
  } else if (dtype != "f32") {
    std::fprintf(stderr, "wave-client: --dtype must be f32, f16 or bf16\n");
    return 2;
  }
  init.scalers_out = absl::GetFlag(FLAGS_scalers_out);
  h.mutable_output()->set_include_scalers(!init.scalers_out.empty());
  init.images = absl::GetFlag(FLAGS_images);
  init.labels = absl::GetFlag(FLAGS_labels);
  init.data_format = absl::GetFlag(FLAGS_data_format);
  init.data = absl::GetFlag(FLAGS_data);
  init.samples = absl::GetFlag(FLAGS_samples);
  init.sample_seed = absl::GetFlag(FLAGS_seed);
  init.outs = {absl::GetFlag(FLAGS_out)};
  if (const std::string sizes = absl::GetFlag(FLAGS_sizes); !sizes.empty()) {
    if (!init.scalers_out.empty()) {
      std::fprintf(stderr, "wave-client: --scalers_out takes one target, not --sizes\n");
      return 2;
    }
    init.outs.clear();
    const wave::v1::TargetArchitecture base = h.target();
    h.clear_target();
    for (absl::string_view size : absl::StrSplit(sizes, ',', absl::SkipEmpty())) {
      std::pair<std::string, std::string> dw = absl::StrSplit(size, 'x');
      int64_t depth = 0, width = 0;
      if (!absl::SimpleAtoi(dw.first, &depth) || !absl::SimpleAtoi(dw.second, &width)) {
        std::fprintf(stderr, "wave-client: --sizes: '%s' is not DEPTHxWIDTH\n",
                     std::string(size).c_str());
        return 2;
      }
      auto* t = h.add_targets();
      *t = base;
      t->set_depth(depth);
      t->set_width(width);
      t->set_heads(0);
      init.outs.push_back(
          absl::StrCat(absl::GetFlag(FLAGS_out_dir), "/vit-", depth, "x", width, ".safetensors"));
    }
  }
  init.json = absl::GetFlag(FLAGS_json);
  init.resume = absl::GetFlag(FLAGS_resume);
  // Required flags are the client's own errors, said before any data is read.
  if (h.targets_size() == 0 && !init.resume &&
      (absl::GetFlag(FLAGS_depth) <= 0 || absl::GetFlag(FLAGS_width) <= 0)) {
    std::fprintf(stderr, "wave-client: init needs --depth and --width (or --sizes=DxW,...)\n");
    return 2;
  }
  return wave::RunInit(c, init);
}
