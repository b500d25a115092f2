#include "core/data/image_decode.h"

#include <png.h>
#include <turbojpeg.h>

#include <cstring>
#include <memory>

#include "absl/strings/str_cat.h"

namespace wave {
namespace {

constexpr uint8_t kPngSignature[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
constexpr uint8_t kJpegSignature[] = {0xff, 0xd8, 0xff};

absl::Status Unreadable(const std::string& name, const std::string& why) {
  return absl::InvalidArgumentError(absl::StrCat("cannot decode image '", name, "': ", why));
}

absl::Status TooLarge(const std::string& name, int64_t w, int64_t h, int64_t max_pixels) {
  return absl::InvalidArgumentError(absl::StrCat("image '", name, "' is ", w, "x", h, " = ",
                                                 w * h, " pixels, over the limit of ", max_pixels,
                                                 " per image"));
}

absl::StatusOr<Image> DecodePng(absl::string_view bytes, const std::string& name,
                                int64_t max_pixels) {
  png_image png;
  std::memset(&png, 0, sizeof(png));
  png.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&png, bytes.data(), bytes.size())) {
    return Unreadable(name, png.message);
  }
  std::unique_ptr<png_image, decltype(&png_image_free)> guard(&png, &png_image_free);
  const int64_t w = png.width, h = png.height;
  if (w * h > max_pixels) return TooLarge(name, w, h, max_pixels);
  const bool colour = (png.format & PNG_FORMAT_FLAG_COLOR) != 0;
  // Colour decodes as RGB, grayscale as G; alpha is kept, then dropped.
  png.format = colour ? PNG_FORMAT_RGBA : PNG_FORMAT_GA;
  const int64_t stored = colour ? 4 : 2;
  std::vector<uint8_t> buffer(w * h * stored);
  if (!png_image_finish_read(&png, nullptr, buffer.data(), 0, nullptr)) {
    return Unreadable(name, png.message);
  }
  Image image;
  image.height = h;
  image.width = w;
  image.channels = colour ? 3 : 1;
  image.pixels.resize(w * h * image.channels);
  for (int64_t i = 0; i < w * h; ++i) {
    std::memcpy(&image.pixels[i * image.channels], &buffer[i * stored], image.channels);
  }
  return image;
}

absl::StatusOr<Image> DecodeJpeg(absl::string_view bytes, const std::string& name,
                                 int64_t max_pixels) {
  std::unique_ptr<void, decltype(&tjDestroy)> handle(tjInitDecompress(), &tjDestroy);
  if (!handle) return absl::InternalError("TurboJPEG could not start a decompressor");
  int w = 0, h = 0, subsampling = 0, colorspace = 0;
  auto* data = reinterpret_cast<unsigned char*>(const_cast<char*>(bytes.data()));
  if (tjDecompressHeader3(handle.get(), data, bytes.size(), &w, &h, &subsampling, &colorspace)) {
    return Unreadable(name, tjGetErrorStr2(handle.get()));
  }
  if (int64_t{w} * h > max_pixels) return TooLarge(name, w, h, max_pixels);
  Image image;
  image.height = h;
  image.width = w;
  image.channels = colorspace == TJCS_GRAY ? 1 : 3;
  image.pixels.resize(int64_t{w} * h * image.channels);
  // A truncated file is only a warning to libjpeg (it fills the rest with
  // grey): stop on warnings so it is an error here.
  if (tjDecompress2(handle.get(), data, bytes.size(), image.pixels.data(), w, 0, h,
                    image.channels == 1 ? TJPF_GRAY : TJPF_RGB,
                    TJFLAG_STOPONWARNING | TJFLAG_ACCURATEDCT) != 0) {
    return Unreadable(name, tjGetErrorStr2(handle.get()));
  }
  return image;
}

bool StartsWith(absl::string_view bytes, const uint8_t* signature, size_t n) {
  return bytes.size() >= n && std::memcmp(bytes.data(), signature, n) == 0;
}

}  // namespace

absl::StatusOr<Image> DecodeImage(absl::string_view bytes, const std::string& name,
                                  int64_t max_pixels) {
  if (StartsWith(bytes, kPngSignature, sizeof(kPngSignature))) {
    return DecodePng(bytes, name, max_pixels);
  }
  if (StartsWith(bytes, kJpegSignature, sizeof(kJpegSignature))) {
    return DecodeJpeg(bytes, name, max_pixels);
  }
  return Unreadable(name, bytes.empty() ? "the file is empty"
                                        : "it is neither PNG nor JPEG (by its first bytes)");
}

}  // namespace wave
