// End-to-end: the result cache and resumed downloads, with the real server
// and client over loopback gRPC.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"
#include "tests/e2e/harness.h"
#include "wave/v1/wave.pb.h"

namespace wave {
namespace {

using testing::Metric;
using testing::ReadFileOrEmpty;
using testing::RunBinary;
using testing::ServerProcess;

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

std::vector<std::string> InitArgs(const ServerProcess& server, const std::string& out,
                                  std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"init",
                                   "--server=" + server.address(),
                                   "--depth=3",
                                   "--width=48",
                                   "--images=" + testing::TestImagesPath(),
                                   "--labels=" + testing::TestLabelsPath(),
                                   "--samples=200",
                                   "--steps=12",
                                   "--batch=32",
                                   "--patience=0",
                                   "--json",
                                   "--out=" + out};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

// Runs wave-client init; the summary it printed.
nlohmann::json Init(const ServerProcess& server, const std::string& out,
                    std::vector<std::string> extra = {}) {
  auto r = RunBinary("client/wave-client", InitArgs(server, out, std::move(extra)));
  EXPECT_EQ(r.exit_code, 0) << r.err << server.log();
  if (r.exit_code != 0) return nlohmann::json::object();
  return nlohmann::json::parse(r.out);
}

double CacheEvents(const ServerProcess& server, const std::string& event) {
  return Metric(server.metrics_port(), "wave_result_cache_total{event=\"" + event + "\"}");
}

bool IsHit(const nlohmann::json& summary) { return summary.value("cacheHit", false); }

TEST(CacheTest, ARepeatedRequestIsAHitWithTheSameBytes) {
  ServerProcess server;
  ASSERT_TRUE(server.started()) << server.log();
  const std::string a = testing::TempPath("a.safetensors"), b = testing::TempPath("b.safetensors");
  const auto first = Init(server, a, {"--seed=4"});
  const auto second = Init(server, b, {"--seed=4"});
  EXPECT_FALSE(IsHit(first));
  EXPECT_TRUE(IsHit(second));
  EXPECT_EQ(first["resultKey"], second["resultKey"]);
  EXPECT_EQ(first["modelSha256"], second["modelSha256"]);
  EXPECT_EQ(ReadFileOrEmpty(a), ReadFileOrEmpty(b));
  // The hit reports the fit's figures, and no fit seconds of its own.
  EXPECT_EQ(first["heldOutAccuracy"], second["heldOutAccuracy"]);
  EXPECT_EQ(first["stepsRun"], second["stepsRun"]);
  EXPECT_FALSE(second["seconds"].contains("fit"));
  EXPECT_EQ(Metric(server.metrics_port(), "wave_fit_steps_total"), 12);
  EXPECT_EQ(CacheEvents(server, "hit"), 1);
  EXPECT_EQ(CacheEvents(server, "miss"), 1);
  EXPECT_GT(Metric(server.metrics_port(), "wave_result_cache_bytes"), 0);
}

TEST(CacheTest, AnotherSeedOrOneChangedImageIsAMiss) {
  ServerProcess server;
  ASSERT_TRUE(server.started()) << server.log();
  // The same 200 images as a safetensors file, and a copy with one pixel changed.
  const std::string out = testing::TempPath("m.safetensors");
  const auto base = Init(server, out, {"--seed=4"});
  EXPECT_FALSE(IsHit(Init(server, out, {"--seed=5"})));
  EXPECT_FALSE(IsHit(Init(server, out, {"--seed=4", "--samples=199"})));
  EXPECT_FALSE(IsHit(Init(server, out, {"--seed=4", "--dtype=bf16"})));
  EXPECT_TRUE(IsHit(Init(server, out, {"--seed=4"})));
  EXPECT_EQ(CacheEvents(server, "miss"), 4);
  EXPECT_EQ(CacheEvents(server, "hit"), 1);
}

TEST(CacheTest, OneChangedPixelIsAMiss) {
  ServerProcess server;
  ASSERT_TRUE(server.started()) << server.log();
  // The raw API: the same header, the data differing in one byte.
  auto call = [&](char pixel_of_last) {
    testing::RawCall raw(server.address(), "/wave.v1.WaveInit/Initialize");
    EXPECT_TRUE(raw.Write(testing::HeaderMessage(1, 32, 2, 20)));
    v1::InitializeRequest chunk;
    EXPECT_TRUE(chunk.ParseFromString(testing::ChunkMessage(20, 0)));
    (*chunk.mutable_data()->mutable_images())[20 * 784 - 1] = pixel_of_last;
    EXPECT_TRUE(raw.Write(chunk.SerializeAsString()));
    EXPECT_TRUE(raw.WritesDone());
    v1::Summary summary;
    while (auto message = raw.Read()) {
      v1::InitializeResponse r;
      if (r.ParseFromString(*message) && r.has_summary()) summary = r.summary();
    }
    EXPECT_TRUE(raw.Finish().ok());
    return summary;
  };
  const v1::Summary first = call('\x40'), changed = call('\x41'), again = call('\x40');
  EXPECT_FALSE(first.cache_hit());
  EXPECT_FALSE(changed.cache_hit());
  EXPECT_NE(changed.result_key(), first.result_key());
  EXPECT_TRUE(again.cache_hit()) << server.log();
  EXPECT_EQ(again.model_sha256(), first.model_sha256());
}

TEST(CacheTest, EvictionBySize) {
  const std::string out = testing::TempPath("e.safetensors");
  double entry_bytes = 0;  // what one entry of this size takes, as the server counts it
  {
    ServerProcess server;
    ASSERT_TRUE(server.started()) << server.log();
    Init(server, out, {"--seed=1"});
    entry_bytes = Metric(server.metrics_port(), "wave_result_cache_bytes");
  }
  ASSERT_GT(entry_bytes, 0);
  const int64_t bound = static_cast<int64_t>(entry_bytes * 1.5);  // room for one
  ServerProcess server({absl::StrCat("--cache_bytes=", bound)});
  ASSERT_TRUE(server.started()) << server.log();
  EXPECT_FALSE(IsHit(Init(server, out, {"--seed=1"})));
  EXPECT_TRUE(IsHit(Init(server, out, {"--seed=1"})));
  EXPECT_FALSE(IsHit(Init(server, out, {"--seed=2"})));  // evicts seed 1
  EXPECT_FALSE(IsHit(Init(server, out, {"--seed=1"})));  // evicts seed 2
  EXPECT_EQ(CacheEvents(server, "eviction"), 2);
  EXPECT_LE(Metric(server.metrics_port(), "wave_result_cache_bytes"), bound);
}

TEST(CacheTest, ARestartKeepsTheDirectoryAndADamagedEntryIsRefitted) {
  const std::string dir = testing::TempPath("cache_dir");
  std::filesystem::remove_all(dir);
  const std::string a = testing::TempPath("r1.safetensors"),
                    b = testing::TempPath("r2.safetensors");
  nlohmann::json first;
  {
    ServerProcess server({"--cache_dir=" + dir});
    ASSERT_TRUE(server.started()) << server.log();
    first = Init(server, a, {"--seed=3"});
  }
  {
    ServerProcess server({"--cache_dir=" + dir});
    ASSERT_TRUE(server.started()) << server.log();
    const auto second = Init(server, b, {"--seed=3"});
    EXPECT_TRUE(IsHit(second));
    EXPECT_EQ(ReadFileOrEmpty(a), ReadFileOrEmpty(b));
  }
  const std::string entry = dir + "/" + first["resultKey"].get<std::string>() + ".wcache";
  ASSERT_TRUE(testing::FileExists(entry));
  {  // flip one byte near the end (inside the tensors)
    std::fstream f(entry, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(-9, std::ios::end);
    char c = 0;
    f.read(&c, 1);
    c ^= 0x5a;
    f.seekp(-9, std::ios::end);
    f.write(&c, 1);
  }
  ServerProcess server({"--cache_dir=" + dir});
  ASSERT_TRUE(server.started()) << server.log();
  const auto third = Init(server, b, {"--seed=3"});
  EXPECT_FALSE(IsHit(third));
  EXPECT_EQ(ReadFileOrEmpty(a), ReadFileOrEmpty(b));  // refitted: the same bytes again
  EXPECT_EQ(CacheEvents(server, "corrupt"), 1);
  EXPECT_NE(server.log().find("checksum mismatch"), std::string::npos) << server.log();
}

TEST(CacheTest, ABrokenDownloadResumesAtAnyOffset) {
  ServerProcess server;
  ASSERT_TRUE(server.started()) << server.log();
  const std::string whole = testing::TempPath("whole.safetensors");
  const auto summary = Init(server, whole, {"--seed=6"});
  const std::string bytes = ReadFileOrEmpty(whole);
  const std::string key = summary["resultKey"];
  ASSERT_GT(bytes.size(), 10000u);
  const std::string out = testing::TempPath("resumed.safetensors");
  for (size_t offset :
       {size_t{0}, size_t{1}, size_t{4096}, bytes.size() / 2, bytes.size() - 1, bytes.size()}) {
    std::filesystem::remove(out);
    WriteFile(out + ".part", bytes.substr(0, offset));
    WriteFile(out + ".part.key", key + "\n");
    auto r = RunBinary("client/wave-client", InitArgs(server, out, {"--seed=6", "--resume"}));
    ASSERT_EQ(r.exit_code, 0) << "offset " << offset << ": " << r.err;
    EXPECT_NE(r.err.find(absl::StrCat("resume at byte ", offset)), std::string::npos) << r.err;
    EXPECT_EQ(ReadFileOrEmpty(out), bytes) << "offset " << offset;
    EXPECT_FALSE(testing::FileExists(out + ".part"));
    EXPECT_FALSE(testing::FileExists(out + ".part.key"));
  }
  // A .part whose bytes are not the result's fails the whole-file check.
  std::string wrong = bytes.substr(0, 5000);
  wrong[4000] ^= 1;
  WriteFile(out + ".part", wrong);
  WriteFile(out + ".part.key", key + "\n");
  auto r = RunBinary("client/wave-client", InitArgs(server, out, {"--seed=6", "--resume"}));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("sha256"), std::string::npos) << r.err;
  // A key the server does not keep: the client fits again.
  WriteFile(out + ".part", bytes.substr(0, 5000));
  WriteFile(out + ".part.key", std::string(64, 'f') + "\n");
  r = RunBinary("client/wave-client", InitArgs(server, out, {"--seed=6", "--resume"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("cannot resume"), std::string::npos) << r.err;
  EXPECT_EQ(ReadFileOrEmpty(out), bytes);
}

// The stream breaks after the key came: the key and offset resume it.
TEST(CacheTest, TheRawApiResumesFromTheKeyOfABrokenStream) {
  ServerProcess server;
  ASSERT_TRUE(server.started()) << server.log();
  std::string key, prefix;
  uint64_t total = 0;
  {
    testing::RawCall raw(server.address(), "/wave.v1.WaveInit/Initialize");
    ASSERT_TRUE(raw.Write(testing::HeaderMessage(2, 64, 2, 20, /*chunk_bytes=*/4096)));
    ASSERT_TRUE(raw.Write(testing::ChunkMessage(20, 0)));
    ASSERT_TRUE(raw.WritesDone());
    while (prefix.size() < 3 * 4096) {
      auto message = raw.Read();
      ASSERT_TRUE(message.has_value());
      v1::InitializeResponse r;
      ASSERT_TRUE(r.ParseFromString(*message));
      if (r.has_progress() && !r.progress().result_key().empty()) key = r.progress().result_key();
      if (r.has_file()) {
        ASSERT_EQ(r.file().offset(), prefix.size());
        prefix += r.file().data();
        total = r.file().total_bytes();
      }
    }
    raw.Cancel();  // the client goes away mid-download
  }
  ASSERT_EQ(key.size(), 64u);
  auto resume = [&](uint64_t offset, const std::string& file) {
    v1::InitializeRequest request;
    request.mutable_header()->set_resume_key(key);
    request.mutable_header()->set_resume_offset(offset);
    request.mutable_header()->set_resume_file(file);
    testing::RawCall raw(server.address(), "/wave.v1.WaveInit/Initialize");
    EXPECT_TRUE(raw.Write(request.SerializeAsString()));
    EXPECT_TRUE(raw.WritesDone());
    std::string rest;
    v1::Summary summary;
    while (auto message = raw.Read()) {
      v1::InitializeResponse r;
      EXPECT_TRUE(r.ParseFromString(*message));
      if (r.has_file()) {
        EXPECT_EQ(r.file().offset(), offset + rest.size());
        rest += r.file().data();
      }
      if (r.has_summary()) summary = r.summary();
    }
    return std::make_tuple(raw.Finish(), rest, summary);
  };
  auto [status, rest, summary] = resume(prefix.size(), "");
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(prefix.size() + rest.size(), total);
  EXPECT_TRUE(summary.cache_hit());
  EXPECT_EQ(summary.model_bytes(), total);
  // The summary's digest covers the whole file, the part sent before too.
  auto [s0, all, summary0] = resume(0, "model.safetensors");
  ASSERT_TRUE(s0.ok());
  EXPECT_EQ(all, prefix + rest);
  EXPECT_EQ(summary0.model_sha256(), summary.model_sha256());

  auto [past, r1, s1] = resume(total + 1, "");
  EXPECT_EQ(past.error_code(), grpc::StatusCode::OUT_OF_RANGE) << past.error_message();
  auto [no_scalers, r2, s2] = resume(0, "scalers.safetensors");
  EXPECT_EQ(no_scalers.error_code(), grpc::StatusCode::NOT_FOUND) << no_scalers.error_message();
  key = std::string(64, '0');
  auto [unknown, r3, s3] = resume(0, "");
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::NOT_FOUND) << unknown.error_message();
}

TEST(CacheTest, WithoutACacheDownloadsCannotResume) {
  ServerProcess server({"--cache_bytes=0"});
  ASSERT_TRUE(server.started()) << server.log();
  const std::string out = testing::TempPath("nc.safetensors");
  EXPECT_FALSE(IsHit(Init(server, out, {"--seed=1"})));
  EXPECT_FALSE(IsHit(Init(server, out, {"--seed=1"})));
  v1::InitializeRequest request;
  request.mutable_header()->set_resume_key(std::string(64, 'a'));
  testing::RawCall raw(server.address(), "/wave.v1.WaveInit/Initialize");
  ASSERT_TRUE(raw.Write(request.SerializeAsString()));
  ASSERT_TRUE(raw.WritesDone());
  const grpc::Status status = raw.Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(status.error_message().find("--cache_bytes=0"), std::string::npos);
}

TEST(CacheTest, TwoIdenticalRequestsAtOnceRunOneFit) {
  ServerProcess server({"--fit_slots=2"});
  ASSERT_TRUE(server.started()) << server.log();
  std::vector<pid_t> clients;
  std::vector<std::string> outs;
  for (int i = 0; i < 2; ++i) {
    outs.push_back(testing::TempPath(absl::StrCat("c", i, ".safetensors")));
    // Enough steps that the second arrives while the first fits.
    auto args = InitArgs(server, outs.back(), {"--seed=8", "--steps=150"});
    clients.push_back(testing::StartBinary("client/wave-client", args, {}, outs.back() + ".out",
                                           outs.back() + ".err"));
  }
  for (pid_t pid : clients) {
    EXPECT_EQ(testing::WaitExit(pid, 300), 0) << ReadFileOrEmpty(outs[0] + ".err");
  }
  EXPECT_EQ(ReadFileOrEmpty(outs[0]), ReadFileOrEmpty(outs[1]));
  EXPECT_EQ(Metric(server.metrics_port(), "wave_fit_steps_total"), 150);
  EXPECT_EQ(CacheEvents(server, "miss"), 1);
  EXPECT_EQ(CacheEvents(server, "hit"), 1);
}

TEST(MultiTargetTest, SeveralSizesFromOneUploadEachVerifiedAndCachedApart) {
  ServerProcess server;
  ASSERT_TRUE(server.started()) << server.log();
  const std::string dir = testing::TempPath("sizes");
  std::filesystem::create_directories(dir);
  auto r = RunBinary(
      "client/wave-client",
      InitArgs(server, "unused", {"--seed=2", "--sizes=1x32,3x48,2x64", "--out_dir=" + dir}));
  ASSERT_EQ(r.exit_code, 0) << r.err << server.log();
  std::vector<nlohmann::json> summaries;
  for (absl::string_view line : absl::StrSplit(r.out, '\n', absl::SkipEmpty())) {
    summaries.push_back(nlohmann::json::parse(line));
  }
  ASSERT_EQ(summaries.size(), 3u);
  const std::vector<std::string> names = {"1x32", "3x48", "2x64"};
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(summaries[i].value("targetIndex", 0), i);
    EXPECT_FALSE(IsHit(summaries[i]));
    EXPECT_TRUE(testing::FileExists(dir + "/vit-" + names[i] + ".safetensors"));
  }
  EXPECT_EQ(summaries[1]["target"]["width"], 48);  // a number, not proto3 JSON's string
  EXPECT_EQ(Metric(server.metrics_port(), "wave_fit_steps_total"), 3 * 12);
  // Each size is its own cache entry: one of them asked alone is a hit.
  const std::string alone = testing::TempPath("alone.safetensors");
  const auto single = Init(server, alone, {"--seed=2"});
  EXPECT_TRUE(IsHit(single));
  EXPECT_EQ(ReadFileOrEmpty(alone), ReadFileOrEmpty(dir + "/vit-3x48.safetensors"));
  // One bad size fails the call before any fit, naming the entry.
  const double steps_before = Metric(server.metrics_port(), "wave_fit_steps_total");
  r = RunBinary("client/wave-client",
                InitArgs(server, "unused", {"--seed=9", "--sizes=1x32,3x40", "--out_dir=" + dir}));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("targets[1].width"), std::string::npos) << r.err;
  EXPECT_EQ(Metric(server.metrics_port(), "wave_fit_steps_total"), steps_before);
}

TEST(MultiTargetTest, TheCountOfTargetsIsBounded) {
  ServerProcess server({"--max_targets=2"});
  ASSERT_TRUE(server.started()) << server.log();
  const std::string dir = testing::TempPath("sizes_bounded");
  std::filesystem::create_directories(dir);
  auto r = RunBinary("client/wave-client",
                     InitArgs(server, "unused", {"--sizes=1x32,1x32,1x32", "--out_dir=" + dir}));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("targets: 3 exceeds the server's limit of 2"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("(--max_targets); ask for fewer sizes per call (FAILED_PRECONDITION)"),
            std::string::npos)
      << r.err;
}

}  // namespace
}  // namespace wave
