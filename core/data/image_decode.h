// PNG and JPEG decoding with Debian's libpng (its simplified API) and
// libjpeg-turbo (TurboJPEG). No LibTorch.
#ifndef WAVE_CORE_DATA_IMAGE_DECODE_H_
#define WAVE_CORE_DATA_IMAGE_DECODE_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/base/image_set.h"

namespace wave {

// Decodes a PNG or JPEG (told apart by their signatures) into 1 channel
// (grayscale sources) or 3 (colour sources; an alpha channel is dropped, as
// PIL's convert("RGB") drops it). An image whose header announces more than
// `max_pixels` is refused before anything is decoded; a truncated or corrupt
// file is an error, never a partly grey image. `name` goes into messages.
absl::StatusOr<Image> DecodeImage(absl::string_view bytes, const std::string& name,
                                  int64_t max_pixels);

}  // namespace wave

#endif  // WAVE_CORE_DATA_IMAGE_DECODE_H_
