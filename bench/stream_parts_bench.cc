// What each byte of a streamed file costs, part by part, on this machine: the
// server hashes a chunk and copies it into a FileChunk, gRPC serializes it, the
// client parses it, hashes it and writes it to a file. Their sum bounds the
// end-to-end streaming rate on a machine whose cores also run both ends.
// Malloc is tuned as in the server and client (core/malloc_tuning.h).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <unistd.h>

#include "core/base/malloc_tuning.h"
#include "core/base/sha256.h"
#include "wave/v1/wave.pb.h"

namespace wave {
namespace {

constexpr size_t kChunk = 2 << 20;  // the server's default chunk
constexpr size_t kFile = 64 << 20;  // bytes per iteration

std::string Pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(i * 131 + 7);
  return s;
}

void BM_Sha256(benchmark::State& state) {
  const std::string chunk = Pattern(kChunk);
  for (auto _ : state) {
    Sha256 hash;
    for (size_t done = 0; done < kFile; done += kChunk) hash.Update(chunk);
    benchmark::DoNotOptimize(hash.HexDigest());
  }
  state.SetBytesProcessed(state.iterations() * kFile);
}

// Server: piece of the file -> FileChunk.data (one copy).
void BM_CopyIntoMessage(benchmark::State& state) {
  const std::string chunk = Pattern(kChunk);
  for (auto _ : state) {
    for (size_t done = 0; done < kFile; done += kChunk) {
      v1::InitializeResponse r;
      r.mutable_file()->set_data(chunk.data(), chunk.size());
      benchmark::DoNotOptimize(r);
    }
  }
  state.SetBytesProcessed(state.iterations() * kFile);
}

// gRPC's protobuf serialization (server) and parsing (client) of one chunk.
void BM_SerializeAndParse(benchmark::State& state) {
  v1::InitializeResponse r;
  r.mutable_file()->set_data(Pattern(kChunk));
  std::string wire;
  for (auto _ : state) {
    for (size_t done = 0; done < kFile; done += kChunk) {
      r.SerializeToString(&wire);
      v1::InitializeResponse back;
      back.ParseFromString(wire);
      benchmark::DoNotOptimize(back);
    }
  }
  state.SetBytesProcessed(state.iterations() * kFile);
}

// Client: chunks appended to a fresh file (page cache, no fsync), as the
// client's download does; the file is removed after each iteration.
void BM_FileWrite(benchmark::State& state) {
  const std::string chunk = Pattern(kChunk);
  char path[] = "/tmp/wave_stream_bench_XXXXXX";
  for (auto _ : state) {
    const int fd = mkstemp(path);
    if (fd < 0) {
      state.SkipWithError("mkstemp failed");
      break;
    }
    for (size_t done = 0; done < kFile; done += kChunk) {
      if (write(fd, chunk.data(), chunk.size()) != static_cast<ssize_t>(chunk.size())) {
        state.SkipWithError("write failed");
      }
    }
    close(fd);
    state.PauseTiming();
    unlink(path);
    std::strcpy(path, "/tmp/wave_stream_bench_XXXXXX");
    state.ResumeTiming();
  }
  state.SetBytesProcessed(state.iterations() * kFile);
}

BENCHMARK(BM_Sha256)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_CopyIntoMessage)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SerializeAndParse)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_FileWrite)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace wave

int main(int argc, char** argv) {
  wave::KeepLargeAllocationsInHeap();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
