// NumPy's .npy format and .npz archives of them. The .npy reader is written
// here (a magic string, a Python-literal header and the raw array: no Debian
// C++ library reads it); .npz archives are opened with libzip.
#ifndef WAVE_CORE_DATA_NPY_H_
#define WAVE_CORE_DATA_NPY_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace wave {

enum class NpyType { kU8, kI8, kI16, kU16, kI32, kU32, kI64, kU64, kF32, kF64 };

// One array, little-endian, C order.
struct NpyArray {
  NpyType type = NpyType::kU8;
  std::string descr;  // as the header spells it, for messages ("<f4")
  std::vector<int64_t> shape;
  std::string data;
  int64_t element_bytes() const;
  int64_t elements() const;
};

// Parses one .npy file's bytes; refuses Fortran order, big-endian and the
// element types above do not list (naming the type).
absl::StatusOr<NpyArray> ParseNpy(absl::string_view bytes, int64_t max_bytes);

// The arrays of an .npz archive, keyed by name without ".npy". An entry
// larger than `max_bytes` uncompressed is refused before it is read.
absl::StatusOr<std::map<std::string, NpyArray>> ReadNpz(const std::string& path,
                                                        int64_t max_bytes);

// Element i as an int64 (integer types) or a double (float types).
int64_t NpyInt(const NpyArray& a, int64_t i);
double NpyFloat(const NpyArray& a, int64_t i);
bool IsInteger(NpyType type);

}  // namespace wave

#endif  // WAVE_CORE_DATA_NPY_H_
