// --help for the project's binaries. Abseil lists by default only the flags
// defined in a file named like the program (wave-server.cc), which none of
// ours is, so --help printed "No flags matched".
#ifndef WAVE_CORE_BASE_FLAGS_USAGE_H_
#define WAVE_CORE_BASE_FLAGS_USAGE_H_

namespace wave {

// --help and --helpshort list every flag defined outside Abseil itself.
// Call before absl::ParseCommandLine.
void ShowEveryFlagInHelp();

}  // namespace wave

#endif  // WAVE_CORE_BASE_FLAGS_USAGE_H_
