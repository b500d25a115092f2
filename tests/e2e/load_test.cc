// Load: concurrent clients mix good, bad and cancelled Initialize calls
// against one real server for a bounded time. Every good call must return
// the reference bytes, every bad one its error, every cancelled one
// CANCELLED; afterwards no fit slot is held and resident memory is flat.
//
// WAVE_LOAD_SECONDS (default 20) and WAVE_LOAD_CLIENTS (default 4) size the
// run; ctest runs the default, a longer run is by hand (docs/RELIABILITY.md).
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "client/few_shot_data.h"
#include "core/base/sha256.h"
#include "gtest/gtest.h"
#include "tests/e2e/harness.h"
#include "tests/under_asan.h"
#include "wave/v1/wave.grpc.pb.h"

namespace wave {
namespace {

using testing::HttpGet;
using testing::ServerProcess;
using Clock = std::chrono::steady_clock;

double EnvOr(const char* name, double fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::atof(v) : fallback;
}

int64_t ResidentKiB(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atoll(line.c_str() + 6);
  }
  return -1;
}

enum class Kind { kGood, kBad, kCancelled };

struct Outcome {
  grpc::Status status;
  std::string sha256;    // of the streamed model file
  std::string expected;  // the summary's
};

v1::InitializeRequest Header(int64_t samples, int64_t steps) {
  v1::InitializeRequest r;
  auto* h = r.mutable_header();
  h->mutable_target()->set_depth(2);
  h->mutable_target()->set_width(32);
  h->mutable_target()->set_classes(10);
  h->mutable_fit()->set_steps(steps);
  h->mutable_fit()->set_patience(0);
  h->mutable_fit()->set_batch(16);
  h->mutable_fit()->set_seed(11);
  h->set_num_samples(samples);
  return r;
}

v1::InitializeRequest Data(const FewShotData& data, bool corrupt_label) {
  v1::InitializeRequest r;
  auto* d = r.mutable_data();
  d->set_images(data.images.data(), data.images.size());
  std::vector<int64_t> labels = data.labels;
  if (corrupt_label) labels[labels.size() / 2] = 10;  // classes = 10
  d->set_labels(reinterpret_cast<const char*>(labels.data()), labels.size() * 8);
  return r;
}

// Each client is one training job with its own token, so the per-client
// bounds (--max_client_share) see separate clients as production would.
std::string TokenOf(int client) { return "load-client-" + std::to_string(client); }

Outcome Call(v1::WaveInit::Stub& stub, const FewShotData& data, Kind kind, double cancel_after_s,
             int client) {
  grpc::ClientContext context;
  context.AddMetadata("authorization", "Bearer " + TokenOf(client));
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
  auto stream = stub.Initialize(&context);
  std::thread canceller;
  if (kind == Kind::kCancelled) {
    canceller = std::thread([&context, cancel_after_s] {
      std::this_thread::sleep_for(std::chrono::microseconds(int64_t(cancel_after_s * 1e6)));
      context.TryCancel();
    });
  }
  const int64_t steps = kind == Kind::kCancelled ? 5000 : 3;
  if (stream->Write(Header(data.count, steps))) stream->Write(Data(data, kind == Kind::kBad));
  stream->WritesDone();
  Outcome outcome;
  Sha256 hash;
  v1::InitializeResponse response;
  while (stream->Read(&response)) {
    if (response.has_file() && response.file().name() == "model.safetensors") {
      hash.Update(response.file().data());
    }
    if (response.has_summary()) outcome.expected = response.summary().model_sha256();
  }
  outcome.status = stream->Finish();
  outcome.sha256 = hash.HexDigest();
  if (canceller.joinable()) canceller.join();
  return outcome;
}

TEST(LoadTest, MixedCallsStayCorrectAndLeaveNothingBehind) {
  const double seconds = EnvOr("WAVE_LOAD_SECONDS", 20);
  const int clients = static_cast<int>(EnvOr("WAVE_LOAD_CLIENTS", 4));
  const std::string tokens = testing::TempPath("load_tokens");
  {
    std::ofstream file(tokens);
    for (int c = 0; c <= clients; ++c) file << TokenOf(c) << "\n";
  }
  ServerProcess server({"--auth_token_file=" + tokens, "--fit_slots=2", "--max_queued=16",
                        "--queue_timeout=60"});
  ASSERT_TRUE(server.started()) << server.log();
  auto all = testing::ReadFewShotIdx(testing::TestImagesPath(), testing::TestLabelsPath());
  ASSERT_TRUE(all.ok()) << all.status();
  const FewShotData data = StratifiedSample(*all, 64, 3);

  auto channel = grpc::CreateChannel(server.address(), grpc::InsecureChannelCredentials());
  auto stub = v1::WaveInit::NewStub(channel);
  const Outcome reference = Call(*stub, data, Kind::kGood, 0, clients);
  ASSERT_TRUE(reference.status.ok()) << reference.status.error_message();
  ASSERT_EQ(reference.sha256, reference.expected);

  std::mutex mu;
  std::map<std::string, int> counts;  // "<kind> <code>"
  std::vector<std::string> failures;
  const auto end = Clock::now() + std::chrono::milliseconds(int64_t(seconds * 1000));
  const auto warm = Clock::now() + std::chrono::milliseconds(int64_t(seconds * 200));
  int64_t rss_warm = -1;
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      std::mt19937 rng(100 + c);
      // Each client has its own channel, as separate training jobs would.
      auto own = v1::WaveInit::NewStub(
          grpc::CreateChannel(server.address(), grpc::InsecureChannelCredentials()));
      while (Clock::now() < end) {
        const Kind kind = static_cast<Kind>(rng() % 3);
        const Outcome o = Call(*own, data, kind, 0.02 + 0.002 * (rng() % 100), c);
        const grpc::StatusCode code = o.status.error_code();
        std::string problem;
        if (kind == Kind::kGood && code == grpc::OK && o.sha256 != reference.sha256) {
          problem = "good call returned different bytes";
        } else if (kind == Kind::kGood && code != grpc::OK) {
          problem = "good call failed: " + o.status.error_message();
        } else if (kind == Kind::kBad && (code != grpc::INVALID_ARGUMENT ||
                                          o.status.error_message().find("label") ==
                                              std::string::npos)) {
          problem = "bad call gave: " + o.status.error_message();
        } else if (kind == Kind::kCancelled && code != grpc::CANCELLED) {
          problem = "cancelled call gave: " + o.status.error_message();
        }
        std::lock_guard<std::mutex> lock(mu);
        ++counts[std::to_string(int(kind)) + " " + std::to_string(int(code))];
        if (!problem.empty()) failures.push_back(problem);
        if (rss_warm < 0 && Clock::now() > warm) rss_warm = ResidentKiB(server.pid());
      }
    });
  }
  for (auto& t : threads) t.join();

  int total = 0;
  for (const auto& [key, n] : counts) {
    std::printf("load: kind %s (0 good, 1 bad, 2 cancelled; then the gRPC code): %d calls\n",
                key.c_str(), n);
    total += n;
  }
  EXPECT_TRUE(failures.empty()) << failures.size() << " failures, first: " << failures.front();
  EXPECT_GE(total, clients) << "too few calls to mean anything";

  // No fit slot is left held: the gauges settle at zero and a call goes through.
  bool idle = false;
  for (int i = 0; i < 100 && !idle; ++i) {
    const std::string m = HttpGet(server.metrics_port(), "/metrics");
    idle = m.find("wave_fits{state=\"running\"} 0") != std::string::npos &&
           m.find("wave_fits{state=\"waiting\"} 0") != std::string::npos;
    if (!idle) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(idle) << HttpGet(server.metrics_port(), "/metrics");
  const Outcome last = Call(*stub, data, Kind::kGood, 0, clients);
  EXPECT_TRUE(last.status.ok()) << last.status.error_message();
  EXPECT_EQ(last.sha256, reference.sha256);

  const int64_t rss_end = ResidentKiB(server.pid());
  std::printf("load: %d calls from %d clients in %.0f s; server RSS %lld KiB after warm-up, "
              "%lld KiB at the end\n",
              total, clients, seconds, (long long)rss_warm, (long long)rss_end);
#if WAVE_UNDER_ASAN
  std::printf("load: RSS bound not checked under AddressSanitizer (its quarantine grows)\n");
#else
  // Flat: allocator caches may settle, a leak per call would not.
  if (rss_warm > 0) EXPECT_LT(rss_end, rss_warm + 64 * 1024);
#endif
  EXPECT_NE(server.log().find("listening"), std::string::npos);
  server.Terminate();
  EXPECT_EQ(server.Wait(), 0) << server.log();
}

}  // namespace
}  // namespace wave
