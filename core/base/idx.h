// Reader for the IDX format of (Fashion-)MNIST, gzipped or plain. No LibTorch.
#ifndef WAVE_CORE_BASE_IDX_H_
#define WAVE_CORE_BASE_IDX_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace wave {

// An unsigned-byte IDX array (the only element type the data sets use).
struct IdxArray {
  std::vector<int64_t> dims;
  std::vector<uint8_t> data;
};

// Largest decompressed IDX file accepted.
inline constexpr size_t kMaxIdxBytes = size_t{1} << 30;

// Parses decompressed IDX bytes.
absl::StatusOr<IdxArray> ParseIdx(absl::string_view bytes);
// Reads a file, gunzipping it when it is gzipped.
absl::StatusOr<IdxArray> ReadIdxFile(const std::string& path);

// A labelled image set: images [n, channels, rows, cols], labels [n].
struct LabelledImages {
  int64_t count = 0, channels = 1, rows = 0, cols = 0;
  std::vector<uint8_t> images;
  std::vector<uint8_t> labels;
};

// Reads an images file ([n, rows, cols]) and a labels file ([n]) and checks
// that they agree.
absl::StatusOr<LabelledImages> ReadIdxImagesAndLabels(const std::string& images_path,
                                                      const std::string& labels_path);

// Debian's dataset-fashion-mnist location.
inline constexpr char kFashionMnistDir[] = "/usr/share/datasets/fashion-mnist";
// split is "train" or "t10k".
absl::StatusOr<LabelledImages> ReadFashionMnist(const std::string& dir,
                                                const std::string& split);

}  // namespace wave

#endif  // WAVE_CORE_BASE_IDX_H_
