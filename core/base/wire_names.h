// Names the API gives its files (FileChunk.name, InitializeHeader.resume_file):
// shared by the server, which sends them, and the clients, which sort what
// they receive. No LibTorch.
#ifndef WAVE_CORE_BASE_WIRE_NAMES_H_
#define WAVE_CORE_BASE_WIRE_NAMES_H_

namespace wave {

inline constexpr char kModelFileName[] = "model.safetensors";
inline constexpr char kScalersFileName[] = "scalers.safetensors";

}  // namespace wave

#endif  // WAVE_CORE_BASE_WIRE_NAMES_H_
