#include "core/model/tensor_io.h"

#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/base/status_macros.h"

namespace wave {

absl::StatusOr<DType> ToDType(at::ScalarType type) {
  switch (type) {
    case at::kFloat: return DType::kF32;
    case at::kHalf: return DType::kF16;
    case at::kBFloat16: return DType::kBF16;
    case at::kDouble: return DType::kF64;
    case at::kLong: return DType::kI64;
    case at::kInt: return DType::kI32;
    case at::kByte: return DType::kU8;
    case at::kChar: return DType::kI8;
    case at::kBool: return DType::kBool;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("no safetensors dtype for ", c10::toString(type)));
  }
}

absl::StatusOr<at::ScalarType> ToScalarType(DType dtype) {
  switch (dtype) {
    case DType::kF32: return at::kFloat;
    case DType::kF16: return at::kHalf;
    case DType::kBF16: return at::kBFloat16;
    case DType::kF64: return at::kDouble;
    case DType::kI64: return at::kLong;
    case DType::kI32: return at::kInt;
    case DType::kU8: return at::kByte;
    case DType::kI8: return at::kChar;
    case DType::kBool: return at::kBool;
  }
  return absl::InvalidArgumentError("unknown dtype");
}

absl::StatusOr<at::Tensor> ToTensor(const TensorView& view) {
  ASSIGN_OR_RETURN(at::ScalarType type, ToScalarType(view.dtype));
  at::Tensor out = at::empty(view.shape, at::TensorOptions().dtype(type));
  if (view.size_bytes != static_cast<size_t>(out.nbytes())) {
    return absl::InvalidArgumentError("tensor byte count does not match its shape");
  }
  if (view.size_bytes > 0) std::memcpy(out.data_ptr(), view.data, view.size_bytes);
  return out;
}

absl::Status AddTensor(SafetensorsWriter& writer, const std::string& name,
                       const at::Tensor& tensor) {
  if (!tensor.device().is_cpu() || !tensor.is_contiguous()) {
    return absl::InvalidArgumentError(
        absl::StrCat("tensor '", name, "' must be contiguous on the CPU to be written"));
  }
  ASSIGN_OR_RETURN(DType dtype, ToDType(tensor.scalar_type()));
  return writer.Add(name, dtype, tensor.sizes().vec(), tensor.data_ptr(), tensor.nbytes());
}

absl::StatusOr<TensorMap> ReadTensors(const SafetensorsFile& file) {
  TensorMap out;
  for (const auto& name : file.names()) {
    ASSIGN_OR_RETURN(TensorView view, file.Get(name));
    ASSIGN_OR_RETURN(out[name], ToTensor(view));
  }
  return out;
}

absl::Status WriteTensors(const std::string& path, const TensorMap& tensors,
                          const std::map<std::string, std::string>& metadata) {
  SafetensorsWriter writer;
  std::vector<at::Tensor> keep;  // contiguous CPU copies live until written
  keep.reserve(tensors.size());
  for (const auto& [name, tensor] : tensors) {
    keep.push_back(tensor.detach().to(at::kCPU).contiguous());
    RETURN_IF_ERROR(AddTensor(writer, name, keep.back()));
  }
  for (const auto& [k, v] : metadata) writer.SetMetadata(k, v);
  return writer.WriteFile(path);
}

}  // namespace wave
