#include "core/model/dataset.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/base/status_macros.h"
#include "core/base/stratify.h"
#include "core/model/vit.h"

namespace wave {

Dataset ToDataset(const LabelledImages& in) {
  Dataset out;
  out.images = at::empty({in.count, in.channels, in.rows, in.cols}, at::kByte);
  if (!in.images.empty()) std::memcpy(out.images.data_ptr(), in.images.data(), in.images.size());
  out.labels = at::empty({in.count}, at::kByte);
  if (!in.labels.empty()) std::memcpy(out.labels.data_ptr(), in.labels.data(), in.labels.size());
  out.labels = out.labels.to(at::kLong);
  return out;
}

Dataset ToDataset(const ImageSet& set) {
  Dataset out;
  out.images = at::from_blob(const_cast<uint8_t*>(set.pixels.data()),
                             {set.count, set.channels, set.size, set.size}, at::kByte)
                   .clone();
  out.labels = at::tensor(set.labels, at::kLong);
  return out;
}

absl::StatusOr<Dataset> LoadFashionMnist(const std::string& split, const std::string& dir) {
  ASSIGN_OR_RETURN(LabelledImages raw, ReadFashionMnist(dir, split));
  return ToDataset(raw);
}

at::Tensor Normalize(const at::Tensor& images, const std::vector<double>& mean,
                     const std::vector<double>& std) {
  if (images.scalar_type() != at::kByte) return images.to(at::kFloat);
  const int64_t channels = static_cast<int64_t>(mean.size());
  at::Tensor m = at::tensor(mean, at::kFloat).view({1, channels, 1, 1});
  at::Tensor s = at::tensor(std, at::kFloat).view({1, channels, 1, 1});
  return images.to(at::kFloat).div_(255.0).sub_(m).div_(s);
}

void ChannelStatsOf(const Dataset& data, std::vector<double>* mean, std::vector<double>* std) {
  const int64_t channels = data.images.size(1);
  mean->assign(channels, 0.0);
  std->assign(channels, 1.0);
  for (int64_t c = 0; c < channels; ++c) {
    at::Tensor x = data.images.select(1, c).to(at::kDouble).div_(255.0);
    (*mean)[c] = x.mean().item<double>();
    const double s = x.std(/*unbiased=*/false).item<double>();
    (*std)[c] = s > 0 ? s : 1.0;
  }
}

Dataset Slice(const Dataset& d, int64_t begin, int64_t end) {
  return {d.images.slice(0, begin, end), d.labels.slice(0, begin, end)};
}

Dataset Select(const Dataset& d, const at::Tensor& indices) {
  return {d.images.index_select(0, indices), d.labels.index_select(0, indices)};
}

namespace {

// Per class in [0, classes), the sample indices in a seeded random order.
std::vector<std::vector<int64_t>> ShuffledByClass(const Dataset& d, int64_t classes,
                                                  uint64_t seed) {
  at::Generator gen = MakeGenerator(seed);
  at::Tensor order = at::randperm(d.size(), gen, at::kLong);
  at::Tensor labels = d.labels.contiguous();
  const int64_t* l = labels.data_ptr<int64_t>();
  std::vector<int64_t> in_range;
  for (int64_t i : std::vector<int64_t>(order.data_ptr<int64_t>(),
                                        order.data_ptr<int64_t>() + d.size())) {
    if (l[i] >= 0 && l[i] < classes) in_range.push_back(i);
  }
  return GroupByLabel(in_range, [l](int64_t i) { return l[i]; });
}

at::Tensor ToIndexTensor(const std::vector<int64_t>& v) {
  return at::tensor(at::ArrayRef<int64_t>(v), at::kLong);
}

}  // namespace

absl::StatusOr<Dataset> SelectClasses(const Dataset& data, const std::vector<int64_t>& classes) {
  if (classes.empty()) return absl::InvalidArgumentError("classes: none given");
  at::Tensor labels = data.labels.contiguous();
  const int64_t* l = labels.data_ptr<int64_t>();
  std::vector<int64_t> keep, relabelled;
  for (int64_t i = 0; i < data.size(); ++i) {
    for (size_t c = 0; c < classes.size(); ++c) {
      if (l[i] == classes[c]) {
        keep.push_back(i);
        relabelled.push_back(static_cast<int64_t>(c));
        break;
      }
    }
  }
  for (size_t c = 0; c < classes.size(); ++c) {
    for (size_t d = c + 1; d < classes.size(); ++d) {
      if (classes[c] == classes[d]) {
        return absl::InvalidArgumentError(absl::StrCat("classes: ", classes[c], " twice"));
      }
    }
  }
  Dataset out = Select(data, ToIndexTensor(keep));
  out.labels = ToIndexTensor(relabelled);
  return out;
}

Dataset StratifiedSubset(const Dataset& d, int64_t count, int64_t classes, uint64_t seed) {
  auto by_class = ShuffledByClass(d, classes, seed);
  return Select(d, ToIndexTensor(TakeRoundRobin(by_class, count)));
}

std::vector<int64_t> HeldOutIndices(const Dataset& d, int64_t held_out, int64_t classes,
                                    uint64_t seed) {
  auto by_class = ShuffledByClass(d, classes, seed);
  return TakeRoundRobin(by_class, held_out);
}

std::pair<Dataset, Dataset> SplitHeldOut(const Dataset& d, int64_t held_out, int64_t classes,
                                         uint64_t seed) {
  auto by_class = ShuffledByClass(d, classes, seed);
  std::vector<int64_t> eval = TakeRoundRobin(by_class, held_out);
  std::vector<int64_t> fit = TakeRoundRobin(by_class, d.size());
  return {Select(d, ToIndexTensor(fit)), Select(d, ToIndexTensor(eval))};
}

at::Tensor Augment(const at::Tensor& images, int64_t pad, at::Generator& gen) {
  const int64_t n = images.size(0), h = images.size(2), w = images.size(3);
  at::Tensor padded = at::constant_pad_nd(images, {pad, pad, pad, pad}, 0);
  at::Tensor shifts = at::randint(0, 2 * pad + 1, {n, 2}, gen, at::kLong);
  at::Tensor flips = at::randint(0, 2, {n}, gen, at::kLong);
  const int64_t* s = shifts.data_ptr<int64_t>();
  const int64_t* f = flips.data_ptr<int64_t>();
  at::Tensor out = at::empty_like(images);
  for (int64_t i = 0; i < n; ++i) {
    at::Tensor crop = padded[i].narrow(1, s[2 * i], h).narrow(2, s[2 * i + 1], w);
    out[i].copy_(f[i] ? crop.flip({2}) : crop);
  }
  return out;
}

}  // namespace wave
