// A progress bar on a terminal, plain lines otherwise.
#ifndef WAVE_CLIENT_PROGRESS_H_
#define WAVE_CLIENT_PROGRESS_H_

#include <cstdint>
#include <string>

namespace wave {

class ProgressDisplay {
 public:
  ProgressDisplay();
  void Phase(const std::string& phase);
  void Step(int64_t step, int64_t total, double loss, double accuracy);
  void Bytes(const std::string& name, uint64_t done, uint64_t total);
  void Done();  // ends a bar line

 private:
  bool tty_;
  bool open_line_ = false;
  int last_decile_ = -1;
  std::string phase_;
};

}  // namespace wave

#endif  // WAVE_CLIENT_PROGRESS_H_
