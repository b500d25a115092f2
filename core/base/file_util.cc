#include "core/base/file_util.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace wave {

absl::StatusOr<std::string> ReadFileToString(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    int err = errno;
    std::string message = absl::StrCat("cannot open '", path, "': ", std::strerror(err));
    return err == ENOENT ? absl::NotFoundError(message) : absl::UnavailableError(message);
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return absl::DataLossError(absl::StrCat("cannot read '", path, "'"));
  return std::move(buffer).str();
}

absl::StatusOr<std::string> ReadSecretFile(const std::string& path) {
  auto text = ReadFileToString(path);
  if (!text.ok()) return text.status();
  std::string secret = *std::move(text);
  while (!secret.empty() &&
         (secret.back() == '\n' || secret.back() == '\r' || secret.back() == ' ')) {
    secret.pop_back();
  }
  return secret;
}

absl::Status MakeDirectory(const std::string& path) {
  if (mkdir(path.c_str(), 0755) == 0 || errno == EEXIST) {
    struct stat info;
    if (stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode)) return absl::OkStatus();
  }
  return absl::PermissionDeniedError(
      absl::StrCat("cannot create directory '", path, "': ", std::strerror(errno)));
}

absl::StatusOr<std::string> ReadBearerToken(const std::string& path) {
  if (!path.empty()) {
    auto token = ReadSecretFile(path);
    if (token.ok() && token->empty()) {
      return absl::InvalidArgumentError(absl::StrCat("token file '", path, "' is empty"));
    }
    return token;
  }
  const char* env = std::getenv("WAVE_AUTH_TOKEN");
  return std::string(env != nullptr ? env : "");
}

absl::Status WriteFileAtomically(const std::string& path,
                                 const std::function<absl::Status(std::ostream&)>& write) {
  // Unique across processes and hosts (containers often all run as pid 1),
  // so that writers of one path on a shared volume never share a temporary.
  static thread_local std::mt19937_64 random{std::random_device{}()};
  const std::string tmp = absl::StrCat(path, ".tmp.", getpid(), ".", absl::Hex(random()));
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) {
      return absl::PermissionDeniedError(
          absl::StrCat("cannot create '", tmp, "': ", std::strerror(errno)));
    }
    absl::Status status = write(out);
    out.flush();
    if (status.ok() && !out)
      status = absl::DataLossError(absl::StrCat("write to '", tmp, "' failed"));
    if (!status.ok()) {
      out.close();
      std::remove(tmp.c_str());
      return status;
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return absl::PermissionDeniedError(
        absl::StrCat("cannot rename into '", path, "': ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace wave
