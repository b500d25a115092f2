// One target's files as a client downloads them: the weights file (and the
// scalers file when asked), made from a fit's result and hashed once, where
// they are made (on the fit's thread, not while they stream); a cache hit
// recomposes the same bytes and takes the digests it recorded, and a resumed
// download starts at a file and offset without reading what it skips. The
// client checks every file against its digest.
//
// Not thread-safe: owned by one call, used under its reactor's lock (or by
// the fit job before the reactor has it).
#ifndef WAVE_SERVER_TARGET_DOWNLOAD_H_
#define WAVE_SERVER_TARGET_DOWNLOAD_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/base/wire_names.h"
#include "core/init/weights_file.h"
#include "wave/v1/wave.pb.h"

namespace wave {

struct InitCall;

// Room reserved for a file's safetensors header and metadata.
inline constexpr int64_t kFileHeaderReserveBytes = 1 << 20;

at::ScalarType OutputDType(v1::WeightDType dtype);

// What a call's files will hold, reserved from the download budget before its
// fit: the weights in the requested dtype, the scalers in float32, and room
// for the headers.
int64_t ExpectedDownloadBytes(const InitCall& call);

// Where a target's files come from: the bank and request, and the server's
// settings recorded in them.
struct FileSource {
  const TemplateBank* bank = nullptr;
  ViTConfig target;
  FitOptions fit;
  v1::OutputOptions output;
  std::vector<std::string> class_names;
  std::optional<v1::TrainingRecipe> recipe;  // the bank's, for this target
  std::string device;
  size_t default_chunk_bytes = 0;  // when output.chunk_bytes is 0
};

class TargetDownload {
 public:
  // The files of `result` (its weights are taken). The summary's byte sizes,
  // digests, device and (after rounding) held-out accuracy are filled; the
  // digests are `recorded`'s when it has them (the same result composed
  // again), else computed, and seconds["hash"] says how long that took.
  static absl::StatusOr<std::unique_ptr<TargetDownload>> Make(
      const FileSource& source, InitResult result, const v1::Summary* recorded = nullptr);

  // Starts the stream at `offset` of file `name`: earlier files and bytes
  // are not sent. NOT_FOUND for a file this result lacks, OUT_OF_RANGE for
  // an offset past its end.
  absl::Status SkipTo(const std::string& name, uint64_t offset);

  bool done() const { return current_ == files_.size(); }
  // The next chunk of file data. Only while !done().
  v1::InitializeResponse NextChunk();

  v1::Summary& summary() { return *summary_.mutable_summary(); }
  // The summary message, digests and seconds filled, once done().
  const v1::InitializeResponse& summary_message() const { return summary_; }
  uint64_t total_bytes() const { return total_bytes_; }  // of every file still to send

  std::string result_key;
  int target_index = 0;
  int64_t started = 0;  // when its stream began (CallWatchdog::Now())

 private:
  struct File {
    std::string name;
    std::unique_ptr<OwnedFile> content;
  };
  TargetDownload() = default;
  void NextFile();

  std::vector<File> files_;
  size_t current_ = 0;  // the file being sent
  std::optional<SafetensorsWriter::Cursor> cursor_;
  size_t chunk_bytes_ = 0;
  uint64_t total_bytes_ = 0;
  v1::InitializeResponse summary_;
};

}  // namespace wave

#endif  // WAVE_SERVER_TARGET_DOWNLOAD_H_
