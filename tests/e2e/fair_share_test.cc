// Per-client bounds and refusals that say what to do, end to end against the
// real server over loopback: one client that holds all it may must not keep
// another out, whether clients are told apart by token or by address; a
// request that can never be served is not "busy"; health Watch streams are
// bounded; a server reachable from other machines needs a token, TLS or
// --insecure.
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "grpc/health/v1/health.pb.h"
#include "tests/e2e/harness.h"

namespace wave {
namespace {

using testing::GoodCall;
using testing::HeaderMessage;
using testing::Metric;
using testing::RawCall;
using testing::ServerProcess;
using testing::WaitFor;

constexpr char kInitialize[] = "/wave.v1.WaveInit/Initialize";
constexpr char kWatch[] = "/grpc.health.v1.Health/Watch";

double Held(const ServerProcess& server, const std::string& resource) {
  return Metric(server.metrics_port(), "wave_client_held{resource=\"" + resource + "\"}");
}

double Refusals(const ServerProcess& server, const std::string& reason) {
  return Metric(server.metrics_port(), "wave_refusals_total{reason=\"" + reason + "\"}");
}

std::string TokenFile(const std::vector<std::string>& tokens) {
  const std::string path = testing::TempPath("tokens");
  std::ofstream file(path);
  file << "# one client per line\n";
  for (const auto& token : tokens) file << token << "\n";
  return path;
}

// 300 streams that never send a header, from one client: it gets its share
// of the 64 uploading places (16), the rest are refused at once naming the
// share, and another client's call is served meanwhile.
TEST(FairShareTest, OneClientsIdleStreamsDoNotKeepAnotherOut) {
  ServerProcess server({"--auth_token_file=" + TokenFile({"hostile", "good"}),
                        "--header_timeout=30"});
  ASSERT_TRUE(server.started()) << server.log();
  auto channel = grpc::CreateChannel(server.address(), grpc::InsecureChannelCredentials());
  std::vector<std::unique_ptr<RawCall>> idle;
  for (int i = 0; i < 300; ++i) {
    idle.push_back(std::make_unique<RawCall>(channel, kInitialize, 120, "hostile"));
  }
  ASSERT_TRUE(WaitFor([&] { return Refusals(server, "client_share") == 284; }, 20))
      << Refusals(server, "client_share");
  EXPECT_EQ(Held(server, "uploading_calls"), 16);
  grpc::Status refused = idle.back()->Finish(5);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(refused.error_message(),
            "uploading calls: this client (token 1) holds 16 calls and may hold at most 16 of "
            "the server's 64 (--max_client_share); this call needs 1 more; retry when this "
            "client's other calls end");

  grpc::Status good = GoodCall(server.address(), "good");
  EXPECT_TRUE(good.ok()) << good.error_message();
  EXPECT_EQ(Refusals(server, "busy"), -1) << "nothing was refused as busy";
  idle.clear();
  EXPECT_EQ(server.Stop(), 0) << "the server did not drain";
}

// Without tokens, clients are told apart by address: 127.0.0.1 and ::1 are
// two clients of a dual-stack listener.
TEST(FairShareTest, WithoutTokensClientsAreToldApartByAddress) {
  ServerProcess server({"--address=[::]:0", "--insecure", "--header_timeout=30",
                        "--max_uploading_calls=8"});
  ASSERT_TRUE(server.started()) << server.log();
  const std::string port = server.address().substr(server.address().rfind(':') + 1);
  const std::string v6 = "[::1]:" + port;
  {
    RawCall probe(v6, "/wave.v1.WaveInit/ListBanks", 5);
    if (probe.Finish(5).error_code() == grpc::StatusCode::UNAVAILABLE) {
      GTEST_SKIP() << "no IPv6 loopback on this machine";
    }
  }
  auto channel = grpc::CreateChannel(server.address(), grpc::InsecureChannelCredentials());
  std::vector<std::unique_ptr<RawCall>> idle;
  for (int i = 0; i < 10; ++i) idle.push_back(std::make_unique<RawCall>(channel, kInitialize));
  ASSERT_TRUE(WaitFor([&] { return Refusals(server, "client_share") == 8; }, 20));
  EXPECT_EQ(Held(server, "uploading_calls"), 2);
  grpc::Status refused = idle.back()->Finish(5);
  EXPECT_NE(refused.error_message().find("this client (ipv4:127.0.0.1) holds 2 calls"),
            std::string::npos)
      << refused.error_message();
  grpc::Status good = GoodCall(v6);
  EXPECT_TRUE(good.ok()) << good.error_message();
  idle.clear();
  EXPECT_EQ(server.Stop(), 0) << "the server did not drain";
}

// Weights larger than the whole download budget: waiting cannot help, so the
// code is FAILED_PRECONDITION, the message names the flag and what the client
// can change, and the refusal is counted as "limit", not "busy".
TEST(FairShareTest, ARequestThatCanNeverFitIsALimitNotABusyServer) {
  ServerProcess server({"--download_budget_bytes=1000000"});
  ASSERT_TRUE(server.started()) << server.log();
  RawCall call(server.address(), kInitialize);
  ASSERT_TRUE(call.Write(HeaderMessage(4, 256, 0, 0)));  // ~13 MB of weights
  ASSERT_TRUE(call.WritesDone());
  grpc::Status refused = call.Finish();
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(refused.error_message().find(
                "exceeds the server's limit of 1000000 (--download_budget_bytes); ask for "
                "--dtype=f16 or bf16"),
            std::string::npos)
      << refused.error_message();
  EXPECT_EQ(refused.error_message().find("retry"), std::string::npos) << refused.error_message();
  // The server counts a call when it is done, which may be just after the
  // client has read its status.
  EXPECT_TRUE(WaitFor([&] { return Refusals(server, "limit") == 1; }, 10))
      << Refusals(server, "limit");
  EXPECT_EQ(Refusals(server, "busy"), -1);
}

std::string WatchRequest() {
  grpc::health::v1::HealthCheckRequest request;
  request.set_service("wave.v1.WaveInit");
  return request.SerializeAsString();
}

grpc::health::v1::HealthCheckResponse::ServingStatus StatusOf(const std::string& bytes) {
  grpc::health::v1::HealthCheckResponse response;
  response.ParseFromString(bytes);
  return response.status();
}

// Watch streams are bounded per client (8 x 0.25 = 2 here); the server tells
// its watchers NOT_SERVING when it drains and ends their streams, so they do
// not hold its shutdown.
TEST(FairShareTest, WatchStreamsAreBoundedPerClientAndEndWhenTheServerStops) {
  ServerProcess server({"--max_watch_streams=8"});
  ASSERT_TRUE(server.started()) << server.log();
  std::vector<std::unique_ptr<RawCall>> watches;
  for (int i = 0; i < 2; ++i) {
    watches.push_back(std::make_unique<RawCall>(server.address(), kWatch));
    ASSERT_TRUE(watches.back()->Write(WatchRequest()));
    ASSERT_TRUE(watches.back()->WritesDone());
    auto first = watches.back()->Read(10);
    ASSERT_TRUE(first.has_value());
    EXPECT_EQ(StatusOf(*first), grpc::health::v1::HealthCheckResponse::SERVING);
  }
  EXPECT_EQ(Held(server, "watch_streams"), 2);
  RawCall third(server.address(), kWatch);
  third.Write(WatchRequest());
  third.WritesDone();
  grpc::Status refused = third.Finish(10);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(refused.error_message().find("health Watch streams: this client (ipv4:127.0.0.1)"),
            std::string::npos)
      << refused.error_message();

  server.Terminate();
  for (auto& watch : watches) {
    auto next = watch->Read(10);
    ASSERT_TRUE(next.has_value()) << "no NOT_SERVING before the end";
    EXPECT_EQ(StatusOf(*next), grpc::health::v1::HealthCheckResponse::NOT_SERVING);
    EXPECT_TRUE(watch->Finish(10).ok());
  }
  EXPECT_EQ(server.Wait(), 0);
}

TEST(FairShareTest, AnAddressOthersCanReachNeedsATokenTlsOrInsecure) {
  const std::string bank = "--banks=" + testing::TestBankPath();
  auto open = testing::RunBinary("server/wave-server", {bank, "--address=0.0.0.0:0"});
  EXPECT_NE(open.exit_code, 0);
  EXPECT_NE(open.err.find("--address=0.0.0.0:0 is reachable from other machines, but neither "
                          "--auth_token_file nor --tls_cert is set"),
            std::string::npos)
      << open.err;
  ServerProcess insecure({"--address=0.0.0.0:0", "--insecure"});
  EXPECT_TRUE(insecure.started()) << insecure.log();
  ServerProcess with_token({"--address=0.0.0.0:0", "--auth_token_file=" + TokenFile({"t"})});
  EXPECT_TRUE(with_token.started()) << with_token.log();
}

}  // namespace
}  // namespace wave

