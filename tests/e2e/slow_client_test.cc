// Clients that misbehave slowly, end to end against the real server over
// loopback: each test holds a resource the way a hostile client would and
// checks that the server's bound on it holds, that the call gets the stated
// status, and that good calls keep being served meanwhile. The server-wide
// bounds are tested from one client with --max_client_share=1 (every call
// here comes from 127.0.0.1); fair_share_test.cc tests the per-client ones.
#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "core/base/stopwatch.h"
#include "gtest/gtest.h"
#include "tests/e2e/harness.h"
#include "wave/v1/wave.grpc.pb.h"

namespace wave {
namespace {

using testing::ChunkMessage;
using testing::HeaderMessage;
using testing::Metric;
using testing::RawCall;
using testing::ServerProcess;
using testing::WaitFor;

constexpr char kInitialize[] = "/wave.v1.WaveInit/Initialize";

grpc::Status GoodCall(const ServerProcess& server, double deadline_s = 60) {
  return testing::GoodCall(server.address(), "", deadline_s);
}

double Held(const ServerProcess& server, const std::string& resource) {
  return Metric(server.metrics_port(), "wave_client_held{resource=\"" + resource + "\"}");
}

double Expired(const ServerProcess& server, const std::string& reason) {
  return Metric(server.metrics_port(), "wave_calls_expired_total{reason=\"" + reason + "\"}");
}

// A client that never reads its download must not hold the only fit slot:
// the slot is free once the weights are composed, a good call is served
// while the reader stalls, and the reader loses its call (and its memory)
// after --write_stall_timeout.
TEST(SlowClientTest, AReaderThatNeverReadsHoldsNeitherTheSlotNorItsMemory) {
  ServerProcess server({"--fit_slots=1", "--max_queued=1", "--write_stall_timeout=4"});
  ASSERT_TRUE(server.started()) << server.log();
  RawCall stalled(server.address(), kInitialize);
  ASSERT_TRUE(stalled.Write(HeaderMessage(8, 512, 0, 0)));  // ~100 MB of weights
  ASSERT_TRUE(stalled.WritesDone());
  ASSERT_TRUE(WaitFor([&] { return Held(server, "download_bytes") > 50e6; }, 30));
  ASSERT_TRUE(WaitFor(
      [&] { return Metric(server.metrics_port(), "wave_fits{state=\"running\"}") == 0; }, 30));

  Stopwatch elapsed;
  grpc::Status good = GoodCall(server);
  EXPECT_TRUE(good.ok()) << good.error_message();
  EXPECT_LT(elapsed.Seconds(), 3.5) << "the good call waited behind the stalled reader";
  EXPECT_GT(Held(server, "download_bytes"), 50e6) << "the stalled call ended too early";

  ASSERT_TRUE(WaitFor([&] { return Held(server, "download_bytes") == 0; }, 15)) << server.log();
  EXPECT_EQ(Expired(server, "write_stall"), 1);
  while (stalled.Read(5)) {  // what the transport had buffered before the cancel
  }
  grpc::Status status = stalled.Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::CANCELLED) << status.error_message();
  // The server logs the call's end after its cancel reached the client: wait for it.
  EXPECT_TRUE(WaitFor(
      [&] { return server.log().find("the client took no message for 4 s") != std::string::npos; },
      10))
      << server.log();
  EXPECT_EQ(server.Stop(), 0) << "the server did not drain";
}

// Graceful shutdown waits for downloads too, which run after their fit slot
// is free again.
TEST(SlowClientTest, ADownloadInFlightAtSigtermCompletes) {
  ServerProcess server;
  ASSERT_TRUE(server.started()) << server.log();
  RawCall call(server.address(), kInitialize);
  ASSERT_TRUE(call.Write(HeaderMessage(8, 512, 0, 0)));
  ASSERT_TRUE(call.WritesDone());
  int files = 0;
  while (auto bytes = call.Read(30)) {
    v1::InitializeResponse r;
    ASSERT_TRUE(r.ParseFromString(*bytes));
    if (r.has_file() && ++files == 1) server.Terminate();  // mid-download
    if (r.has_file()) std::this_thread::sleep_for(std::chrono::milliseconds(60));
  }
  grpc::Status status = call.Finish();
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_GT(files, 20);
  EXPECT_EQ(server.Wait(), 0);
}

// A reader that takes the download, but too slowly: the average rate bound.
TEST(SlowClientTest, AReaderThatTricklesLosesItsCallAtTheRateBound) {
  ServerProcess server({"--write_stall_timeout=5", "--min_download_rate=4000000"});
  ASSERT_TRUE(server.started()) << server.log();
  // A fixed receive window (64 KB). With BDP probing the window grew to about
  // 8 MB (1,995 messages still buffered when the server ended the call, 14
  // without); freeing it at 40 KB/s can outlast the stall timeout, and under
  // ASan in CI the server's writes stalled although the reader never paused.
  grpc::ChannelArguments fixed_window;
  fixed_window.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  RawCall trickler(grpc::CreateCustomChannel(server.address(), grpc::InsecureChannelCredentials(),
                                             fixed_window),
                   kInitialize);
  // 4 KiB chunks of ~13 MB: each is taken well within the stall timeout,
  // but at 10 messages a second the download would need over five minutes;
  // the bound is 5 s + 13 MB / (4 MB/s), about 8.2 s.
  ASSERT_TRUE(trickler.Write(HeaderMessage(4, 256, 0, 0, 4096)));
  ASSERT_TRUE(trickler.WritesDone());
  Stopwatch elapsed;
  // The client's transport may hold megabytes the server sent before the
  // end, so the server's own account says when the call ended.
  while (elapsed.Seconds() < 20 && Expired(server, "download_rate") != 1 && trickler.Read(5)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_LT(elapsed.Seconds(), 12);
  EXPECT_EQ(Expired(server, "download_rate"), 1) << server.log();
  EXPECT_EQ(Expired(server, "write_stall"), -1) << server.log();
  EXPECT_TRUE(WaitFor([&] { return Held(server, "download_bytes") == 0; }, 10));
  EXPECT_EQ(server.Stop(), 0) << "the server did not drain";
}

// A queued call is refused when its queue time is up,
// whatever the call on the slot does.
TEST(SlowClientTest, AQueuedCallIsRefusedWhenItsQueueTimeIsUp) {
  ServerProcess server({"--max_client_share=1", "--fit_slots=1", "--max_queued=2", "--queue_timeout=1"});
  ASSERT_TRUE(server.started()) << server.log();
  RawCall long_fit(server.address(), kInitialize);
  ASSERT_TRUE(long_fit.Write(HeaderMessage(2, 32, 5000, 64)));
  ASSERT_TRUE(long_fit.Write(ChunkMessage(64, 0)));
  ASSERT_TRUE(long_fit.WritesDone());
  ASSERT_TRUE(WaitFor(
      [&] { return Metric(server.metrics_port(), "wave_fits{state=\"running\"}") == 1; }, 30));

  Stopwatch elapsed;
  grpc::Status queued = GoodCall(server);
  EXPECT_EQ(queued.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << queued.error_message();
  EXPECT_NE(queued.error_message().find("waited too long for a fit slot"), std::string::npos);
  EXPECT_LT(elapsed.Seconds(), 3.0);
  EXPECT_EQ(Metric(server.metrics_port(), "wave_fits{state=\"running\"}"), 1)
      << "the long fit should still be running: the timer, not the worker, refused";
  EXPECT_EQ(server.Stop(), 0) << "the server did not drain";
}

// Headers reserve what they announce from one server-wide budget.
TEST(SlowClientTest, UploadsPastTheMemoryBudgetAreRefusedAtTheHeader) {
  // Each header below announces 4000 samples: 4000 * (784 + 8) = 3.168 MB.
  ServerProcess server({"--max_client_share=1", "--upload_budget_bytes=7000000"});
  ASSERT_TRUE(server.started()) << server.log();
  const std::string header = HeaderMessage(2, 32, 1, 4000);
  auto first = std::make_unique<RawCall>(server.address(), kInitialize);
  RawCall second(server.address(), kInitialize);
  ASSERT_TRUE(first->Write(header));
  ASSERT_TRUE(second.Write(header));
  ASSERT_TRUE(WaitFor([&] { return Held(server, "upload_bytes") == 2 * 3168000; }, 10));

  RawCall third(server.address(), kInitialize);
  third.Write(header);  // the server ends the call after reading it
  grpc::Status refused = third.Finish();
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(refused.error_message().find("upload memory: this call needs 3168000 bytes but only 664000"),
            std::string::npos)
      << refused.error_message();

  first.reset();  // a client that goes away gives its share back
  ASSERT_TRUE(WaitFor([&] { return Held(server, "upload_bytes") == 3168000; }, 10));
  RawCall fourth(server.address(), kInitialize);
  EXPECT_TRUE(fourth.Write(header));
  EXPECT_TRUE(WaitFor([&] { return Held(server, "upload_bytes") == 2 * 3168000; }, 10));
  EXPECT_EQ(server.Stop(), 0) << "the server did not drain";
}

TEST(SlowClientTest, CallsPastTheUploadingLimitAreRefusedAtOnce) {
  ServerProcess server({"--max_client_share=1", "--max_uploading_calls=2"});
  ASSERT_TRUE(server.started()) << server.log();
  RawCall a(server.address(), kInitialize), b(server.address(), kInitialize);
  ASSERT_TRUE(WaitFor([&] { return Held(server, "uploading_calls") == 2; }, 10));
  RawCall c(server.address(), kInitialize);
  grpc::Status refused = c.Finish(5);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(refused.error_message().find("uploading calls: this call needs 1 calls but only 0"),
            std::string::npos)
      << refused.error_message();
  EXPECT_EQ(server.Stop(), 0) << "the server did not drain";
}

// A thousand streams that never send a header, on one connection: at most
// --max_uploading_calls are admitted, the rest refused at once, and every one
// is gone after the header timeout.
TEST(SlowClientTest, AThousandIdleStreamsAreBoundedAndGoneAfterTheHeaderTimeout) {
  ServerProcess server({"--max_client_share=1", "--header_timeout=2"});
  ASSERT_TRUE(server.started()) << server.log();
  const int64_t before = testing::ResidentBytes(server.pid());
  auto channel = grpc::CreateChannel(server.address(), grpc::InsecureChannelCredentials());
  std::vector<std::unique_ptr<RawCall>> idle;
  for (int i = 0; i < 1000; ++i) idle.push_back(std::make_unique<RawCall>(channel, kInitialize));
  EXPECT_TRUE(WaitFor([&] { return Held(server, "uploading_calls") == 64; }, 10));
  const int64_t during = testing::ResidentBytes(server.pid());
  EXPECT_LT(during - before, 64 << 20) << "1000 idle streams cost " << during - before;
  ASSERT_TRUE(WaitFor([&] { return Held(server, "uploading_calls") == 0; }, 10));
  EXPECT_EQ(Expired(server, "header"), 64);
  const std::string refused_series =
      "wave_requests_total{code=\"RESOURCE_EXHAUSTED\",method=\"Initialize\"}";
  EXPECT_TRUE(WaitFor([&] { return Metric(server.metrics_port(), refused_series) == 936; }, 10))
      << Metric(server.metrics_port(), refused_series);
  idle.clear();
  EXPECT_TRUE(GoodCall(server).ok());
  EXPECT_EQ(server.Stop(), 0) << "the server did not drain";
}

// Uploads that never start, stall, or trickle are ended with
// DEADLINE_EXCEEDED naming the bound, and give back what they held.
TEST(SlowClientTest, SlowUploadsAreEndedAtTheirTimeouts) {
  ServerProcess server({"--header_timeout=1", "--upload_idle_timeout=1.5", "--upload_timeout=4"});
  ASSERT_TRUE(server.started()) << server.log();
  Stopwatch elapsed;
  RawCall never_header(server.address(), kInitialize);
  grpc::Status status = never_header.Finish(10);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_NE(status.error_message().find("no header within 1 s"), std::string::npos)
      << status.error_message();
  EXPECT_LT(elapsed.Seconds(), 3);

  elapsed.Restart();
  RawCall idle(server.address(), kInitialize);
  ASSERT_TRUE(idle.Write(HeaderMessage(2, 32, 1, 8)));
  status = idle.Finish(10);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_NE(status.error_message().find("no upload message for 1.5 s"), std::string::npos)
      << status.error_message();
  EXPECT_LT(elapsed.Seconds(), 3.5);

  // One sample every 0.7 s: never idle for 1.5 s, but past 4 s in all.
  elapsed.Restart();
  RawCall trickle(server.address(), kInitialize);
  ASSERT_TRUE(trickle.Write(HeaderMessage(2, 32, 1, 8)));
  for (uint64_t i = 0; i < 8; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(700));
    if (!trickle.Write(ChunkMessage(1, i), 2)) break;
  }
  status = trickle.Finish(10);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_NE(status.error_message().find("the upload took longer than 4 s"), std::string::npos)
      << status.error_message();
  EXPECT_LT(elapsed.Seconds(), 6.5);

  EXPECT_EQ(Expired(server, "header"), 1);
  EXPECT_EQ(Expired(server, "upload_idle"), 1);
  EXPECT_EQ(Expired(server, "upload_total"), 1);
  EXPECT_TRUE(WaitFor([&] { return Held(server, "upload_bytes") == 0; }, 5));
  EXPECT_TRUE(WaitFor([&] { return Held(server, "uploading_calls") == 0; }, 5));
  EXPECT_TRUE(GoodCall(server).ok());
  EXPECT_EQ(server.Stop(), 0) << "the server did not drain";
}

// A message that does not parse is INVALID_ARGUMENT saying so,
// wherever it comes, never the end of the upload.
TEST(SlowClientTest, UnparseableMessagesAreInvalidArgument) {
  ServerProcess server;
  ASSERT_TRUE(server.started()) << server.log();
  const std::string garbage = "\x0a\x64not a message";  // a 100-byte field cut short
  struct Case {
    const char* name;
    std::vector<std::string> messages;
    const char* message;
  };
  v1::InitializeRequest bad_utf8;
  bad_utf8.mutable_header()->set_bank("\xff\xfe");
  const std::vector<Case> cases = {
      {"garbage first", {garbage}, "message 1 of the upload could not be parsed"},
      {"garbage mid-upload",
       {HeaderMessage(2, 32, 1, 20), ChunkMessage(10, 0), garbage, ChunkMessage(10, 1)},
       "message 3 of the upload could not be parsed as a wave.v1.InitializeRequest"},
      {"garbage after every chunk",
       {HeaderMessage(2, 32, 1, 20), ChunkMessage(10, 0), ChunkMessage(10, 1), garbage},
       "message 4 of the upload could not be parsed"},
      {"invalid UTF-8 in a string",
       {bad_utf8.SerializePartialAsString()},
       "message 1 of the upload could not be parsed"},
  };
  for (const Case& c : cases) {
    RawCall call(server.address(), kInitialize);
    for (const auto& m : c.messages) call.Write(m);
    call.WritesDone();
    while (call.Read(10)) {
    }
    grpc::Status status = call.Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.name;
    EXPECT_NE(status.error_message().find(c.message), std::string::npos)
        << c.name << ": " << status.error_message();
  }

  // Unary methods too, logged and counted like any call.
  for (const char* method : {"/wave.v1.WaveInit/DescribeBank", "/wave.v1.WaveInit/ListBanks"}) {
    RawCall call(server.address(), method);
    call.Write(garbage);
    call.WritesDone();
    call.Read(10);
    grpc::Status status = call.Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << method;
    EXPECT_NE(status.error_message().find("the request could not be parsed as a wave.v1."),
              std::string::npos)
        << status.error_message();
  }
  EXPECT_EQ(Metric(server.metrics_port(),
                   "wave_requests_total{code=\"INVALID_ARGUMENT\",method=\"DescribeBank\"}"),
            1);
  EXPECT_NE(server.log().find("\"method\":\"DescribeBank\""), std::string::npos);
  EXPECT_TRUE(GoodCall(server).ok());
  EXPECT_EQ(server.Stop(), 0) << "the server did not drain";
}

// ---- The metrics endpoint ---------------------------------------------------

int Connect(const std::string& ip, int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  inet_pton(AF_INET, ip.c_str(), &addr.sin_addr);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Sends `parts` with a pause between them; returns the whole response.
std::string Exchange(int fd, const std::vector<std::string>& parts) {
  for (const auto& part : parts) {
    send(fd, part.data(), part.size(), MSG_NOSIGNAL);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  std::string response;
  char buffer[4096];
  ssize_t n;
  while ((n = recv(fd, buffer, sizeof(buffer), 0)) > 0) response.append(buffer, n);
  close(fd);
  return response;
}

TEST(MetricsEndpointTest, ListensOnlyWhereToldAndServesSplitRequests) {
  ServerProcess server({"--metrics_address=127.0.0.2:0"});
  ASSERT_TRUE(server.started()) << server.log();
  const int port = server.metrics_port();
  ASSERT_GT(port, 0) << server.log();
  EXPECT_EQ(Connect("127.0.0.1", port), -1) << "metrics listen beyond 127.0.0.2";
  const int fd = Connect("127.0.0.2", port);
  ASSERT_GE(fd, 0);
  const std::string response =
      Exchange(fd, {"GET /met", "rics HTTP/1.1\r\nHost: x\r\n", "Connection: close\r\n\r\n"});
  EXPECT_NE(response.find("HTTP/1.1 200"), std::string::npos) << response;
  EXPECT_NE(response.find("wave_fits{state=\"running\"} 0"), std::string::npos) << response;
}

TEST(MetricsEndpointTest, IdleConnectionsDoNotDelayAScrape) {
  ServerProcess server;
  ASSERT_TRUE(server.started()) << server.log();
  std::vector<int> idle;
  for (int i = 0; i < 20; ++i) idle.push_back(Connect("127.0.0.1", server.metrics_port()));
  const int half = Connect("127.0.0.1", server.metrics_port());
  send(half, "GET /metr", 9, MSG_NOSIGNAL);  // and never the rest
  Stopwatch elapsed;
  const std::string body = testing::HttpGet(server.metrics_port(), "/metrics");
  EXPECT_LT(elapsed.Seconds(), 1.0);
  EXPECT_NE(body.find("wave_fits{state=\"running\"} 0"), std::string::npos) << body;
  for (int fd : idle) close(fd);
  close(half);
}

// ---- Help and health ----------------------------------------------------------

// --help: every flag in a section by purpose (none left to "Other flags"),
// defaults with byte sizes readable, no build paths, and per-command help.
TEST(SmallerDefectsTest, HelpGroupsEveryFlagByPurposeAndPerCommand) {
  auto server = testing::RunBinary("server/wave-server", {"--help"});
  EXPECT_EQ(server.exit_code, 0);
  for (const char* text : {"Listening and security:\n  --address", "--max_client_share",
                           "--upload_budget_bytes (default 536870912 (512 MiB))",
                           "Limits of one request (past them: FAILED_PRECONDITION"}) {
    EXPECT_NE(server.out.find(text), std::string::npos) << text << "\n" << server.out;
  }
  auto program = testing::RunBinary("client/wave-client", {"--help"});
  EXPECT_EQ(program.exit_code, 0);
  for (const auto* out : {&server.out, &program.out}) {
    EXPECT_EQ(out->find("Other flags"), std::string::npos) << "a flag in no section:\n" << *out;
    EXPECT_EQ(out->find(".cc"), std::string::npos) << "a build path:\n" << *out;
    EXPECT_EQ(out->find("wave-client: wave-client:"), std::string::npos) << *out;
  }
  auto init = testing::RunBinary("client/wave-client", {"init", "--help"});
  for (const char* flag : {"Target:\n  --bank", "Data:\n  --images", "--held_out",
                           "Connection (every command):\n  --server", "--lb_policy"}) {
    EXPECT_NE(init.out.find(flag), std::string::npos) << flag << "\n" << init.out;
  }
  EXPECT_EQ(init.out.find("--service"), std::string::npos) << "health's flag in init's help";
  auto health = testing::RunBinary("client/wave-client", {"health", "--help"});
  EXPECT_NE(health.out.find("--service"), std::string::npos) << health.out;
  EXPECT_EQ(health.out.find("--images"), std::string::npos) << "init's flag in health's help";
}

TEST(SmallerDefectsTest, HealthAnswersForTheServiceName) {
  ServerProcess server;
  ASSERT_TRUE(server.started()) << server.log();
  auto r = testing::RunBinary("client/wave-client", {"health", "--server=" + server.address(),
                                                     "--service=wave.v1.WaveInit"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  auto unknown = testing::RunBinary(
      "client/wave-client", {"health", "--server=" + server.address(), "--service=nope.v1.X"});
  EXPECT_NE(unknown.exit_code, 0);
}

}  // namespace
}  // namespace wave
