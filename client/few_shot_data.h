// Few-shot data for `wave-client init` as uploaded (users' image files are
// read by core/data), and a safetensors file with
// `images` ([N, C, s, s] uint8 or float32, or [N, s, s] uint8) and `labels`
// ([N] int64 or uint8). No LibTorch.
#ifndef WAVE_CLIENT_FEW_SHOT_DATA_H_
#define WAVE_CLIENT_FEW_SHOT_DATA_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/base/image_set.h"

namespace wave {

struct FewShotData {
  int64_t count = 0;
  int64_t sample_bytes = 0;  // bytes per image
  bool is_float = false;
  std::vector<uint8_t> images;  // count * sample_bytes
  std::vector<int64_t> labels;
};

absl::StatusOr<FewShotData> ReadSafetensorsData(const std::string& path);
// What core/data read, as uploaded (uint8).
FewShotData ToFewShot(ImageSet set);

// `count` samples, as evenly spread over the labels as the data allow, in a
// seeded order. count <= 0 or >= the data: everything, shuffled.
FewShotData StratifiedSample(const FewShotData& data, int64_t count, uint64_t seed);

}  // namespace wave

#endif  // WAVE_CLIENT_FEW_SHOT_DATA_H_
