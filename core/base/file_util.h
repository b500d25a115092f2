// Whole-file reads and crash-safe writes.
#ifndef WAVE_CORE_BASE_FILE_UTIL_H_
#define WAVE_CORE_BASE_FILE_UTIL_H_

#include <functional>
#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace wave {

// Reads a whole file; NOT_FOUND when it does not exist.
absl::StatusOr<std::string> ReadFileToString(const std::string& path);

// Reads a one-line secret (a token) and strips trailing newlines and spaces.
absl::StatusOr<std::string> ReadSecretFile(const std::string& path);
// Creates `path` (one level) unless it is already a directory.
absl::Status MakeDirectory(const std::string& path);

// The bearer token from `path` when given (an empty file is an error), else
// from $WAVE_AUTH_TOKEN, else "" (none). Server and client read it alike.
absl::StatusOr<std::string> ReadBearerToken(const std::string& path);

// Writes `path` by calling `write` on a temporary file next to it, then
// renames it into place, so readers never see a half-written file.
absl::Status WriteFileAtomically(const std::string& path,
                                 const std::function<absl::Status(std::ostream&)>& write);

}  // namespace wave

#endif  // WAVE_CORE_BASE_FILE_UTIL_H_
