// wave-learn data-parallel over c10d (Gloo, TCPStore rendezvous) with two
// processes on loopback, against one process.
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "core/base/safetensors.h"
#include "core/model/tensor_io.h"
#include "gtest/gtest.h"
#include "tests/e2e/harness.h"

namespace wave::testing {
namespace {

using Clock = std::chrono::steady_clock;

std::vector<std::string> TinyLearn(const std::string& dir, std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {
      "--out=" + dir + "/bank.safetensors", "--work_dir=" + dir + "/work", "--ancestry=2x32",
      "--tile=16", "--head_dim=16", "--templates=4", "--train_samples=512",
      "--test_samples=200", "--ancestry_epochs=1", "--distill_epochs=2", "--threads=1",
      "--augment_pad=2"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

std::vector<std::string> RankEnv(int rank, int world, int port) {
  return {"WORLD_SIZE=" + std::to_string(world), "RANK=" + std::to_string(rank),
          "MASTER_ADDR=127.0.0.1", "MASTER_PORT=" + std::to_string(port)};
}

struct Rank {
  pid_t pid;
  std::string out, err;
};

std::vector<Rank> StartRanks(int world, const std::vector<std::string>& args,
                             const std::string& tag) {
  const int port = FreePort();
  std::vector<Rank> ranks;
  for (int r = 0; r < world; ++r) {
    Rank rank{-1, TempPath(tag + ".out." + std::to_string(r)),
              TempPath(tag + ".err." + std::to_string(r))};
    rank.pid = StartBinary("tools/learn/wave-learn", args, RankEnv(r, world, port), rank.out,
                           rank.err);
    ranks.push_back(rank);
  }
  return ranks;
}

TensorMap Load(const std::string& path) {
  auto file = SafetensorsFile::ReadFile(path);
  EXPECT_TRUE(file.ok()) << file.status();
  auto tensors = ReadTensors(*file);
  EXPECT_TRUE(tensors.ok()) << tensors.status();
  return tensors.ok() ? *tensors : TensorMap{};
}

double MaxAbsDiff(const TensorMap& a, const TensorMap& b) {
  EXPECT_EQ(a.size(), b.size());
  double worst = 0;
  for (const auto& [name, t] : a) {
    auto it = b.find(name);
    if (it == b.end()) {
      ADD_FAILURE() << name << " missing";
      continue;
    }
    worst = std::max(worst, (t - it->second).abs().max().item<double>());
  }
  return worst;
}

std::string Dir(const std::string& name) {
  const std::string dir = TempPath(name);
  std::filesystem::create_directories(dir);
  return dir;
}

// Two ranks sharing every global batch against one process with the same
// batch and seed. The ancestry's parameters agree to float summation order
// (4 steps: measured 4e-6; bound 1e-4). Template distillation starts from
// an SVD of the ancestry, which turns such differences into different
// singular vectors where singular values nearly coincide, so it is compared
// from one shared ancestry (--ancestry_in): measured 1.5e-8; bound 1e-6.
TEST(LearnDistributedTest, TwoRanksLearnWhatOneProcessLearns) {
  const std::string one = Dir("dp-one"), two = Dir("dp-two");
  CommandResult single = RunBinary("tools/learn/wave-learn", TinyLearn(one));
  ASSERT_EQ(single.exit_code, 0) << single.err;
  auto ranks = StartRanks(2, TinyLearn(two), "dp");
  for (const auto& r : ranks) ASSERT_EQ(WaitExit(r.pid, 120), 0) << ReadFileOrEmpty(r.err);
  EXPECT_LT(MaxAbsDiff(Load(one + "/work/ancestry.safetensors"),
                       Load(two + "/work/ancestry.safetensors")),
            1e-4);
  EXPECT_NE(ReadFileOrEmpty(ranks[1].out).find("[rank 1] [ancestry] epoch 1 done"),
            std::string::npos);

  const std::string shared = "--ancestry_in=" + one + "/work/ancestry.safetensors";
  const std::string one_b = Dir("dp-one-b"), two_b = Dir("dp-two-b");
  single = RunBinary("tools/learn/wave-learn", TinyLearn(one_b, {shared}));
  ASSERT_EQ(single.exit_code, 0) << single.err;
  ranks = StartRanks(2, TinyLearn(two_b, {shared}), "dp-b");
  for (const auto& r : ranks) ASSERT_EQ(WaitExit(r.pid, 120), 0) << ReadFileOrEmpty(r.err);
  EXPECT_LT(MaxAbsDiff(Load(one_b + "/bank.safetensors"), Load(two_b + "/bank.safetensors")),
            1e-6);
}

// A rank that dies makes the other fail within seconds, naming it, never hang.
class DeadRankTest : public ::testing::TestWithParam<int> {};

TEST_P(DeadRankTest, TheOtherRankFailsInTimeNamingIt) {
  const int dead = GetParam(), survivor = 1 - dead;
  const std::string dir = Dir("dp-dead-" + std::to_string(dead));
  auto ranks = StartRanks(
      2, TinyLearn(dir, {"--ancestry_epochs=200", "--collective_timeout=60"}), "dead");
  ASSERT_TRUE(WaitFor(
      [&] {
        return ReadFileOrEmpty(ranks[survivor].out).find("[ancestry] epoch 2/") !=
               std::string::npos;
      },
      60))
      << ReadFileOrEmpty(ranks[survivor].err);
  kill(ranks[dead].pid, SIGKILL);
  waitpid(ranks[dead].pid, nullptr, 0);
  const auto start = Clock::now();
  EXPECT_EQ(WaitExit(ranks[survivor].pid, 30), 1);
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - start).count(), 15);
  const std::string err = ReadFileOrEmpty(ranks[survivor].err);
  EXPECT_NE(err.find(dead == 0 ? "rank 0, which hosts the rendezvous store, is gone"
                               : "rank 1 stopped"),
            std::string::npos)
      << err;
}

INSTANTIATE_TEST_SUITE_P(EitherRank, DeadRankTest, ::testing::Values(0, 1));

// A job stopped after a checkpoint and started again with the same size
// continues from it (rank 0 wrote it; every rank reads it).
TEST(LearnDistributedTest, ARestartedJobResumesFromTheLastCheckpoint) {
  const std::string dir = Dir("dp-resume");
  const auto args = TinyLearn(dir, {"--ancestry_epochs=8", "--train_samples=2048"});
  auto ranks = StartRanks(2, args, "resume");
  ASSERT_TRUE(WaitFor(
      [&] {
        return ReadFileOrEmpty(ranks[0].out).find("[ancestry] epoch 2 done") != std::string::npos;
      },
      120))
      << ReadFileOrEmpty(ranks[0].err);
  for (const auto& r : ranks) kill(r.pid, SIGKILL);
  for (const auto& r : ranks) waitpid(r.pid, nullptr, 0);
  ranks = StartRanks(2, args, "resume-2");
  for (const auto& r : ranks) ASSERT_EQ(WaitExit(r.pid, 120), 0) << ReadFileOrEmpty(r.err);
  for (const auto& r : ranks) {
    EXPECT_NE(ReadFileOrEmpty(r.out).find("[ancestry] resuming after epoch"), std::string::npos)
        << ReadFileOrEmpty(r.out);
  }
}

TEST(LearnDistributedTest, BadRendezvousSettingsFailBeforeTraining) {
  const std::string dir = Dir("dp-bad");
  struct Case {
    std::vector<std::string> env;
    std::string message;
  } cases[] = {
      {{"WORLD_SIZE=2", "RANK=2", "MASTER_ADDR=127.0.0.1", "MASTER_PORT=29999"}, "RANK: '2'"},
      {{"WORLD_SIZE=2", "RANK=0", "MASTER_ADDR=127.0.0.1", "MASTER_PORT=http"}, "MASTER_PORT"},
      {{"WORLD_SIZE=2", "RANK=1", "MASTER_PORT=29999"}, "MASTER_ADDR: not set"},
      {{"WORLD_SIZE=two", "RANK=0", "MASTER_ADDR=127.0.0.1", "MASTER_PORT=29999"},
       "WORLD_SIZE"},
  };
  for (const auto& c : cases) {
    const std::string out = TempPath("bad.out"), err = TempPath("bad.err");
    pid_t pid = StartBinary("tools/learn/wave-learn", TinyLearn(dir), c.env, out, err);
    EXPECT_EQ(WaitExit(pid, 30), 1);
    EXPECT_NE(ReadFileOrEmpty(err).find(c.message), std::string::npos) << ReadFileOrEmpty(err);
    EXPECT_EQ(ReadFileOrEmpty(out).find("[ancestry]"), std::string::npos) << "trained anyway";
  }
  // A rank whose peers never come: the rendezvous times out, no hang.
  const std::string out = TempPath("lone.out"), err = TempPath("lone.err");
  const auto start = Clock::now();
  pid_t pid = StartBinary("tools/learn/wave-learn", TinyLearn(dir, {"--rendezvous_timeout=2"}),
                          RankEnv(0, 2, FreePort()), out, err);
  EXPECT_EQ(WaitExit(pid, 60), 1);
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - start).count(), 30);
  EXPECT_NE(ReadFileOrEmpty(err).find("rendezvous at 127.0.0.1"), std::string::npos)
      << ReadFileOrEmpty(err);
}

}  // namespace
}  // namespace wave::testing
