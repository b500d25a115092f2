#include "core/base/flags_usage.h"

#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"

namespace wave {

void ShowEveryFlagInHelp() {
  absl::FlagsUsageConfig config;
  auto ours = [](absl::string_view file) { return !absl::StrContains(file, "absl/"); };
  config.contains_help_flags = ours;
  config.contains_helpshort_flags = ours;
  absl::SetFlagsUsageConfig(config);
}

}  // namespace wave
