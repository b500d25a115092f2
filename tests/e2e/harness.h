// End-to-end harness: the real wave-server and wave-client binaries as
// child processes on free loopback ports.
#ifndef WAVE_TESTS_E2E_HARNESS_H_
#define WAVE_TESTS_E2E_HARNESS_H_

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <sys/types.h>

#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/few_shot_data.h"
#include "tests/http_get.h"

namespace wave::testing {

std::string BuildDir();
// Fashion-MNIST's test set, from Debian's dataset-fashion-mnist.
std::string TestImagesPath();
std::string TestLabelsPath();
// IDX images and labels as a client uploads them.
absl::StatusOr<FewShotData> ReadFewShotIdx(const std::string& images, const std::string& labels);
// "<gtest temp dir>/<name>.<pid>.<random>": a path private to this test
// process, the same for the same name within it.
std::string TempPath(const std::string& name);
bool FileExists(const std::string& path);
// The whole file, or "" when it cannot be read (a log not written yet).
std::string ReadFileOrEmpty(const std::string& path);
std::string TestBankPath();  // made by the ctest fixture `make_test_bank`
// A loopback port free now; another process may take it before it is bound
// (ServerProcess binds port 0 instead). For rendezvous ports only.
int FreePort();

struct CommandResult {
  int exit_code = -1;
  std::string out, err;
};
// Runs a binary from the build tree with arguments; captures its output.
CommandResult RunBinary(const std::string& binary, const std::vector<std::string>& args);

// Starts a binary from the build tree in the background, with extra
// environment variables ("NAME=value"), stdout and stderr to the files.
pid_t StartBinary(const std::string& binary, const std::vector<std::string>& args,
                  const std::vector<std::string>& env, const std::string& out_path,
                  const std::string& err_path);
// Waits for a child started here: its exit code, -1 when a signal ended it,
// or -2 when it had not exited within `seconds` (it is then killed and reaped).
// kNoTimeout blocks until it exits.
inline constexpr double kNoTimeout = std::numeric_limits<double>::infinity();
int WaitExit(pid_t pid, double seconds);

class ServerProcess {
 public:
  // Starts wave-server on loopback ports it picks itself, with the test bank
  // and `extra` flags; waits (up to 30 s) for its startup line, then checks
  // that it answers health checks.
  explicit ServerProcess(std::vector<std::string> extra = {});
  ~ServerProcess();  // SIGTERM, then wait
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  bool started() const { return started_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  int metrics_port() const { return metrics_port_; }
  pid_t pid() const { return pid_; }
  void Terminate();  // SIGTERM, no wait
  int Wait();        // exit status
  // SIGTERM, then the exit status; -2 (and SIGKILL) when it has not exited
  // within `timeout_s`: a server that cannot drain has lost track of a call.
  int Stop(double timeout_s = 40);
  std::string log() const;

 private:
  int port_ = 0, metrics_port_ = 0;
  pid_t pid_ = -1;
  bool started_ = false;
  // How the server ended when it exited before starting (for log()).
  std::string exit_note_;
  std::string log_path_;
};

// The resident memory of a process, from /proc (bytes; -1 when gone).
int64_t ResidentBytes(pid_t pid);
// Polls `done` every 10 ms for up to `seconds`.
bool WaitFor(const std::function<bool()>& done, double seconds);

// Serialized InitializeRequest messages for raw calls: a header for a
// DEPTHxWIDTH target with 10 classes and batch 4, and a chunk of `samples`
// uint8 images (every pixel `pixel`) with labels (sequence + i) % 10.
std::string HeaderMessage(int64_t depth, int64_t width, int64_t steps, int64_t samples,
                          uint32_t chunk_bytes = 0);
std::string ChunkMessage(int64_t samples, uint64_t sequence, char pixel = '\x40');

// One call made of raw messages, one operation at a time, as a slow or
// hostile client makes it: bytes that need not parse, writes without reads,
// reads that never come. Each operation waits at most its timeout.
class RawCall;

// A small good call: 2x32, 3 steps on 16 samples, read to the end; its status.
grpc::Status GoodCall(const std::string& address, const std::string& token = "",
                      double deadline_s = 60);

class RawCall {
 public:
  // `method`: "/wave.v1.WaveInit/Initialize", say.
  // `token`: sent as "authorization: Bearer <token>" when not empty.
  RawCall(const std::string& address, const std::string& method, double deadline_s = 120,
          const std::string& token = "");
  // On a channel shared with other calls (many streams, one connection).
  RawCall(std::shared_ptr<grpc::Channel> channel, const std::string& method,
          double deadline_s = 120, const std::string& token = "");
  ~RawCall();  // cancels the call if it has not finished, and drains it

  bool Write(const std::string& bytes, double timeout_s = 10);
  bool WritesDone(double timeout_s = 10);
  // One message, or nullopt at the end of the stream (or after timeout_s).
  std::optional<std::string> Read(double timeout_s = 30);
  // Reads what is left (gRPC holds the status back until then), then the
  // status.
  grpc::Status Finish(double timeout_s = 60);
  void Cancel() { context_.TryCancel(); }

 private:
  enum class Outcome { kOk, kFailed, kTimedOut };
  Outcome Await(void* tag, double timeout_s);

  std::shared_ptr<grpc::Channel> channel_;
  grpc::GenericStub stub_;
  grpc::ClientContext context_;
  grpc::CompletionQueue cq_;
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> stream_;
  std::map<void*, bool> completed_;  // tags that came while waiting for another
  // An operation that timed out stays in flight with its buffer; the next of
  // its kind waits for it first.
  grpc::ByteBuffer read_buffer_, write_buffer_;
  bool read_pending_ = false, write_pending_ = false;
  bool finished_ = false;
};

}  // namespace wave::testing

#endif  // WAVE_TESTS_E2E_HARNESS_H_