namespace wave {
namespace {

// A connection with no call in flight is closed after
// --connection_idle_timeout: the client's channel leaves READY.
TEST(ConnectionBoundsTest, AnIdleConnectionIsClosed) {
  ServerProcess server({"--connection_idle_timeout=1"});
  ASSERT_TRUE(server.started()) << server.log();
  auto channel = grpc::CreateChannel(server.address(), grpc::InsecureChannelCredentials());
  ASSERT_TRUE(channel->WaitForConnected(std::chrono::system_clock::now() +
                                        std::chrono::seconds(10)));
  EXPECT_EQ(channel->GetState(false), GRPC_CHANNEL_READY);
  EXPECT_TRUE(WaitFor([&] { return channel->GetState(false) != GRPC_CHANNEL_READY; }, 10))
      << "the idle connection stayed open";
}

// At most --max_streams_per_connection calls are in flight on one
// connection; a further one waits until one of them ends.
TEST(ConnectionBoundsTest, StreamsPerConnectionAreBounded) {
  ServerProcess server({"--max_streams_per_connection=2", "--max_client_share=1",
                        "--header_timeout=30"});
  ASSERT_TRUE(server.started()) << server.log();
  auto channel = grpc::CreateChannel(server.address(), grpc::InsecureChannelCredentials());
  std::vector<std::unique_ptr<RawCall>> calls;
  for (int i = 0; i < 3; ++i) calls.push_back(std::make_unique<RawCall>(channel, kInitialize));
  ASSERT_TRUE(WaitFor([&] { return Held(server, "uploading_calls") == 2; }, 10));
  std::this_thread::sleep_for(std::chrono::seconds(1));
  EXPECT_EQ(Held(server, "uploading_calls"), 2) << "a third stream got in";
  calls.front().reset();  // one ends: the waiting one starts
  EXPECT_TRUE(WaitFor([&] { return Held(server, "uploading_calls") == 2 &&
                                   Metric(server.metrics_port(),
                                          "wave_requests_total{code=\"CANCELLED\","
                                          "method=\"Initialize\"}") == 1; }, 10));
  calls.clear();
  EXPECT_EQ(server.Stop(), 0);
}

}  // namespace
}  // namespace wave
