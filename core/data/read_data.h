// Reads a user's labelled images, whatever form they are in, into one
// ImageSet (docs/own-data.md):
//   - an image folder in torchvision's ImageFolder layout: one sub-folder per
//     class (class index = position in the sorted folder names), PNG and JPEG
//     files anywhere below it, other files ignored;
//   - NumPy .npy (images; labels from a sibling "<stem>_labels.npy" or
//     "labels.npy") or .npz (arrays "images"/"labels" or "x"/"y"): images
//     N x H x W, N x H x W x C or N x C x H x W (the channel axis is the one
//     of size 1 or 3; the last when both are), uint8 or float32 in [0, 1];
//     integer labels;
//   - IDX: an images file "*-images-idx3-ubyte[.gz]" (labels beside it as
//     "*-labels-idx1-ubyte[.gz]"), or a folder holding "train-*" files.
// Every image is brought to the options' channels (channel rule) and side
// (resize rule) as it is read. No LibTorch.
#ifndef WAVE_CORE_DATA_READ_DATA_H_
#define WAVE_CORE_DATA_READ_DATA_H_

#include <string>

#include "absl/status/statusor.h"
#include "core/base/image_set.h"

namespace wave {

enum class DataFormat { kAuto, kImageFolder, kNpy, kNpz, kIdx };

// "auto", "folder", "npy", "npz", "idx".
absl::StatusOr<DataFormat> ParseDataFormat(const std::string& text);
// The format a path has: a folder with IDX files is IDX, another folder an
// image folder; otherwise by extension.
absl::StatusOr<DataFormat> DetectDataFormat(const std::string& path);

absl::StatusOr<ImageSet> ReadImageData(const std::string& path, DataFormat format,
                                       const ImageLoadOptions& options);

// Parts of ReadImageData, for callers that know the format.
absl::StatusOr<ImageSet> ReadImageFolder(const std::string& dir, const ImageLoadOptions& options);
absl::StatusOr<ImageSet> ReadNumpyData(const std::string& path, DataFormat format,
                                       const ImageLoadOptions& options);
absl::StatusOr<ImageSet> ReadIdxData(const std::string& path, const ImageLoadOptions& options);

// The IDX test split beside a training one ("train-*" -> "t10k-*"), or "".
std::string IdxTestSplitOf(const std::string& path);

}  // namespace wave

#endif  // WAVE_CORE_DATA_READ_DATA_H_
