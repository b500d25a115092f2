// The data flags wave-learn and wave-eval share (--data, --data_format,
// --test_data) and the one rule for the test split (docs/own-data.md).
#ifndef WAVE_TOOLS_COMMON_DATA_FLAGS_H_
#define WAVE_TOOLS_COMMON_DATA_FLAGS_H_

#include <string>
#include <vector>

#include "absl/flags/declare.h"
#include "absl/status/statusor.h"
#include "core/base/image_set.h"
#include "core/model/dataset.h"

ABSL_DECLARE_FLAG(std::string, data);
ABSL_DECLARE_FLAG(std::string, data_format);
ABSL_DECLARE_FLAG(std::string, test_data);

namespace wave {

// Seed of the test split carved from --data when no test data are given:
// apart from every run's seed, so all runs measure the same images.
inline constexpr uint64_t kTestSplitSeed = 1000;

// Images at `path` in --data_format, brought to the options' geometry.
absl::StatusOr<ImageSet> ReadFlagData(const std::string& path, const ImageLoadOptions& options);

struct TrainAndTest {
  Dataset train, test;
  std::vector<std::string> class_names;  // of the training data
  int64_t channels = 0, image_size = 0;
  std::string test_source;  // where the test images came from, for provenance
};

// --data and its test images: --test_data, else IDX's t10k-* beside
// train-*, else a stratified tenth of --data (kTestSplitSeed) held out.
absl::StatusOr<TrainAndTest> ReadTrainAndTest(const ImageLoadOptions& options);

}  // namespace wave

#endif  // WAVE_TOOLS_COMMON_DATA_FLAGS_H_
