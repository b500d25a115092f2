#include "client/few_shot_data.h"

#include <algorithm>
#include <cstring>
#include <random>

#include "absl/strings/str_cat.h"
#include "core/base/safetensors.h"
#include "core/base/status_macros.h"
#include "core/base/stratify.h"

namespace wave {

absl::StatusOr<FewShotData> ReadSafetensorsData(const std::string& path) {
  ASSIGN_OR_RETURN(SafetensorsFile file, SafetensorsFile::ReadFile(path));
  ASSIGN_OR_RETURN(TensorView images, file.Get("images"));
  ASSIGN_OR_RETURN(TensorView labels, file.Get("labels"));
  if (images.shape.size() != 3 && images.shape.size() != 4) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": 'images' must be [N, C, s, s]"));
  }
  if (images.dtype != DType::kU8 && images.dtype != DType::kF32) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": 'images' must be U8 or F32"));
  }
  if (labels.shape.size() != 1 || labels.shape[0] != images.shape[0] ||
      (labels.dtype != DType::kI64 && labels.dtype != DType::kU8)) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": 'labels' must be I64 or U8 [N] with N the number of images"));
  }
  FewShotData d;
  d.count = images.shape[0];
  d.is_float = images.dtype == DType::kF32;
  d.sample_bytes = d.count ? static_cast<int64_t>(images.size_bytes) / d.count : 0;
  d.images.assign(images.data, images.data + images.size_bytes);
  d.labels.resize(d.count);
  for (int64_t i = 0; i < d.count; ++i) {
    if (labels.dtype == DType::kU8) {
      d.labels[i] = labels.data[i];
    } else {
      std::memcpy(&d.labels[i], labels.data + 8 * i, 8);
    }
  }
  return d;
}

FewShotData ToFewShot(ImageSet set) {
  FewShotData d;
  d.count = set.count;
  d.sample_bytes = set.image_bytes();
  d.images = std::move(set.pixels);
  d.labels = std::move(set.labels);
  return d;
}

FewShotData StratifiedSample(const FewShotData& data, int64_t count, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<int64_t> order(data.count);
  for (int64_t i = 0; i < data.count; ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), rng);
  if (count <= 0 || count > data.count) count = data.count;
  auto groups = GroupByLabel(order, [&](int64_t i) { return data.labels[i]; });
  std::vector<int64_t> taken = TakeRoundRobin(groups, count);
  std::shuffle(taken.begin(), taken.end(), rng);
  FewShotData out;
  out.count = count;
  out.sample_bytes = data.sample_bytes;
  out.is_float = data.is_float;
  out.images.resize(count * data.sample_bytes);
  out.labels.resize(count);
  for (int64_t k = 0; k < count; ++k) {
    std::memcpy(out.images.data() + k * data.sample_bytes,
                data.images.data() + taken[k] * data.sample_bytes, data.sample_bytes);
    out.labels[k] = data.labels[taken[k]];
  }
  return out;
}

}  // namespace wave
