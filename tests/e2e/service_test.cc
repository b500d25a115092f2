// End-to-end: the real server and client over loopback gRPC.
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "client/few_shot_data.h"
#include "core/bank/template_bank.h"
#include "core/base/idx.h"
#include "core/base/safetensors.h"
#include "core/model/dataset.h"
#include "core/model/precision.h"
#include "core/model/tensor_io.h"
#include "core/model/train_loop.h"
#include "core/model/vit.h"
#include "nlohmann/json.hpp"
#include "tests/e2e/harness.h"
#include "tests/status_matchers.h"
#include "wave/v1/wave.grpc.pb.h"

namespace wave {
namespace {

using testing::HttpGet;
using testing::RunBinary;
using testing::ServerProcess;


std::vector<std::string> InitArgs(const ServerProcess& server, const std::string& out,
                                  std::vector<std::string> extra) {
  std::vector<std::string> args = {"init",          "--server=" + server.address(),
                                   "--depth=3",     "--width=48",
                                   "--classes=10",  "--images=" + testing::TestImagesPath(),
                                   "--labels=" + testing::TestLabelsPath(), "--samples=200",
                                   "--steps=10",    "--batch=32",
                                   "--out=" + out};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

TEST(ServiceTest, InitWritesAFileThatReproducesTheServersModel) {
  ServerProcess server;
  ASSERT_TRUE(server.started()) << server.log();
  const std::string out = testing::TempPath("model.safetensors"), scalers = testing::TempPath("scalers.safetensors");
  auto r = RunBinary("client/wave-client",
               InitArgs(server, out, {"--scalers_out=" + scalers, "--json", "--seed=7",
                                      "--held_out=40"}));
  ASSERT_EQ(r.exit_code, 0) << r.err << server.log();
  auto summary = nlohmann::json::parse(r.out);
  // Counts are JSON numbers, not proto3's strings for 64-bit integers.
  EXPECT_TRUE(summary["paramCount"].is_number_integer()) << r.out;
  EXPECT_TRUE(summary["target"]["depth"].is_number_integer()) << r.out;
  EXPECT_TRUE(summary["heldOutIndices"][0].is_number_integer()) << r.out;
  EXPECT_FALSE(testing::FileExists(out + ".part"));

  // The file loads, with exactly timm's names and shapes.
  auto file = SafetensorsFile::ReadFile(out);
  ASSERT_OK(file);
  auto weights = ReadTensors(*file);
  ASSERT_OK(weights);
  ViTConfig target;
  target.depth = 3;
  target.width = 48;
  target.heads = 3;
  auto bank = LoadBank(testing::TestBankPath());
  ASSERT_OK(bank);
  target.heads = target.width / bank->geometry.head_dim;
  ASSERT_OK(ValidateParams(target, *weights));
  EXPECT_EQ(file->metadata().at("wave.bank_sha256"), bank->file_sha256);
  EXPECT_EQ(file->metadata().at("wave.seed"), "7");
  EXPECT_NE(file->metadata().at("wave.model_args").find("\"embed_dim\":48"), std::string::npos);

  // The fitted scalers recompose exactly the streamed weights.
  auto sfile = SafetensorsFile::ReadFile(scalers);
  ASSERT_OK(sfile);
  auto fitted = ReadTensors(*sfile);
  ASSERT_OK(fitted);
  TensorMap composed = ComposeWeights(bank->templates, *fitted, target, bank->geometry);
  for (const auto& [name, w] : composed) EXPECT_TRUE(w.equal(weights->at(name))) << name;

  // The server's held-out accuracy is reproduced from the file: same sample,
  // same split, logits from our forward pass over the downloaded weights.
  auto raw = testing::ReadFewShotIdx(testing::TestImagesPath(), testing::TestLabelsPath());
  ASSERT_OK(raw);
  FewShotData sample = StratifiedSample(*raw, 200, 7);
  Dataset data;
  data.images = at::from_blob(sample.images.data(), {200, 1, 28, 28}, at::kByte).clone();
  data.labels = at::from_blob(sample.labels.data(), {200}, at::kLong).clone();
  auto [fit_set, held] = SplitHeldOut(data, 40, 10, 7);
  const double acc = Accuracy([&](const at::Tensor& x) { return VitForward(target, *weights, x); },
                              held, bank->geometry.mean, bank->geometry.std, 256);
  EXPECT_NEAR(acc, summary["heldOutAccuracy"].get<double>(), 1e-6);
  EXPECT_EQ(summary["modelSha256"].get<std::string>().size(), 64u);
}

TEST(ServiceTest, ZeroStepsNeedNoDataAndSmallerDtypesWork) {
  ServerProcess server;
  ASSERT_TRUE(server.started()) << server.log();
  const std::string out = testing::TempPath("zero.safetensors");
  auto r = RunBinary("client/wave-client", {"init", "--server=" + server.address(), "--depth=2",
                                      "--width=64", "--steps=0", "--dtype=bf16", "--out=" + out});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto file = SafetensorsFile::ReadFile(out);
  ASSERT_OK(file);
  EXPECT_EQ(file->Get("blocks.1.mlp.fc1.weight")->dtype, DType::kBF16);
}

struct ErrorCase {
  const char* name;
  std::vector<std::string> server_flags;
  std::vector<std::string> client_flags;
  const char* code;
  const char* message;
};

// For gtest's listing: the case's name, not the struct's bytes.
void PrintTo(const ErrorCase& c, std::ostream* out) { *out << c.name; }

class ServiceErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(ServiceErrorTest, ClientReportsTheServersError) {
  const ErrorCase& c = GetParam();
  ServerProcess server(c.server_flags);
  ASSERT_TRUE(server.started()) << server.log();
  const std::string out = testing::TempPath(std::string(c.name) + ".safetensors");
  auto r = RunBinary("client/wave-client", InitArgs(server, out, c.client_flags));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find(absl::StrCat("(", c.code, ")")), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
  EXPECT_FALSE(testing::FileExists(out));
  EXPECT_FALSE(testing::FileExists(out + ".part"));
  // The server still serves a good request.
  auto ok = RunBinary("client/wave-client",
                      InitArgs(server, testing::TempPath("after.safetensors"), {"--steps=1", "--samples=50"}));
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
}

INSTANTIATE_TEST_SUITE_P(
    Errors, ServiceErrorTest,
    ::testing::Values(
        ErrorCase{"BadWidth", {}, {"--width=40"}, "INVALID_ARGUMENT", "target.width: must be a multiple of"},
        ErrorCase{"UnknownBank", {}, {"--bank=nope"}, "NOT_FOUND", "no bank named 'nope'"},
        ErrorCase{"TooManyParameters", {"--max_target_params=100000"}, {"--width=64"},
                  "FAILED_PRECONDITION",
                  "target parameters: 155082 exceeds the server's limit of 100000 "
                  "(--max_target_params)"},
        ErrorCase{"TooManySteps", {"--max_fit_steps=5"}, {}, "FAILED_PRECONDITION",
                  "fit.steps: 10 exceeds the server's limit of 5 (--max_fit_steps)"},
        ErrorCase{"TooManyHeadRefitSteps", {"--max_fit_steps=20"}, {"--head_refit_steps=50"},
                  "FAILED_PRECONDITION",
                  "fit.head_refit_steps: 50 exceeds the server's limit of 20 (--max_fit_steps)"},
        ErrorCase{"Deadline", {}, {"--steps=5000", "--deadline=1.5"}, "DEADLINE_EXCEEDED", "Deadline Exceeded"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(ServiceAuthTest, TokenIsRequiredButHealthStaysOpen) {
  const std::string token_file = testing::TempPath("token");
  std::ofstream(token_file) << "s3cret\n";
  ServerProcess server({"--auth_token_file=" + token_file});
  ASSERT_TRUE(server.started()) << server.log();  // health needs no token
  auto r = RunBinary("client/wave-client", InitArgs(server, testing::TempPath("noauth.safetensors"), {}));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("missing bearer token (UNAUTHENTICATED)"), std::string::npos) << r.err;
  const std::string wrong = testing::TempPath("wrong-token");
  std::ofstream(wrong) << "guess";
  r = RunBinary("client/wave-client", {"banks", "--server=" + server.address(), "--token_file=" + wrong});
  EXPECT_NE(r.err.find("invalid bearer token (UNAUTHENTICATED)"), std::string::npos) << r.err;
  r = RunBinary("client/wave-client", InitArgs(server, testing::TempPath("auth.safetensors"),
                                         {"--token_file=" + token_file, "--steps=2"}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST(ServiceSlotsTest, FullFitSlotsGiveResourceExhausted) {
  ServerProcess server({"--fit_slots=1", "--max_queued=0"});
  ASSERT_TRUE(server.started()) << server.log();
  std::thread long_call([&] {
    RunBinary("client/wave-client", InitArgs(server, testing::TempPath("long.safetensors"),
                                       {"--steps=3000", "--deadline=20"}));
  });
  // Wait until the long fit holds the slot.
  for (int i = 0; i < 100 && HttpGet(server.metrics_port(), "/metrics")
                                     .find("wave_fits{state=\"running\"} 1") == std::string::npos;
       ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  auto r = RunBinary("client/wave-client", InitArgs(server, testing::TempPath("second.safetensors"), {}));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("server busy: fit slots and queue places: this call needs 1 calls but only 0 of the server's 1 are free; retry later (RESOURCE_EXHAUSTED)"), std::string::npos) << r.err;
  server.Terminate();  // drains: the long call is cut at the exit timeout
  long_call.join();
}

TEST(ServiceCancelTest, CancellationStopsTheFitAndFreesTheSlot) {
  ServerProcess server({"--fit_slots=1", "--max_queued=0"});
  ASSERT_TRUE(server.started()) << server.log();
  auto channel = grpc::CreateChannel(server.address(), grpc::InsecureChannelCredentials());
  auto stub = v1::WaveInit::NewStub(channel);
  grpc::ClientContext context;
  auto stream = stub->Initialize(&context);
  v1::InitializeRequest header;
  auto* h = header.mutable_header();
  h->mutable_target()->set_depth(2);
  h->mutable_target()->set_width(32);
  h->mutable_target()->set_classes(2);
  h->mutable_fit()->set_steps(5000);
  h->mutable_fit()->set_patience(0);
  h->set_num_samples(4);
  ASSERT_TRUE(stream->Write(header));
  v1::InitializeRequest data;
  data.mutable_data()->set_images(std::string(4 * 784, '\x10'));
  const int64_t labels[4] = {0, 1, 0, 1};
  data.mutable_data()->set_labels(reinterpret_cast<const char*>(labels), 32);
  ASSERT_TRUE(stream->Write(data));
  stream->WritesDone();
  v1::InitializeResponse response;
  int fit_messages = 0;
  while (stream->Read(&response) && fit_messages < 3) {
    if (response.has_progress() && response.progress().phase() == "fit") ++fit_messages;
  }
  ASSERT_EQ(fit_messages, 3);
  context.TryCancel();
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::CANCELLED);
  // The slot is freed promptly: a new call is admitted within seconds.
  bool admitted = false;
  for (int i = 0; i < 50 && !admitted; ++i) {
    auto r = RunBinary("client/wave-client", InitArgs(server, testing::TempPath("next.safetensors"), {"--steps=1"}));
    admitted = r.exit_code == 0;
    if (!admitted) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(admitted);
  EXPECT_NE(server.log().find("\"code\":\"CANCELLED\""), std::string::npos) << server.log();
}

TEST(ServiceStreamTest, ProtocolViolationsAreInvalidArgument) {
  ServerProcess server;
  ASSERT_TRUE(server.started()) << server.log();
  auto channel = grpc::CreateChannel(server.address(), grpc::InsecureChannelCredentials());
  auto stub = v1::WaveInit::NewStub(channel);
  auto call = [&](const std::vector<v1::InitializeRequest>& messages) {
    grpc::ClientContext context;
    auto stream = stub->Initialize(&context);
    for (const auto& m : messages) {
      if (!stream->Write(m)) break;
    }
    stream->WritesDone();
    v1::InitializeResponse response;
    while (stream->Read(&response)) {
    }
    return stream->Finish();
  };
  v1::InitializeRequest header;
  header.mutable_header()->mutable_target()->set_depth(2);
  header.mutable_header()->mutable_target()->set_width(32);
  header.mutable_header()->mutable_target()->set_classes(2);
  header.mutable_header()->mutable_fit()->set_steps(1);
  header.mutable_header()->set_num_samples(2);
  v1::InitializeRequest chunk;
  chunk.mutable_data()->set_sequence(1);  // out of order
  chunk.mutable_data()->set_images(std::string(784, 'a'));
  chunk.mutable_data()->set_labels(std::string(8, '\0'));
  auto s = call({header, chunk});
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("data.sequence: expected chunk 0, got 1"), std::string::npos);
  s = call({header, header});
  EXPECT_NE(s.error_message().find("header: sent twice"), std::string::npos) << s.error_message();
  s = call({chunk});
  EXPECT_NE(s.error_message().find("data: arrived before the header"), std::string::npos);
  s = call({});
  EXPECT_NE(s.error_message().find("header: never sent"), std::string::npos);
  s = call({header});
  EXPECT_NE(s.error_message().find("announced 2 samples but 0 arrived"), std::string::npos);
}

// Every rule of the header is checked before the first image is read: an
// accepted header is answered with Progress "upload", a refused one ends the
// call while the client has sent nothing else; describe says so, with the
// limits on samples a client can check first.
TEST(ServiceStreamTest, TheHeaderIsAnsweredBeforeAnyImageIsSent) {
  ServerProcess server({"--max_samples=123"});
  ASSERT_TRUE(server.started()) << server.log();
  auto channel = grpc::CreateChannel(server.address(), grpc::InsecureChannelCredentials());
  auto stub = v1::WaveInit::NewStub(channel);
  {
    grpc::ClientContext context;
    v1::DescribeBankRequest request;
    v1::BankInfo info;
    ASSERT_TRUE(stub->DescribeBank(&context, request, &info).ok());
    EXPECT_TRUE(info.acknowledges_header());
    EXPECT_EQ(info.max_samples(), 123);
    EXPECT_EQ(info.max_sample_bytes(), 256ll << 20);
  }
  v1::InitializeRequest header;
  auto* h = header.mutable_header();
  h->mutable_target()->set_depth(2);
  h->mutable_target()->set_width(32);
  h->mutable_target()->set_classes(2);
  h->mutable_fit()->set_steps(1);
  h->set_num_samples(2);
  {
    grpc::ClientContext context;
    auto stream = stub->Initialize(&context);
    ASSERT_TRUE(stream->Write(header));
    v1::InitializeResponse first;
    ASSERT_TRUE(stream->Read(&first));
    ASSERT_TRUE(first.has_progress()) << first.DebugString();
    EXPECT_EQ(first.progress().phase(), "upload");
    EXPECT_EQ(first.progress().total_steps(), 2);
    v1::InitializeRequest chunk;
    chunk.mutable_data()->set_images(std::string(2 * 784, 'a'));
    const int64_t labels[2] = {0, 1};
    chunk.mutable_data()->set_labels(reinterpret_cast<const char*>(labels), sizeof(labels));
    ASSERT_TRUE(stream->Write(chunk));
    stream->WritesDone();
    v1::InitializeResponse response;
    int summaries = 0;
    while (stream->Read(&response)) summaries += response.has_summary();
    EXPECT_TRUE(stream->Finish().ok());
    EXPECT_EQ(summaries, 1);
  }
  // A refused header: no answer but the call's end, nothing else written.
  auto refused = [&](const v1::InitializeRequest& refused_header) {
    grpc::ClientContext context;
    auto stream = stub->Initialize(&context);
    EXPECT_TRUE(stream->Write(refused_header));
    v1::InitializeResponse response;
    EXPECT_FALSE(stream->Read(&response)) << response.DebugString();
    return stream->Finish();
  };
  h->set_num_samples(124);
  grpc::Status status = refused(header);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(status.error_message().find(
                "num_samples: 124 exceeds the server's limit of 123 (--max_samples)"),
            std::string::npos)
      << status.error_message();
  h->set_num_samples(2);
  h->mutable_target()->set_width(40);  // off the bank's width grid
  status = refused(header);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("target.width: must be a multiple of"), std::string::npos)
      << status.error_message();
}

TEST(ServiceShutdownTest, HealthGoesNotServingWhileDraining) {
  ServerProcess server({"--exit_timeout=4"});
  ASSERT_TRUE(server.started()) << server.log();
  std::thread long_call([&] {
    RunBinary("client/wave-client", InitArgs(server, testing::TempPath("drain.safetensors"), {"--steps=3000"}));
  });
  for (int i = 0; i < 100 && HttpGet(server.metrics_port(), "/metrics")
                                     .find("wave_fits{state=\"running\"} 1") == std::string::npos;
       ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  server.Terminate();
  bool not_serving = false;
  for (int i = 0; i < 30 && !not_serving; ++i) {
    auto h = RunBinary("client/wave-client", {"health", "--server=" + server.address()});
    not_serving = h.out.find("NOT_SERVING") != std::string::npos;
    if (!not_serving) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(not_serving);
  long_call.join();
  EXPECT_EQ(server.Wait(), 0);
  EXPECT_NE(server.log().find("wave-server: stopped"), std::string::npos) << server.log();
}

TEST(ServiceMetricsTest, CountersFollowTheCalls) {
  ServerProcess server;
  ASSERT_TRUE(server.started()) << server.log();
  ASSERT_EQ(RunBinary("client/wave-client", InitArgs(server, testing::TempPath("m1.safetensors"), {"--steps=3"}))
                .exit_code, 0);
  ASSERT_EQ(RunBinary("client/wave-client", InitArgs(server, testing::TempPath("m2.safetensors"), {"--width=40"}))
                .exit_code, 1);
  ASSERT_EQ(RunBinary("client/wave-client", {"banks", "--server=" + server.address()}).exit_code, 0);
  const std::string metrics = HttpGet(server.metrics_port(), "/metrics");
  EXPECT_NE(metrics.find("wave_requests_total{code=\"OK\",method=\"Initialize\"} 1"),
            std::string::npos) << metrics;
  EXPECT_NE(metrics.find("wave_requests_total{code=\"INVALID_ARGUMENT\",method=\"Initialize\"} 1"),
            std::string::npos);
  EXPECT_NE(metrics.find("wave_requests_total{code=\"OK\",method=\"ListBanks\"} 1"),
            std::string::npos);
  EXPECT_NE(metrics.find("wave_fit_steps_total 3"), std::string::npos);
  EXPECT_NE(metrics.find("wave_request_duration_seconds_count{method=\"Initialize\"} 2"),
            std::string::npos);
  EXPECT_NE(metrics.find("wave_bank_info{"), std::string::npos);
}

// The server's default precision is what describe shows and what a request
// that sets none runs at; a request's own choice wins; bf16 on a CPU without
// it runs f32 and the summary says why.
TEST(ServicePrecisionTest, TheRequestsPrecisionElseTheServersAndTheSummarySaysWhichRan) {
  ServerProcess server({"--fit_precision=f32"});
  ASSERT_TRUE(server.started()) << server.log();
  auto described = RunBinary("client/wave-client", {"describe", "--server=" + server.address()});
  ASSERT_EQ(described.exit_code, 0) << described.err;
  EXPECT_NE(described.out.find("fit precision f32"), std::string::npos) << described.out;
  const std::string out = testing::TempPath("precision.safetensors");
  auto served = RunBinary("client/wave-client", InitArgs(server, out, {"--json"}));
  ASSERT_EQ(served.exit_code, 0) << served.err << server.log();
  EXPECT_EQ(nlohmann::json::parse(served.out)["fitPrecision"], "f32") << served.out;
  auto asked = RunBinary("client/wave-client", InitArgs(server, out, {"--precision=bf16"}));
  ASSERT_EQ(asked.exit_code, 0) << asked.err << server.log();
  std::string note;
  if (EffectivePrecision(Precision::kBFloat16, at::Device(at::kCPU), &note) ==
      Precision::kBFloat16) {
    EXPECT_NE(asked.out.find("(device cpu, bf16 fit)"), std::string::npos) << asked.out;
  } else {
    EXPECT_NE(asked.out.find("(device cpu, f32 fit)\n" + note), std::string::npos) << asked.out;
  }
  auto bad = RunBinary("client/wave-client", InitArgs(server, out, {"--precision=fp8"}));
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("fit.precision: must be 'f32' or 'bf16'"), std::string::npos) << bad.err;
  auto refused = RunBinary("server/wave-server", {"--fit_precision=fp8", "--metrics_port=0"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("--fit_precision must be auto, f32 or bf16"), std::string::npos)
      << refused.err;
}

// Without --fit_precision the server takes bf16 where the CPU has it, else
// f32, and says which in its startup line and in describe.
TEST(ServicePrecisionTest, TheServersDefaultIsBf16WhereTheCpuHasIt) {
  ServerProcess server;
  ASSERT_TRUE(server.started()) << server.log();
  std::string note;
  const std::string expected(
      PrecisionName(EffectivePrecision(Precision::kBFloat16, at::Device(at::kCPU), &note)));
  EXPECT_NE(server.log().find("(cpu, " + expected + " fits"), std::string::npos) << server.log();
  auto described = RunBinary("client/wave-client", {"describe", "--server=" + server.address()});
  ASSERT_EQ(described.exit_code, 0) << described.err;
  EXPECT_NE(described.out.find("fit precision " + expected), std::string::npos) << described.out;
}

TEST(ServiceStartTest, RefusesAMissingOrCorruptBank) {
  auto r = RunBinary("server/wave-server", {"--banks=/nonexistent.safetensors", "--metrics_port=0"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("cannot open '/nonexistent.safetensors'"), std::string::npos) << r.err;
  const std::string corrupt = testing::TempPath("corrupt.safetensors");
  {
    std::ifstream in(testing::TestBankPath(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    bytes[bytes.size() - 3] ^= 0x55;
    std::ofstream(corrupt, std::ios::binary) << bytes;
  }
  r = RunBinary("server/wave-server", {"--banks=" + corrupt, "--metrics_port=0"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("checksum mismatch"), std::string::npos) << r.err;
}

TEST(LearnClassesTest, ABankLearnedFromSomeClassesRecordsThem) {
  const std::string out = testing::TempPath("classes-bank.safetensors");
  auto r = RunBinary("tools/learn/wave-learn",
                     {"--out=" + out, "--work_dir=" + out + ".work", "--classes=5,7,9",
                      "--ancestry=2x32", "--tile=16", "--head_dim=16", "--templates=2",
                      "--train_samples=120", "--test_samples=60", "--ancestry_epochs=1",
                      "--distill_epochs=1", "--threads=1", "--precision=bf16"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto bank = LoadBank(out);
  ASSERT_TRUE(bank.ok()) << bank.status();
  EXPECT_EQ(bank->ancestry.classes, 3);
  EXPECT_EQ(bank->auxiliaries[0].head.at("head.weight").size(0), 3);
  EXPECT_EQ(bank->provenance.at("classes"), "5,7,9");
  // Trained with bf16 forward passes where the CPU has them, and says which ran.
  EXPECT_EQ(bank->provenance.at("precision"),
            PrecisionName(EffectivePrecision(Precision::kBFloat16, at::Device(at::kCPU), nullptr)));
  EXPECT_NE(bank->provenance.at("data").find("train /"), std::string::npos);
  auto bad = RunBinary("tools/learn/wave-learn", {"--out=" + out, "--classes=4,12"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("--classes: 12 is not a class of the data (10)"), std::string::npos)
      << bad.err;
}

// The client's own mistakes are said before any data is read or any server
// is asked: a missing size, an output path that cannot be written; a
// missing output folder is made.
TEST(ClientTest, MissingSizeAndUnwritableOutputAreSaidBeforeAnyUpload) {
  const std::vector<std::string> offline = {"init", "--server=127.0.0.1:1", "--deadline=5"};
  auto args = [&](std::vector<std::string> extra) {
    std::vector<std::string> all = offline;
    all.insert(all.end(), extra.begin(), extra.end());
    return all;
  };
  auto no_depth = RunBinary("client/wave-client", args({"--images=/nonexistent"}));
  EXPECT_EQ(no_depth.exit_code, 2);
  EXPECT_NE(no_depth.err.find("init needs --depth and --width"), std::string::npos)
      << no_depth.err;
  const std::string file = testing::TempPath("plain_file");
  std::ofstream(file) << "x";
  auto under_file = RunBinary("client/wave-client",
                              args({"--depth=1", "--width=32", "--out=" + file + "/vit.safetensors"}));
  EXPECT_NE(under_file.exit_code, 0);
  EXPECT_NE(under_file.err.find("cannot create the folder '" + file + "'"), std::string::npos)
      << under_file.err;
  const std::string nested = testing::TempPath("new_out") + "/a/b";
  auto made = RunBinary("client/wave-client", args({"--sizes=1x32", "--out_dir=" + nested}));
  EXPECT_NE(made.exit_code, 0);  // no server there
  EXPECT_TRUE(std::filesystem::is_directory(nested)) << made.err;
}

// Without --samples the client sends what the server takes (a stratified
// subset, said on stderr); a --samples above it is refused before any upload.
TEST(ClientTest, SamplesDefaultToWhatTheServerTakes) {
  ServerProcess server({"--max_samples=50"});
  ASSERT_TRUE(server.started()) << server.log();
  const std::string out = testing::TempPath("capped.safetensors");
  std::vector<std::string> args = {"init",
                                   "--server=" + server.address(),
                                   "--depth=2",
                                   "--width=32",
                                   "--images=" + testing::TestImagesPath(),
                                   "--labels=" + testing::TestLabelsPath(),
                                   "--steps=1",
                                   "--out=" + out};
  auto capped = RunBinary("client/wave-client", args);
  ASSERT_EQ(capped.exit_code, 0) << capped.err << server.log();
  EXPECT_NE(capped.err.find("the server takes at most 50 in one call; sending a stratified 50"),
            std::string::npos)
      << capped.err;
  EXPECT_NE((capped.out + capped.err).find("upload 50 samples"), std::string::npos)
      << capped.out << capped.err;
  args.push_back("--samples=60");
  auto refused = RunBinary("client/wave-client", args);
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("--samples=60 exceeds what the server takes in one call: 50 samples"),
            std::string::npos)
      << refused.err;
  EXPECT_EQ(refused.err.find("upload"), std::string::npos) << refused.err;
}

// A second server on a port another one listens on refuses to start, naming
// the address, instead of taking part of its traffic (SO_REUSEPORT).
TEST(ServerStartTest, ASecondServerOnATakenPortRefusesToStart) {
  ServerProcess first;
  ASSERT_TRUE(first.started()) << first.log();
  auto second = RunBinary("server/wave-server",
                          {"--banks=" + testing::TestBankPath(), "--address=" + first.address(),
                           "--metrics_address=127.0.0.1:0", "--threads=1"});
  EXPECT_NE(second.exit_code, 0);
  EXPECT_NE(second.err.find("cannot listen on " + first.address() + ": the port is taken"),
            std::string::npos)
      << second.err;
}

}  // namespace
}  // namespace wave
