// Conversion between LibTorch tensors and safetensors entries.
#ifndef WAVE_CORE_MODEL_TENSOR_IO_H_
#define WAVE_CORE_MODEL_TENSOR_IO_H_

#include <ATen/ATen.h>

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "core/base/safetensors.h"

namespace wave {

// Parameters by timm name; ordered, so output files are deterministic.
using TensorMap = std::map<std::string, at::Tensor>;

absl::StatusOr<DType> ToDType(at::ScalarType type);
absl::StatusOr<at::ScalarType> ToScalarType(DType dtype);

// Copies a view into a new CPU tensor.
absl::StatusOr<at::Tensor> ToTensor(const TensorView& view);

// Adds a CPU contiguous tensor to `writer`; the tensor must outlive it.
absl::Status AddTensor(SafetensorsWriter& writer, const std::string& name,
                       const at::Tensor& tensor);

// Reads every tensor of a file.
absl::StatusOr<TensorMap> ReadTensors(const SafetensorsFile& file);

// Writes `tensors` (converted to contiguous CPU) with metadata.
absl::Status WriteTensors(const std::string& path, const TensorMap& tensors,
                          const std::map<std::string, std::string>& metadata);

}  // namespace wave

#endif  // WAVE_CORE_MODEL_TENSOR_IO_H_
