// End-to-end harness: the real wave-server and wave-client binaries as
// child processes on free loopback ports.
#ifndef WAVE_TESTS_E2E_HARNESS_H_
#define WAVE_TESTS_E2E_HARNESS_H_

#include <sys/types.h>

#include <string>
#include <vector>

namespace wave::testing {

std::string BuildDir();
// Fashion-MNIST's test set, from Debian's dataset-fashion-mnist.
std::string TestImagesPath();
std::string TestLabelsPath();
// "<gtest temp dir>/<name>.<pid>": a path private to this test process.
std::string TempPath(const std::string& name);
bool FileExists(const std::string& path);
std::string TestBankPath();  // made by the ctest fixture `make_test_bank`
int FreePort();

struct CommandResult {
  int exit_code = -1;
  std::string out, err;
};
// Runs a binary from the build tree with arguments; captures its output.
CommandResult RunBinary(const std::string& binary, const std::vector<std::string>& args);

class ServerProcess {
 public:
  // Starts wave-server with the test bank and `extra` flags; waits until it
  // answers health checks (up to 30 s).
  explicit ServerProcess(std::vector<std::string> extra = {});
  ~ServerProcess();  // SIGTERM, then wait
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  bool started() const { return started_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  int metrics_port() const { return metrics_port_; }
  pid_t pid() const { return pid_; }
  void Terminate();      // SIGTERM, no wait
  int Wait();            // exit status
  std::string log() const;

 private:
  int port_, metrics_port_;
  pid_t pid_ = -1;
  bool started_ = false;
  std::string log_path_;
};

// GET http://127.0.0.1:port/path; the body, or "" on failure.
std::string HttpGet(int port, const std::string& path);

}  // namespace wave::testing

#endif  // WAVE_TESTS_E2E_HARNESS_H_
