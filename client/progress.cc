#include "client/progress.h"

#include <unistd.h>

#include <cstdio>

namespace wave {

ProgressDisplay::ProgressDisplay() : tty_(isatty(STDERR_FILENO) == 1) {}

void ProgressDisplay::Phase(const std::string& phase) {
  if (phase == phase_) return;
  Done();
  phase_ = phase;
  last_decile_ = -1;
  std::fprintf(stderr, "%s...\n", phase.c_str());
}

void ProgressDisplay::Step(int64_t step, int64_t total, double loss, double accuracy) {
  phase_ = "fit";
  const double frac = total > 0 ? double(step) / total : 1.0;
  if (tty_) {
    const int width = 30, filled = static_cast<int>(frac * width);
    std::fprintf(stderr, "\rfit [%s%s] %lld/%lld loss %.4f acc %.1f%%  ",
                 std::string(filled, '#').c_str(), std::string(width - filled, '-').c_str(),
                 static_cast<long long>(step), static_cast<long long>(total), loss, accuracy);
    open_line_ = true;
  } else if (int decile = static_cast<int>(frac * 10); decile != last_decile_) {
    last_decile_ = decile;
    std::fprintf(stderr, "fit step %lld/%lld loss %.4f acc %.1f%%\n",
                 static_cast<long long>(step), static_cast<long long>(total), loss, accuracy);
  }
}

void ProgressDisplay::Bytes(const std::string& name, uint64_t done, uint64_t total) {
  const double frac = total ? double(done) / total : 1.0;
  if (tty_) {
    std::fprintf(stderr, "\rdownload %s %.1f/%.1f MiB (%3.0f%%)  ", name.c_str(), done / 1048576.0,
                 total / 1048576.0, 100 * frac);
    open_line_ = true;
  } else if (int decile = static_cast<int>(frac * 10); decile != last_decile_) {
    last_decile_ = decile;
    std::fprintf(stderr, "download %s %.1f/%.1f MiB\n", name.c_str(), done / 1048576.0,
                 total / 1048576.0);
  }
}

void ProgressDisplay::Done() {
  if (open_line_) std::fprintf(stderr, "\n");
  open_line_ = false;
}

}  // namespace wave
