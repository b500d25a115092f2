#include "tests/e2e/harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "core/idx.h"
#include "gtest/gtest.h"

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

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

pid_t Spawn(const std::string& binary, const std::vector<std::string>& args,
            const std::string& out_path, const std::string& err_path) {
  pid_t pid = fork();
  if (pid == 0) {
    int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(out, 1);
    dup2(err, 2);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(binary.c_str()));
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(binary.c_str(), argv.data());
    _exit(127);
  }
  return pid;
}

std::string TmpDir() {
  const char* dir = std::getenv("TMPDIR");
  return dir ? dir : "/tmp";
}

std::string TempFile(const std::string& stem) {
  // Tests run binaries from several threads at once (a race TSan found).
  static std::atomic<int> counter{0};
  return TmpDir() + "/" + stem + "." + std::to_string(getpid()) + "." +
         std::to_string(counter++);
}

}  // namespace

std::string TestImagesPath() {
  return std::string(kFashionMnistDir) + "/t10k-images-idx3-ubyte.gz";
}
std::string TestLabelsPath() {
  return std::string(kFashionMnistDir) + "/t10k-labels-idx1-ubyte.gz";
}

std::string TempPath(const std::string& name) {
  return ::testing::TempDir() + "/" + name + "." + std::to_string(getpid());
}

bool FileExists(const std::string& path) { return access(path.c_str(), F_OK) == 0; }

CommandResult RunBinary(const std::string& binary, const std::vector<std::string>& args) {
  const std::string out = TempFile("out"), err = TempFile("err");
  pid_t pid = Spawn(BuildDir() + "/" + binary, args, out, err);
  int status = 0;
  waitpid(pid, &status, 0);
  CommandResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = ReadAll(out);
  r.err = ReadAll(err);
  return r;
}

ServerProcess::ServerProcess(std::vector<std::string> extra)
    : port_(FreePort()), metrics_port_(FreePort()) {
  log_path_ = TempFile("server-log");
  std::vector<std::string> args = {"--banks=" + TestBankPath(),
                                   "--address=127.0.0.1:" + std::to_string(port_),
                                   "--metrics_port=" + std::to_string(metrics_port_),
                                   "--threads=1"};
  args.insert(args.end(), extra.begin(), extra.end());
  pid_ = Spawn(BuildDir() + "/server/wave-server", args, log_path_ + ".out", log_path_);
  for (int i = 0; i < 300; ++i) {
    CommandResult h = RunBinary("client/wave-client", {"health", "--server=" + address()});
    if (h.exit_code == 0) {
      started_ = true;
      return;
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return;  // exited: see log()
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

void ServerProcess::Terminate() {
  if (pid_ > 0) kill(pid_, SIGTERM);
}

int ServerProcess::Wait() {
  if (pid_ <= 0) return -1;
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    // A hung server is killed after 30 s, so the test run never blocks.
    for (int i = 0; i < 300; ++i) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

std::string ServerProcess::log() const { return ReadAll(log_path_); }

std::string HttpGet(int port, const std::string& path) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return "";
  }
  std::string request = "GET " + path + " HTTP/1.1\r\nHost: localhost\r\n\r\n";
  send(fd, request.data(), request.size(), 0);
  std::string response;
  char buffer[4096];
  ssize_t n;
  while ((n = recv(fd, buffer, sizeof(buffer), 0)) > 0) response.append(buffer, n);
  close(fd);
  auto body = response.find("\r\n\r\n");
  return body == std::string::npos ? "" : response.substr(body + 4);
}

}  // namespace wave::testing
