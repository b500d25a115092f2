#include "server/target_download.h"

#include <ATen/Parallel.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "core/base/status_macros.h"
#include "core/base/stopwatch.h"
#include "server/request_builder.h"

namespace wave {

at::ScalarType OutputDType(v1::WeightDType dtype) {
  switch (dtype) {
    case v1::WEIGHT_DTYPE_F16:
      return at::kHalf;
    case v1::WEIGHT_DTYPE_BF16:
      return at::kBFloat16;
    default:
      return at::kFloat;
  }
}

int64_t ExpectedDownloadBytes(const InitCall& call) {
  const int64_t element = at::elementSize(OutputDType(call.output.dtype()));
  int64_t bytes = 0;
  for (const InitCall::Target& t : call.targets) {
    const ViTConfig& target = t.request.target();
    bytes += target.ParamCount() * element + kFileHeaderReserveBytes;
    if (call.output.include_scalers()) {
      bytes += 4 * ScalerCount(target, call.bank->geometry, *call.bank);
    }
  }
  return bytes;
}

absl::StatusOr<std::unique_ptr<TargetDownload>> TargetDownload::Make(
    const FileSource& source, InitResult result, const v1::Summary* recorded) {
  const TemplateBank& bank = *source.bank;
  WeightsFileInfo info;
  info.bank_name = bank.name;
  info.bank_version = bank.version;
  info.bank_sha256 = bank.file_sha256;
  info.device = source.device;
  info.threads = at::get_num_threads();
  info.geometry = bank.geometry;
  info.class_names = source.class_names;
  if (source.recipe) {
    google::protobuf::util::JsonPrintOptions compact;
    compact.preserve_proto_field_names = true;
    (void)google::protobuf::util::MessageToJsonString(*source.recipe, &info.training_recipe,
                                                      compact);
  }
  std::unique_ptr<TargetDownload> download(new TargetDownload());
  download->chunk_bytes_ = source.output.chunk_bytes() > 0 ? source.output.chunk_bytes()
                                                           : source.default_chunk_bytes;
  ASSIGN_OR_RETURN(WeightsFile weights,
                   MakeWeightsFile(std::move(result.weights), result.report, result.held_out,
                                   source.target, source.fit, info,
                                   OutputDType(source.output.dtype())));
  download->files_.push_back({kModelFileName, std::move(weights.file)});
  if (source.output.include_scalers()) {
    ASSIGN_OR_RETURN(auto scalers_file,
                     MakeScalersFile(std::move(result.scalers), source.target, info));
    download->files_.push_back({kScalersFileName, std::move(scalers_file)});
  }
  v1::Summary& s = download->summary();
  const Stopwatch hashing;
  for (const File& file : download->files_) {
    const uint64_t bytes = file.content->writer.TotalBytes();
    download->total_bytes_ += bytes;
    const bool model = file.name == kModelFileName;
    model ? s.set_model_bytes(bytes) : s.set_scalers_bytes(bytes);
    const std::string known = recorded == nullptr ? ""
                              : model             ? recorded->model_sha256()
                                                  : recorded->scalers_sha256();
    const std::string digest = known.empty() ? file.content->writer.Sha256Hex() : known;
    model ? s.set_model_sha256(digest) : s.set_scalers_sha256(digest);
  }
  (*s.mutable_seconds())["hash"] = hashing.Seconds();
  s.set_held_out_accuracy(weights.held_out_accuracy);
  s.set_device(source.device);
  if (source.recipe) *s.mutable_recipe() = *source.recipe;
  return download;
}

absl::Status TargetDownload::SkipTo(const std::string& name, uint64_t offset) {
  if (name == kModelFileName && offset == 0) return absl::OkStatus();
  size_t index = 0;
  while (index < files_.size() && files_[index].name != name) ++index;
  if (index == files_.size()) {
    return absl::NotFoundError(absl::StrCat("resume_file: this result has no ", name));
  }
  const uint64_t size = files_[index].content->writer.TotalBytes();
  if (offset > size) {
    return absl::OutOfRangeError(absl::StrCat("resume_offset: ", offset, " is past the end of ",
                                              name, " (", size, " bytes)"));
  }
  while (current_ < index) NextFile();
  cursor_.emplace(files_[index].content->writer);
  cursor_->Skip(offset);
  if (cursor_->done()) NextFile();
  total_bytes_ -= offset;  // what is left to send
  for (size_t i = 0; i < index; ++i) total_bytes_ -= files_[i].content->writer.TotalBytes();
  return absl::OkStatus();
}

v1::InitializeResponse TargetDownload::NextChunk() {
  const File& file = files_[current_];
  if (!cursor_) cursor_.emplace(file.content->writer);
  v1::InitializeResponse r;
  auto* chunk = r.mutable_file();
  chunk->set_name(file.name);
  chunk->set_target_index(target_index);
  chunk->set_offset(cursor_->offset());
  chunk->set_total_bytes(cursor_->total_bytes());
  cursor_->Next(chunk_bytes_, chunk->mutable_data());
  if (cursor_->done()) NextFile();
  return r;
}

void TargetDownload::NextFile() {
  cursor_.reset();
  ++current_;
}

}  // namespace wave
