#include "core/base/flags_usage.h"

#include <algorithm>
#include <cstring>
#include <set>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace wave {
namespace {

constexpr size_t kHelpColumn = 6;    // where help text starts, under the flag
constexpr size_t kLineWidth = 88;

std::string Wrapped(absl::string_view text) {
  std::string out, line(kHelpColumn, ' ');
  for (absl::string_view word : absl::StrSplit(text, ' ', absl::SkipEmpty())) {
    if (line.size() > kHelpColumn && line.size() + 1 + word.size() > kLineWidth) {
      absl::StrAppend(&out, line, "\n");
      line.assign(kHelpColumn, ' ');
    }
    absl::StrAppend(&line, line.size() > kHelpColumn ? " " : "", word);
  }
  if (line.size() > kHelpColumn) absl::StrAppend(&out, line, "\n");
  return out;
}

std::string FlagEntry(const absl::CommandLineFlag& flag) {
  return absl::StrCat("  --", flag.Name(), " (default ",
                      ReadableDefault(flag.Name(), flag.DefaultValue()), ")\n",
                      Wrapped(flag.Help()));
}

}  // namespace

std::string ReadableDefault(absl::string_view flag_name, absl::string_view default_value) {
  if (default_value.empty()) return "\"\"";
  double bytes = 0;
  const bool is_bytes =
      absl::EndsWith(flag_name, "_bytes") || absl::EndsWith(flag_name, "_rate");
  if (!is_bytes || !absl::SimpleAtod(default_value, &bytes) || bytes < 1024) {
    return std::string(default_value);
  }
  const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
  int unit = -1;
  double value = bytes;
  while (value >= 1024 && unit < 3) {
    value /= 1024;
    ++unit;
  }
  const std::string shown = value == static_cast<int64_t>(value)
                                ? absl::StrCat(static_cast<int64_t>(value))
                                : absl::StrCat(static_cast<int64_t>(value * 10) / 10.0);
  return absl::StrCat(default_value, " (", shown, " ", units[unit],
                      absl::EndsWith(flag_name, "_rate") ? "/s" : "", ")");
}

std::string GroupedHelp(absl::string_view usage, const std::vector<FlagGroup>& groups,
                        absl::string_view defining_file) {
  std::string out(usage);
  std::set<std::string> listed;
  for (const FlagGroup& group : groups) {
    absl::StrAppend(&out, "\n", group.title, ":\n");
    for (const std::string& name : group.flags) {
      const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
      if (flag == nullptr) continue;
      absl::StrAppend(&out, FlagEntry(*flag));
      listed.insert(name);
    }
  }
  std::vector<const absl::CommandLineFlag*> others;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (!defining_file.empty() && absl::EndsWith(flag->Filename(), defining_file) &&
        !listed.count(std::string(name))) {
      others.push_back(flag);
    }
  }
  std::sort(others.begin(), others.end(),
            [](auto* a, auto* b) { return a->Name() < b->Name(); });
  if (!others.empty()) {
    absl::StrAppend(&out, "\nOther flags:\n");
    for (const auto* flag : others) absl::StrAppend(&out, FlagEntry(*flag));
  }
  return out;
}

bool WantsHelp(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--") return false;
    if (arg == "-h" || arg == "--help" || arg == "-help" || arg == "--helpfull" ||
        arg == "--helpshort" || absl::StartsWith(arg, "--help=")) {
      return true;
    }
  }
  return false;
}

void ShowEveryFlagInHelp() {
  absl::FlagsUsageConfig config;
  auto ours = [](absl::string_view file) { return !absl::StrContains(file, "absl/"); };
  config.contains_help_flags = ours;
  config.contains_helpshort_flags = ours;
  absl::SetFlagsUsageConfig(config);
}

}  // namespace wave
