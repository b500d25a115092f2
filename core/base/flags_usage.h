// --help for the project's binaries: the flags in groups by purpose, each
// with its default (byte sizes also in KiB/MiB/GiB) and its help, and no
// build paths. Abseil's own --help lists flags by the file that defines them
// (a build path) and only from a file named like the program.
#ifndef WAVE_CORE_BASE_FLAGS_USAGE_H_
#define WAVE_CORE_BASE_FLAGS_USAGE_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace wave {

struct FlagGroup {
  std::string title;
  std::vector<std::string> flags;  // names without "--"
};

// `usage`, then each group's flags. A flag defined in a file whose path ends
// with `defining_file` that no group lists comes last under "Other flags",
// so a new flag is never left out (none when `defining_file` is empty).
std::string GroupedHelp(absl::string_view usage, const std::vector<FlagGroup>& groups,
                        absl::string_view defining_file);

// A flag's default as --help shows it: "536870912 (512 MiB)" for a byte
// count (a flag named *_bytes or *_rate), "\"\"" for an empty string.
std::string ReadableDefault(absl::string_view flag_name, absl::string_view default_value);

// Whether the command line asks for help (--help, -h, --helpfull, --helpshort).
bool WantsHelp(int argc, char** argv);

// Routes Abseil's own --helpfull and friends to the project's flags only.
// Call before absl::ParseCommandLine.
void ShowEveryFlagInHelp();

}  // namespace wave

#endif  // WAVE_CORE_BASE_FLAGS_USAGE_H_
