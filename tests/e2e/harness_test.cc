// The harness itself: how it starts binaries decides whether a test sees its
// own server or a stale file's.
#include "tests/e2e/harness.h"

#include <signal.h>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>

#include "gtest/gtest.h"

namespace wave {
namespace {

using testing::ReadFileOrEmpty;

// A server log left by an earlier process once passed for a new server's
// startup line: the harness read it before the child had truncated it. The
// files must be empty (or the new binary's) by the time StartBinary returns.
TEST(HarnessTest, StartBinaryHasTruncatedTheOutputFilesWhenItReturns) {
  for (int i = 0; i < 20; ++i) {
    const std::string out = testing::TempPath("stale.out." + std::to_string(i)),
                      err = testing::TempPath("stale.err." + std::to_string(i));
    std::ofstream(out) << "wave-server stale listening on port 1 (metrics port 2)\n";
    std::ofstream(err) << "wave-server stale listening on port 1 (metrics port 2)\n";
    const pid_t pid = testing::StartBinary("client/wave-client", {"--help"}, {}, out, err);
    ASSERT_GT(pid, 0) << ReadFileOrEmpty(err);
    EXPECT_EQ(ReadFileOrEmpty(out).find("stale"), std::string::npos) << "run " << i;
    EXPECT_EQ(ReadFileOrEmpty(err).find("stale"), std::string::npos) << "run " << i;
    waitpid(pid, nullptr, 0);
    std::remove(out.c_str());
    std::remove(err.c_str());
  }
}

TEST(HarnessTest, ABinaryThatCannotStartSaysWhyInItsErrorFile) {
  const std::string out = testing::TempPath("missing.out"), err = testing::TempPath("missing.err");
  EXPECT_EQ(testing::StartBinary("no/such-binary", {}, {}, out, err), -1);
  EXPECT_NE(ReadFileOrEmpty(err).find("cannot start"), std::string::npos) << ReadFileOrEmpty(err);
  EXPECT_NE(ReadFileOrEmpty(err).find("No such file"), std::string::npos) << ReadFileOrEmpty(err);
  EXPECT_EQ(testing::RunBinary("no/such-binary", {}).exit_code, -1);
}

TEST(HarnessTest, WaitExitGivesTheExitCodeOrKillsAChildThatOverstays) {
  const std::string out = testing::TempPath("wait.out"), err = testing::TempPath("wait.err");
  // wave-client exits 2 on an unknown subcommand.
  pid_t pid = testing::StartBinary("client/wave-client", {"no-such-command"}, {}, out, err);
  ASSERT_GT(pid, 0) << ReadFileOrEmpty(err);
  EXPECT_EQ(testing::WaitExit(pid, 30), 2) << ReadFileOrEmpty(err);

  // A server stays up until told to stop.
  pid = testing::StartBinary("server/wave-server",
                             {"--banks=" + testing::TestBankPath(), "--address=127.0.0.1:0",
                              "--metrics_address=127.0.0.1:0"},
                             {}, out, err);
  ASSERT_GT(pid, 0) << ReadFileOrEmpty(err);
  EXPECT_EQ(testing::WaitExit(pid, 0.2), -2);
  // Killed and reaped: the pid is no longer this process's child.
  EXPECT_EQ(waitpid(pid, nullptr, WNOHANG), -1);
  std::remove(out.c_str());
  std::remove(err.c_str());
}

TEST(HarnessTest, ExtraEnvironmentReachesTheChildAndOverridesTheInherited) {
  setenv("WAVE_HARNESS_PROBE", "inherited", 1);
  const std::string out = testing::TempPath("env.out"), err = testing::TempPath("env.err");
  // A server stays up until told to stop, so /proc shows its environment.
  const pid_t pid = testing::StartBinary("server/wave-server",
                                         {"--banks=" + testing::TestBankPath(),
                                          "--address=127.0.0.1:0", "--metrics_address=127.0.0.1:0"},
                                         {"WAVE_HARNESS_PROBE=override"}, out, err);
  ASSERT_GT(pid, 0) << ReadFileOrEmpty(err);
  // /proc shows the environment once exec has laid out the new stack, a
  // moment after posix_spawn returns.
  std::string environ_text;
  testing::WaitFor(
      [&] {
        return !(environ_text = ReadFileOrEmpty("/proc/" + std::to_string(pid) + "/environ"))
                    .empty();
      },
      10);
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  EXPECT_NE(environ_text.find("WAVE_HARNESS_PROBE=override"), std::string::npos)
      << ReadFileOrEmpty(err);
  EXPECT_EQ(environ_text.find("WAVE_HARNESS_PROBE=inherited"), std::string::npos);
}

}  // namespace
}  // namespace wave
