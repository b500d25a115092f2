// Reader and writer for the safetensors format
// (https://github.com/huggingface/safetensors): an 8-byte little-endian header
// length, a JSON header, then one byte buffer. No LibTorch here, so the client
// can use it too.
#ifndef WAVE_CORE_BASE_SAFETENSORS_H_
#define WAVE_CORE_BASE_SAFETENSORS_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace wave {

enum class DType { kF32, kF16, kBF16, kF64, kI64, kI32, kU8, kI8, kBool };

// "F32", "BF16", ... as the format spells them.
absl::string_view DTypeName(DType dtype);
absl::StatusOr<DType> ParseDType(absl::string_view name);
size_t DTypeSize(DType dtype);

// Upper bound on the JSON header a reader accepts (the reference
// implementation uses 100 MB).
inline constexpr uint64_t kMaxHeaderBytes = 100'000'000;

// A tensor inside a parsed file: borrowed bytes, valid while the file lives.
struct TensorView {
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  const uint8_t* data = nullptr;
  size_t size_bytes = 0;

  int64_t NumElements() const;
};

// A parsed safetensors file. Owns its bytes; views point into them.
class SafetensorsFile {
 public:
  // Parses a whole file held in memory. Every malformed input is an error.
  static absl::StatusOr<SafetensorsFile> Parse(std::string bytes);
  static absl::StatusOr<SafetensorsFile> ReadFile(const std::string& path);

  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  // Tensor names in file order (by data offset).
  const std::vector<std::string>& names() const { return names_; }
  absl::StatusOr<TensorView> Get(const std::string& name) const;
  const std::string& bytes() const { return bytes_; }

 private:
  std::string bytes_;
  std::map<std::string, std::string> metadata_;
  std::vector<std::string> names_;
  struct Entry {
    TensorView view;  // data unset: see Get()
    size_t offset;    // from the start of bytes_
  };
  std::map<std::string, Entry> tensors_;
};

// Builds a file from borrowed tensor bytes. Tensors are written in the order
// they were added. The bytes must stay alive until Serialize/Write returns.
class SafetensorsWriter {
 public:
  absl::Status Add(const std::string& name, DType dtype,
                   std::vector<int64_t> shape, const void* data,
                   size_t size_bytes);
  void SetMetadata(const std::string& key, const std::string& value) {
    metadata_[key] = value;
  }

  // The 8-byte length and the JSON header, padded with spaces to a multiple
  // of 8 bytes.
  std::string HeaderBytes() const;
  uint64_t TotalBytes() const;

  // Reads the file front to back in pieces, on demand: what a sender that
  // produces each chunk when the previous one has gone out needs. Holds the
  // header; the tensors stay borrowed from the writer, which must outlive it.
  class Cursor {
   public:
    explicit Cursor(const SafetensorsWriter& writer);
    uint64_t total_bytes() const { return total_; }
    uint64_t offset() const { return offset_; }
    bool done() const { return offset_ == total_; }
    // The next min(max_bytes, remaining) bytes, appended to `out`.
    void Next(size_t max_bytes, std::string* out);
    // The next min(max_bytes, remaining) bytes as the pieces they are stored
    // in (header, tensors), without a copy.
    void Visit(size_t max_bytes, const std::function<void(absl::string_view)>& piece);
    void Skip(uint64_t bytes) {
      Visit(bytes, [](absl::string_view) {});
    }

   private:
    const SafetensorsWriter& writer_;
    std::string header_;
    uint64_t total_ = 0, offset_ = 0;
    size_t entry_ = 0;         // the tensor `offset_` is in (past the header)
    size_t entry_offset_ = 0;  // bytes of that tensor already read
  };

  // Emits the file as consecutive pieces of `chunk_bytes` (the last one
  // shorter), without ever holding a second copy of the tensors. Stops at
  // the first error.
  absl::Status Stream(size_t chunk_bytes,
                      const std::function<absl::Status(absl::string_view)>& sink) const;
  std::string Serialize() const;
  // The sha256 of the file's bytes, read where they lie (no copy).
  std::string Sha256Hex() const;
  // Writes to `path` through a temporary file and a rename.
  absl::Status WriteFile(const std::string& path) const;

 private:
  struct Entry {
    std::string name;
    DType dtype;
    std::vector<int64_t> shape;
    const uint8_t* data;
    size_t size_bytes;
  };
  std::vector<Entry> entries_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace wave

#endif  // WAVE_CORE_BASE_SAFETENSORS_H_
