#include "core/base/image_set.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace wave {
namespace {

// PIL's fixed-point resampling precision for 8-bit images.
constexpr int kPrecisionBits = 32 - 8 - 2;

double Triangle(double x) {
  x = std::fabs(x);
  return x < 1.0 ? 1.0 - x : 0.0;
}

// For each output position: the first input position and the fixed-point
// weights of the inputs it reads (PIL's precompute_coeffs for the bilinear
// filter, whose support widens by the scale when reducing: the antialias).
struct Taps {
  std::vector<int64_t> first;
  std::vector<std::vector<int32_t>> weights;
};

Taps MakeTaps(int64_t in_size, int64_t out_size) {
  const double scale = static_cast<double>(in_size) / out_size;
  const double filter_scale = std::max(scale, 1.0);
  const double support = 1.0 * filter_scale;
  Taps taps;
  taps.first.resize(out_size);
  taps.weights.resize(out_size);
  for (int64_t o = 0; o < out_size; ++o) {
    const double center = (o + 0.5) * scale;
    const int64_t lo = std::max<int64_t>(0, static_cast<int64_t>(center - support + 0.5));
    const int64_t hi = std::min<int64_t>(in_size, static_cast<int64_t>(center + support + 0.5));
    std::vector<double> w;
    double total = 0;
    for (int64_t x = lo; x < hi; ++x) {
      w.push_back(Triangle((x - center + 0.5) / filter_scale));
      total += w.back();
    }
    taps.first[o] = lo;
    for (double v : w) {
      const double k = total > 0 ? v / total : 0;
      taps.weights[o].push_back(static_cast<int32_t>(k < 0 ? -0.5 + k * (1 << kPrecisionBits)
                                                           : 0.5 + k * (1 << kPrecisionBits)));
    }
  }
  return taps;
}

uint8_t Clip8(int64_t accumulated) {
  const int64_t v = accumulated >> kPrecisionBits;
  return static_cast<uint8_t>(std::clamp<int64_t>(v, 0, 255));
}

// Resamples along rows (horizontal) or columns (vertical) to `out` positions.
Image Resample(const Image& in, int64_t out, bool horizontal) {
  const int64_t c = in.channels;
  Image result;
  result.channels = c;
  result.height = horizontal ? in.height : out;
  result.width = horizontal ? out : in.width;
  result.pixels.resize(result.height * result.width * c);
  const Taps taps = MakeTaps(horizontal ? in.width : in.height, out);
  for (int64_t y = 0; y < result.height; ++y) {
    for (int64_t x = 0; x < result.width; ++x) {
      const int64_t o = horizontal ? x : y;
      for (int64_t ch = 0; ch < c; ++ch) {
        int64_t sum = int64_t{1} << (kPrecisionBits - 1);
        const auto& w = taps.weights[o];
        for (size_t k = 0; k < w.size(); ++k) {
          const int64_t src = taps.first[o] + static_cast<int64_t>(k);
          const int64_t index = horizontal ? (y * in.width + src) : (src * in.width + x);
          sum += static_cast<int64_t>(in.pixels[index * c + ch]) * w[k];
        }
        result.pixels[(y * result.width + x) * c + ch] = Clip8(sum);
      }
    }
  }
  return result;
}

// Python's round() of d / 2 (halves to even), as torchvision's CenterCrop.
int64_t HalfRoundedToEven(int64_t d) {
  const int64_t q = d / 2;
  if (d % 2 == 0) return q;
  return q % 2 == 0 ? q : q + 1;
}

}  // namespace

Image ResizeToSquare(const Image& image, int64_t size) {
  if (image.height == size && image.width == size) return image;
  const int64_t shorter = std::min(image.height, image.width);
  const int64_t longer = std::max(image.height, image.width);
  const int64_t new_long = static_cast<int64_t>(static_cast<double>(size * longer) / shorter);
  const int64_t new_h = image.height <= image.width ? size : new_long;
  const int64_t new_w = image.height <= image.width ? new_long : size;
  Image resized = image;
  if (new_w != image.width) resized = Resample(resized, new_w, /*horizontal=*/true);
  if (new_h != image.height) resized = Resample(resized, new_h, /*horizontal=*/false);
  const int64_t top = HalfRoundedToEven(new_h - size);
  const int64_t left = HalfRoundedToEven(new_w - size);
  Image out;
  out.height = out.width = size;
  out.channels = image.channels;
  out.pixels.resize(size * size * image.channels);
  const int64_t row = size * image.channels;
  for (int64_t y = 0; y < size; ++y) {
    std::copy_n(resized.pixels.data() + ((top + y) * new_w + left) * image.channels, row,
                out.pixels.data() + y * row);
  }
  return out;
}

Image ConvertChannels(const Image& image, int64_t channels) {
  if (image.channels == channels) return image;
  Image out;
  out.height = image.height;
  out.width = image.width;
  out.channels = channels;
  const int64_t n = image.height * image.width;
  out.pixels.resize(n * channels);
  for (int64_t i = 0; i < n; ++i) {
    const uint8_t* p = image.pixels.data() + i * image.channels;
    if (channels == 3) {
      out.pixels[3 * i] = out.pixels[3 * i + 1] = out.pixels[3 * i + 2] = p[0];
    } else {
      // PIL's integer luma: (R*19595 + G*38470 + B*7471 + 0x8000) >> 16.
      out.pixels[i] = static_cast<uint8_t>((p[0] * 19595 + p[1] * 38470 + p[2] * 7471 + 0x8000) >> 16);
    }
  }
  return out;
}

absl::Status ValidateLabels(const ImageSet& set, int64_t classes) {
  for (int64_t i = 0; i < set.count; ++i) {
    if (set.labels[i] < 0 || set.labels[i] >= classes) {
      return absl::InvalidArgumentError(
          absl::StrCat("label ", set.labels[i], " of image ", i, " is outside [0, ", classes,
                       "): the target has ", classes, " classes"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> NumberedClassNames(const std::vector<int64_t>& labels) {
  int64_t top = -1;
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("label ", labels[i], " of image ", i, " is negative"));
    }
    top = std::max(top, labels[i]);
  }
  std::vector<std::string> names;
  for (int64_t c = 0; c <= top; ++c) names.push_back(absl::StrCat(c));
  return names;
}

std::string ShapeText(int64_t channels, int64_t height, int64_t width) {
  return absl::StrCat(channels, "x", height, "x", width);
}

}  // namespace wave
