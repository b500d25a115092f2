// Labelled image sets as tensors, and their preprocessing.
#ifndef WAVE_CORE_MODEL_DATASET_H_
#define WAVE_CORE_MODEL_DATASET_H_

#include <ATen/ATen.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/base/idx.h"
#include "core/base/image_set.h"

namespace wave {

struct Dataset {
  at::Tensor images;  // uint8 [N, C, s, s], or float [N, C, s, s] already normalized
  at::Tensor labels;  // int64 [N]
  int64_t size() const { return labels.defined() ? labels.size(0) : 0; }
};

Dataset ToDataset(const LabelledImages& images);
Dataset ToDataset(const ImageSet& images);
absl::StatusOr<Dataset> LoadFashionMnist(const std::string& split,
                                         const std::string& dir = kFashionMnistDir);

// uint8 images scaled to [0, 1] then normalized per channel (one mean and
// std for each of the images' channels); float images pass through.
at::Tensor Normalize(const at::Tensor& images, const std::vector<double>& mean,
                     const std::vector<double>& std);

// Per-channel mean and std of uint8 images scaled to [0, 1] (the
// normalization a bank learned from `data` records; std 1 for a constant
// channel).
void ChannelStatsOf(const Dataset& data, std::vector<double>* mean, std::vector<double>* std);

Dataset Slice(const Dataset& data, int64_t begin, int64_t end);
// Only the samples of `classes`, relabelled by their position in it (the
// first listed becomes 0): a task of its own, e.g. for transfer.
absl::StatusOr<Dataset> SelectClasses(const Dataset& data, const std::vector<int64_t>& classes);
Dataset Select(const Dataset& data, const at::Tensor& indices);
// The same number of samples from each class (as near as the data allow),
// in a seeded order.
Dataset StratifiedSubset(const Dataset& data, int64_t count, int64_t classes, uint64_t seed);
// Splits off `held_out` samples (stratified) for evaluation.
// HeldOutIndices: the positions in `data` of SplitHeldOut's second part, in
// its order.
std::vector<int64_t> HeldOutIndices(const Dataset& data, int64_t held_out, int64_t classes,
                                    uint64_t seed);
std::pair<Dataset, Dataset> SplitHeldOut(const Dataset& data, int64_t held_out, int64_t classes,
                                         uint64_t seed);

// Random crop after zero padding by `pad` and random horizontal flip, per
// image, on uint8 or float images.
at::Tensor Augment(const at::Tensor& images, int64_t pad, at::Generator& gen);

}  // namespace wave

#endif  // WAVE_CORE_MODEL_DATASET_H_
