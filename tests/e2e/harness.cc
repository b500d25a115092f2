#include "tests/e2e/harness.h"

#include "core/data/read_data.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <thread>

#include "core/base/idx.h"
#include "gtest/gtest.h"
#include "wave/v1/wave.pb.h"

namespace wave::testing {

std::string BuildDir() {
  const char* dir = std::getenv("WAVE_BUILD_DIR");
  return dir ? dir : "build";
}

std::string TestBankPath() { return BuildDir() + "/test_bank.safetensors"; }

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

namespace {

// The environment this process has, with `overrides` ("NAME=value") set.
std::vector<std::string> EnvironmentWith(const std::vector<std::string>& overrides) {
  std::map<std::string, std::string> vars;
  auto set = [&vars](const std::string& entry) {
    const size_t eq = entry.find('=');
    vars[entry.substr(0, eq)] = entry;
  };
  for (char** e = environ; *e; ++e) set(*e);
  for (const auto& entry : overrides) set(entry);
  std::vector<std::string> result;
  for (auto& [name, entry] : vars) result.push_back(std::move(entry));
  return result;
}

std::vector<char*> NullTerminated(const std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  for (const auto& s : strings) pointers.push_back(const_cast<char*>(s.c_str()));
  pointers.push_back(nullptr);
  return pointers;
}

// posix_spawn, not fork and exec: the test process has gRPC's threads, and
// a forked child of a threaded process may only make async-signal-safe
// calls before exec. posix_spawn also returns exec's error to the caller,
// which writes it where the child's stderr would have gone. -1 on failure.
pid_t Spawn(const std::string& binary, const std::vector<std::string>& args,
            const std::string& out_path, const std::string& err_path,
            const std::vector<std::string>& env = {}) {
  std::vector<std::string> argv_strings = {binary};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  const std::vector<std::string> env_strings = EnvironmentWith(env);
  std::vector<char*> argv = NullTerminated(argv_strings), envp = NullTerminated(env_strings);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  pid_t pid = -1;
  const int error = posix_spawn(&pid, binary.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (error != 0) {
    std::ofstream(err_path) << "[harness] cannot start " << binary << ": " << std::strerror(error)
                            << "\n";
    return -1;
  }
  return pid;
}

// A fresh path for one run's output. TempPath's token keeps it apart from the
// files of an earlier test process that had the same pid (a stale server log
// once passed for this run's startup line); the counter, from runs on
// several threads at once (a race TSan found).
std::string TempFile(const std::string& stem) {
  static std::atomic<int> counter{0};
  return TempPath(stem + "." + std::to_string(counter++));
}

}  // namespace

pid_t StartBinary(const std::string& binary, const std::vector<std::string>& args,
                  const std::vector<std::string>& env, const std::string& out_path,
                  const std::string& err_path) {
  return Spawn(BuildDir() + "/" + binary, args, out_path, err_path, env);
}

absl::StatusOr<FewShotData> ReadFewShotIdx(const std::string& images, const std::string& labels) {
  ImageLoadOptions options;
  options.labels_path = labels;
  auto set = ReadIdxData(images, options);
  if (!set.ok()) return set.status();
  return ToFewShot(*std::move(set));
}

std::string TestImagesPath() {
  return std::string(kFashionMnistDir) + "/t10k-images-idx3-ubyte.gz";
}
std::string TestLabelsPath() {
  return std::string(kFashionMnistDir) + "/t10k-labels-idx1-ubyte.gz";
}

std::string TempPath(const std::string& name) {
  // The pid alone repeats across runs (the system reuses it), and a file an
  // earlier run left must not meet this one: a token drawn once per process.
  static const std::string token =
      std::to_string(getpid()) + "." + std::to_string(std::random_device{}());
  return ::testing::TempDir() + "/" + name + "." + token;
}

bool FileExists(const std::string& path) { return access(path.c_str(), F_OK) == 0; }

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

CommandResult RunBinary(const std::string& binary, const std::vector<std::string>& args) {
  const std::string out = TempFile("out"), err = TempFile("err");
  const pid_t pid = Spawn(BuildDir() + "/" + binary, args, out, err);
  CommandResult r;
  if (pid > 0) r.exit_code = WaitExit(pid, kNoTimeout);
  r.out = ReadFileOrEmpty(out);
  r.err = ReadFileOrEmpty(err);
  std::remove(out.c_str());
  std::remove(err.c_str());
  return r;
}

namespace {

// The number after `key` in the server's startup line, or 0.
int PortAfter(const std::string& line, const std::string& key) {
  const size_t at = line.find(key);
  return at == std::string::npos ? 0 : std::atoi(line.c_str() + at + key.size());
}

}  // namespace

// The server binds port 0 and its startup line names the ports it got: a port
// picked free beforehand can be taken by another test before the server binds it.
ServerProcess::ServerProcess(std::vector<std::string> extra) {
  log_path_ = TempFile("server-log");
  std::vector<std::string> args = {"--banks=" + TestBankPath(), "--address=127.0.0.1:0",
                                   "--metrics_address=127.0.0.1:0", "--threads=1"};
  // scripts/device_check.sh runs the suite with WAVE_SERVER_DEVICE=cuda, so a
  // server that cannot use the GPU fails to start instead of falling back.
  if (const char* device = std::getenv("WAVE_SERVER_DEVICE")) {
    args.push_back(std::string("--device=") + device);
  }
  args.insert(args.end(), extra.begin(), extra.end());
  pid_ = Spawn(BuildDir() + "/server/wave-server", args, log_path_ + ".out", log_path_);
  if (pid_ <= 0) return;  // log() has the reason
  for (int i = 0; i < 300 && port_ == 0; ++i) {
    const std::string log_text = log();
    const size_t at = log_text.find("listening on port ");
    if (at != std::string::npos && log_text.find('\n', at) != std::string::npos) {
      const std::string line = log_text.substr(at);
      port_ = PortAfter(line, "listening on port ");
      metrics_port_ = PortAfter(line, "metrics port ");
      break;
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      exit_note_ = (WIFSIGNALED(status) ? "\n[harness] the server was killed by signal " +
                                              std::to_string(WTERMSIG(status))
                                        : "\n[harness] the server exited with status " +
                                              std::to_string(WEXITSTATUS(status))) +
                   "; its stdout: '" + ReadFileOrEmpty(log_path_ + ".out") + "'";
      return;  // exited: see log()
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (port_ == 0) return;
  CommandResult h = RunBinary("client/wave-client", {"health", "--server=" + address()});
  started_ = h.exit_code == 0;
}

void ServerProcess::Terminate() {
  if (pid_ > 0) kill(pid_, SIGTERM);
}

int ServerProcess::Wait() {
  if (pid_ <= 0) return -1;
  const int code = WaitExit(pid_, kNoTimeout);
  pid_ = -1;
  return code;
}

int ServerProcess::Stop(double timeout_s) {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  const int code = WaitExit(pid_, timeout_s);
  pid_ = -1;
  return code;
}

ServerProcess::~ServerProcess() {
  // A hung server is killed after 30 s, so the test run never blocks.
  Stop(30);
  std::remove(log_path_.c_str());
  std::remove((log_path_ + ".out").c_str());
}

std::string ServerProcess::log() const { return ReadFileOrEmpty(log_path_) + exit_note_; }


int64_t ResidentBytes(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtoll(line.c_str() + 6, nullptr, 10) * 1024;
  }
  return -1;
}

int WaitExit(pid_t pid, double seconds) {
  int status = 0;
  const bool exited = seconds == kNoTimeout
                          ? waitpid(pid, &status, 0) == pid
                          : WaitFor([&] { return waitpid(pid, &status, WNOHANG) == pid; }, seconds);
  if (!exited) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    return -2;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool WaitFor(const std::function<bool()>& done, double seconds) {
  const auto end = std::chrono::steady_clock::now() +
                   std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
  while (std::chrono::steady_clock::now() < end) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

std::string HeaderMessage(int64_t depth, int64_t width, int64_t steps, int64_t samples,
                          uint32_t chunk_bytes) {
  v1::InitializeRequest r;
  auto* h = r.mutable_header();
  h->mutable_target()->set_depth(depth);
  h->mutable_target()->set_width(width);
  h->mutable_target()->set_classes(10);
  h->mutable_fit()->set_steps(steps);
  h->mutable_fit()->set_patience(0);  // long fits stay long: no early stop
  h->mutable_fit()->set_batch(4);
  h->mutable_output()->set_chunk_bytes(chunk_bytes);
  h->set_num_samples(samples);
  return r.SerializeAsString();
}

std::string ChunkMessage(int64_t samples, uint64_t sequence, char pixel) {
  v1::InitializeRequest r;
  auto* d = r.mutable_data();
  d->set_sequence(sequence);
  d->set_images(std::string(samples * 784, pixel));
  std::string labels;
  for (int64_t i = 0; i < samples; ++i) {
    const int64_t label = (sequence + i) % 10;
    labels.append(reinterpret_cast<const char*>(&label), 8);
  }
  d->set_labels(labels);
  return r.SerializeAsString();
}

namespace {
void* Tag(int n) { return reinterpret_cast<void*>(static_cast<intptr_t>(n)); }
enum : int { kStart = 1, kWrite, kWritesDone, kRead, kFinish };
}  // namespace

grpc::Status GoodCall(const std::string& address, const std::string& token, double deadline_s) {
  RawCall call(address, "/wave.v1.WaveInit/Initialize", deadline_s, token);
  if (!call.Write(HeaderMessage(2, 32, 3, 16)) || !call.Write(ChunkMessage(16, 0)) ||
      !call.WritesDone()) {
    return call.Finish();
  }
  while (call.Read(deadline_s)) {
  }
  return call.Finish();
}

RawCall::RawCall(const std::string& address, const std::string& method, double deadline_s,
                 const std::string& token)
    : RawCall(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()), method,
              deadline_s, token) {}

RawCall::RawCall(std::shared_ptr<grpc::Channel> channel, const std::string& method,
                 double deadline_s, const std::string& token)
    : channel_(std::move(channel)), stub_(channel_) {
  if (!token.empty()) context_.AddMetadata("authorization", "Bearer " + token);
  context_.set_deadline(std::chrono::system_clock::now() +
                        std::chrono::milliseconds(static_cast<int64_t>(deadline_s * 1000)));
  stream_ = stub_.PrepareCall(&context_, method, &cq_);
  stream_->StartCall(Tag(kStart));
  Await(Tag(kStart), 10);
}

RawCall::~RawCall() {
  if (!finished_) {
    context_.TryCancel();
    grpc::Status status;
    stream_->Finish(&status, Tag(kFinish));
    Await(Tag(kFinish), 30);
  }
  cq_.Shutdown();
  void* tag;
  bool ok;
  while (cq_.Next(&tag, &ok)) {
  }
}

RawCall::Outcome RawCall::Await(void* tag, double timeout_s) {
  const auto deadline = std::chrono::system_clock::now() +
                        std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
  while (true) {
    if (auto it = completed_.find(tag); it != completed_.end()) {
      const bool ok = it->second;
      completed_.erase(it);
      return ok ? Outcome::kOk : Outcome::kFailed;
    }
    void* got;
    bool ok;
    if (cq_.AsyncNext(&got, &ok, deadline) != grpc::CompletionQueue::GOT_EVENT) {
      return Outcome::kTimedOut;
    }
    completed_[got] = ok;
  }
}

bool RawCall::Write(const std::string& bytes, double timeout_s) {
  if (write_pending_) {
    if (Await(Tag(kWrite), timeout_s) == Outcome::kTimedOut) return false;
    write_pending_ = false;
  }
  grpc::Slice slice(bytes);
  write_buffer_ = grpc::ByteBuffer(&slice, 1);
  stream_->Write(write_buffer_, Tag(kWrite));
  const Outcome outcome = Await(Tag(kWrite), timeout_s);
  write_pending_ = outcome == Outcome::kTimedOut;
  return outcome == Outcome::kOk;
}

bool RawCall::WritesDone(double timeout_s) {
  if (write_pending_) {
    if (Await(Tag(kWrite), timeout_s) == Outcome::kTimedOut) return false;
    write_pending_ = false;
  }
  stream_->WritesDone(Tag(kWritesDone));
  return Await(Tag(kWritesDone), timeout_s) == Outcome::kOk;
}

std::optional<std::string> RawCall::Read(double timeout_s) {
  if (!read_pending_) stream_->Read(&read_buffer_, Tag(kRead));
  const Outcome outcome = Await(Tag(kRead), timeout_s);
  read_pending_ = outcome == Outcome::kTimedOut;
  if (outcome != Outcome::kOk) return std::nullopt;
  std::vector<grpc::Slice> slices;
  (void)read_buffer_.Dump(&slices);
  std::string bytes;
  for (const auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return bytes;
}

grpc::Status RawCall::Finish(double timeout_s) {
  // gRPC gives a client its status only once every message that arrived
  // has been read.
  while (Read(timeout_s)) {
  }
  grpc::Status status;
  stream_->Finish(&status, Tag(kFinish));
  finished_ = true;  // the destructor must not finish a second time
  if (Await(Tag(kFinish), timeout_s) == Outcome::kTimedOut) {
    context_.TryCancel();
    Await(Tag(kFinish), 30);
    return grpc::Status(grpc::StatusCode::UNKNOWN, "test: Finish did not complete in time");
  }
  return status;
}

}  // namespace wave::testing
