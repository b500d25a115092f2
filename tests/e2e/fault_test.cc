// Faults end to end: banks that break on reload, and a server killed in the
// middle of a call. The real server and client binaries over loopback.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <thread>

#include "core/bank/template_bank.h"
#include "core/base/file_util.h"
#include "gtest/gtest.h"
#include "tests/e2e/harness.h"
#include "tests/status_matchers.h"

namespace wave {
namespace {

using testing::HttpGet;
using testing::RunBinary;
using testing::ServerProcess;
using testing::WaitFor;

std::string ReadFile(const std::string& path) {
  auto bytes = ReadFileToString(path);
  EXPECT_TRUE(bytes.ok()) << bytes.status();
  return bytes.ok() ? *bytes : std::string();
}

void WriteFile(const std::string& path, const std::string& bytes) {
  ASSERT_OK(WriteFileAtomically(path, [&](std::ostream& out) {
    out << bytes;
    return absl::OkStatus();
  }));
}

std::vector<std::string> InitArgs(const ServerProcess& server, const std::string& out,
                                  std::vector<std::string> extra) {
  std::vector<std::string> args = {"init",
                                   "--server=" + server.address(),
                                   "--classes=10",
                                   "--images=" + testing::TestImagesPath(),
                                   "--labels=" + testing::TestLabelsPath(),
                                   "--samples=100",
                                   "--batch=32",
                                   "--out=" + out};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

std::string BanksListing(const ServerProcess& server) {
  return RunBinary("client/wave-client", {"banks", "--server=" + server.address()}).out;
}

TEST(ReloadTest, ACorruptNewFileLeavesThePreviousBankServing) {
  const std::string path = testing::TempPath("fault-reload.safetensors");
  const std::string good = ReadFile(testing::TestBankPath());
  WriteFile(path, good);
  auto bank = LoadBank(path);
  ASSERT_OK(bank);
  ServerProcess server({"--banks=" + path});
  ASSERT_TRUE(server.started()) << server.log();

  std::string corrupt = good;
  corrupt[corrupt.size() - 7] ^= 0x21;
  WriteFile(path, corrupt);
  ASSERT_EQ(kill(server.pid(), SIGHUP), 0);
  ASSERT_TRUE(WaitFor([&] { return server.log().find("reload kept") != std::string::npos; }, 20))
      << server.log();
  EXPECT_NE(server.log().find("checksum mismatch"), std::string::npos) << server.log();

  // Still serving, from the bank loaded at start.
  EXPECT_NE(BanksListing(server).find(bank->file_sha256), std::string::npos);
  const std::string out = testing::TempPath("fault-after-bad-reload.safetensors");
  auto r = RunBinary("client/wave-client",
                     InitArgs(server, out, {"--depth=2", "--width=32", "--steps=2"}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(testing::FileExists(out));
  const std::string metrics = HttpGet(server.metrics_port(), "/metrics");
  EXPECT_NE(metrics.find("wave_bank_reloads_total{result=\"failed\"} 1"), std::string::npos)
      << metrics;
}

TEST(ReloadTest, ANewBankUnderTheSamePathServesAfterSighup) {
  const std::string path = testing::TempPath("fault-rollout.safetensors");
  WriteFile(path, ReadFile(testing::TestBankPath()));
  auto bank = LoadBank(path);
  ASSERT_OK(bank);
  ServerProcess server({"--banks=" + path});
  ASSERT_TRUE(server.started()) << server.log();
  const std::string old_sha = bank->file_sha256;

  bank->version = "2";
  ASSERT_OK(SaveBank(*bank, path + ".new"));
  ASSERT_EQ(rename((path + ".new").c_str(), path.c_str()), 0);  // atomic, as a rollout does
  auto rolled = LoadBank(path);
  ASSERT_OK(rolled);
  ASSERT_NE(rolled->file_sha256, old_sha);
  ASSERT_EQ(kill(server.pid(), SIGHUP), 0);
  ASSERT_TRUE(WaitFor([&] { return server.log().find("banks reloaded") != std::string::npos; }, 20))
      << server.log();

  const std::string listing = BanksListing(server);
  EXPECT_NE(listing.find("(version 2)"), std::string::npos) << listing;
  EXPECT_NE(listing.find(rolled->file_sha256), std::string::npos) << listing;
  // One series per bank name: the old version's is gone.
  const std::string metrics = HttpGet(server.metrics_port(), "/metrics");
  EXPECT_NE(metrics.find(rolled->file_sha256), std::string::npos) << metrics;
  EXPECT_EQ(metrics.find(old_sha), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("wave_bank_reloads_total{result=\"ok\"} 1"), std::string::npos);
}

// Runs `wave-client init` on a thread, kills the server with SIGKILL once
// `killable` holds, and returns what the client said.
testing::CommandResult KillServerDuringInit(ServerProcess& server, std::vector<std::string> args,
                                            const std::function<bool()>& killable) {
  testing::CommandResult result;
  std::thread client([&] { result = RunBinary("client/wave-client", args); });
  const bool reached = WaitFor(killable, 120);
  kill(server.pid(), SIGKILL);
  server.Wait();
  client.join();
  EXPECT_TRUE(reached) << "the call never reached the point to kill at";
  return result;
}

TEST(KillServerTest, MidFitTheClientReportsUnavailableAndWritesNothing) {
  ServerProcess server;
  ASSERT_TRUE(server.started()) << server.log();
  const std::string out = testing::TempPath("fault-killed-fit.safetensors");
  auto r = KillServerDuringInit(
      server, InitArgs(server, out, {"--depth=2", "--width=32", "--steps=5000"}), [&] {
        return HttpGet(server.metrics_port(), "/metrics").find("wave_fits{state=\"running\"} 1") !=
               std::string::npos;
      });
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("(UNAVAILABLE)"), std::string::npos) << r.err;
  EXPECT_FALSE(testing::FileExists(out));
  EXPECT_FALSE(testing::FileExists(out + ".part"));
}

// The client keeps what arrived with the result's key; a server restarted
// on the same --cache_dir continues the download from there.
TEST(KillServerTest, MidDownloadTheClientKeepsThePartAndResumesAfterARestart) {
  const std::string cache_dir = testing::TempPath("fault-cache");
  const std::string out = testing::TempPath("fault-killed-download.safetensors");
  // About 50M parameters (200 MB): far more than loopback buffers hold, so
  // the kill lands while the file is still coming.
  const std::vector<std::string> size = {"--depth=16", "--width=512", "--steps=0"};
  {
    ServerProcess server({"--cache_dir=" + cache_dir});
    ASSERT_TRUE(server.started()) << server.log();
    auto r = KillServerDuringInit(server, InitArgs(server, out, size),
                                  [&] { return testing::FileExists(out + ".part"); });
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    EXPECT_NE(r.err.find("(UNAVAILABLE)"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("--resume"), std::string::npos) << r.err;
  }
  EXPECT_FALSE(testing::FileExists(out));
  ASSERT_TRUE(testing::FileExists(out + ".part"));
  ASSERT_TRUE(testing::FileExists(out + ".part.key"));

  ServerProcess server({"--cache_dir=" + cache_dir});
  ASSERT_TRUE(server.started()) << server.log();
  std::vector<std::string> args = InitArgs(server, out, size);
  args.push_back("--resume");
  auto r = RunBinary("client/wave-client", args);
  ASSERT_EQ(r.exit_code, 0) << r.err << server.log();
  EXPECT_NE(r.err.find("resume at byte"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("resume at byte 0\n"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("served from the server's result cache"), std::string::npos) << r.out;
  EXPECT_TRUE(testing::FileExists(out));  // verified against the whole file's sha256
  EXPECT_FALSE(testing::FileExists(out + ".part"));
  std::remove(out.c_str());
}

}  // namespace
}  // namespace wave
