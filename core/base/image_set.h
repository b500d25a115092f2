// A labelled image set in one geometry, as every reader of user data returns
// it (docs/own-data.md), and the rules every reader shares: the resize rule,
// the channel rule, the limits on what a data set may make the reader hold.
// No LibTorch: the client links it.
#ifndef WAVE_CORE_BASE_IMAGE_SET_H_
#define WAVE_CORE_BASE_IMAGE_SET_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace wave {

// Images [count, channels, size, size] of 8-bit values, labels [count] in
// [0, classes). Every reader gives this one pixel type: float32 inputs in
// [0, 1] (what torchvision's ToTensor gives) are rounded to x * 255.
struct ImageSet {
  int64_t count = 0, channels = 0, size = 0;
  std::vector<uint8_t> pixels;
  std::vector<int64_t> labels;
  // Index i names class i: an image folder's sorted sub-folder names, else
  // "0", "1", ... up to the largest label.
  std::vector<std::string> class_names;

  int64_t image_bytes() const { return channels * size * size; }
  int64_t classes() const { return static_cast<int64_t>(class_names.size()); }
};

// Default bounds on what reading a data set may hold.
inline constexpr int64_t kDefaultMaxImagePixels = int64_t{1} << 26;  // 67 megapixels
inline constexpr int64_t kDefaultMaxDataBytes = int64_t{4} << 30;    // 4 GiB decoded
inline constexpr int64_t kDefaultMaxFiles = 1'000'000;
// Largest square side images may be brought to.
inline constexpr int64_t kMaxImageSide = 4096;

// What the caller wants the data to become, and the bounds on reading it.
struct ImageLoadOptions {
  // 1 or 3; 0: as the data are (an image folder: 3, as torchvision's
  // ImageFolder converts every image to RGB).
  int64_t channels = 0;
  // Square side every image is brought to (ResizeToSquare); 0: as the data
  // are, which must then be square and all of one size.
  int64_t image_size = 0;
  // Refused before decoding: an image whose header says more pixels.
  int64_t max_image_pixels = kDefaultMaxImagePixels;
  // Refused before allocating: a data set whose decoded pixels need more.
  int64_t max_data_bytes = kDefaultMaxDataBytes;
  // Refused while listing: a folder with more image files.
  int64_t max_files = kDefaultMaxFiles;
  // .npy and IDX: the labels file; empty: found beside the images.
  std::string labels_path;
  // Threads that decode an image folder; 0: every core.
  int threads = 0;
};

// One decoded image, interleaved [height, width, channels].
struct Image {
  int64_t height = 0, width = 0, channels = 0;
  std::vector<uint8_t> pixels;
};

// The resize rule, that of torchvision's Resize(size) then CenterCrop(size)
// on a PIL image: the shorter side is scaled to `size` (the longer to
// int(size * long / short)) by PIL's antialiased bilinear filter, rows then
// columns, each pass rounded to 8 bits; then the centre size x size is cut
// (offsets round((h - size) / 2)). An image already size x size is copied.
// Written here: no Debian library offers this rule without pulling in a
// large imaging stack, and the clients must agree with torchvision.
Image ResizeToSquare(const Image& image, int64_t size);

// The channel rule: grayscale is repeated into R, G and B; RGB becomes
// grayscale by ITU-R 601-2 luma (L = R*299/1000 + G*587/1000 + B*114/1000,
// as PIL's convert("L")). Only 1 and 3 channels exist.
Image ConvertChannels(const Image& image, int64_t channels);

// Labels in [0, classes): an error naming the first that is not.
absl::Status ValidateLabels(const ImageSet& set, int64_t classes);

// Class names "0" .. "max label" for data without names (arrays, IDX);
// refuses a negative label.
absl::StatusOr<std::vector<std::string>> NumberedClassNames(const std::vector<int64_t>& labels);

// "3x32x32": channels x height x width, as messages name image shapes.
std::string ShapeText(int64_t channels, int64_t height, int64_t width);

}  // namespace wave

#endif  // WAVE_CORE_BASE_IMAGE_SET_H_
