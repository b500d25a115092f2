// Names and sizes the API fixes: the names it gives its files (FileChunk.name,
// InitializeHeader.resume_file) and the bytes of an uploaded label, shared by
// the server and the C++ client. No LibTorch.
#ifndef WAVE_CORE_BASE_WIRE_NAMES_H_
#define WAVE_CORE_BASE_WIRE_NAMES_H_

#include <cstdint>

namespace wave {

inline constexpr char kModelFileName[] = "model.safetensors";
inline constexpr char kScalersFileName[] = "scalers.safetensors";
// Each uploaded sample's label (int64), counted with its image's bytes
// against the server's --max_sample_bytes.
inline constexpr int64_t kLabelBytes = 8;

}  // namespace wave

#endif  // WAVE_CORE_BASE_WIRE_NAMES_H_
