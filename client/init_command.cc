// init: upload few-shot data, follow the fit, download and verify the files.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "client/commands.h"
#include "client/few_shot_data.h"
#include "client/progress.h"
#include "core/base/image_set.h"
#include "core/base/sha256.h"
#include "core/base/status_macros.h"
#include "core/base/wire_names.h"
#include "core/data/read_data.h"
#include "google/protobuf/util/json_util.h"
#include "nlohmann/json.hpp"
#include "wave/v1/wave.grpc.pb.h"

namespace wave {
namespace {

constexpr int64_t kUploadChunkBytes = 1 << 20;

// A download into "<path>.part", renamed into place only when its sha256
// matches the server's. The bytes are hashed on a thread of their own while
// the next ones arrive. A broken download whose result key is known leaves
// the .part and "<path>.part.key" for --resume; anything else is removed.
class Download {
 public:
  explicit Download(std::string path)
      : path_(std::move(path)), part_(path_ + ".part"), key_path_(part_ + ".key") {}
  ~Download() {
    if (committed_ || keep_) return;
    std::remove(part_.c_str());
    std::remove(key_path_.c_str());
  }
  // The key and size of a download left by an earlier broken call; nullopt
  // when there is none.
  std::optional<std::pair<std::string, uint64_t>> Leftover() const {
    std::ifstream key(key_path_), part(part_, std::ios::binary | std::ios::ate);
    std::string k;
    if (!key || !part || !(key >> k)) return std::nullopt;
    return std::make_pair(k, static_cast<uint64_t>(part.tellg()));
  }
  // Continues the .part from its end: its bytes are hashed first.
  absl::Status Continue() {
    std::ifstream in(part_, std::ios::binary);
    std::string buffer(1 << 20, '\0');
    while (in.read(buffer.data(), buffer.size()) || in.gcount() > 0) {
      hash_.Update(buffer.substr(0, in.gcount()));
      bytes_ += in.gcount();
    }
    out_.open(part_, std::ios::binary | std::ios::app);
    if (!out_) return absl::PermissionDeniedError(absl::StrCat("cannot append to ", part_));
    return absl::OkStatus();
  }
  void SetKey(const std::string& key) {
    std::ofstream(key_path_) << key << "\n";
    have_key_ = true;
  }
  // After a broken call: keep what arrived for --resume, if it can resume.
  bool KeepForResume() {
    keep_ = have_key_ && bytes_ > 0;
    out_.close();
    return keep_;
  }
  // Takes the chunk's data.
  bool Append(v1::FileChunk* chunk) {
    if (!out_.is_open()) out_.open(part_, std::ios::binary | std::ios::trunc);
    if (!out_ || chunk->offset() != bytes_) return false;
    out_.write(chunk->data().data(), chunk->data().size());
    out_.flush();  // what arrived is on disk if the call breaks
    bytes_ += chunk->data().size();
    hash_.Update(std::move(*chunk->mutable_data()));
    return static_cast<bool>(out_);
  }
  absl::Status Commit(const std::string& expected_sha, uint64_t expected_bytes) {
    out_.close();
    const std::string sha = hash_.HexDigest();
    if (bytes_ != expected_bytes || sha != expected_sha) {
      return absl::DataLossError(absl::StrCat(path_, ": received ", bytes_, " bytes with sha256 ",
                                              sha, ", server sent ", expected_bytes, " / ",
                                              expected_sha));
    }
    if (std::rename(part_.c_str(), path_.c_str()) != 0) {
      return absl::PermissionDeniedError(absl::StrCat("cannot rename into ", path_));
    }
    std::remove(key_path_.c_str());
    committed_ = true;
    return absl::OkStatus();
  }
  uint64_t bytes() const { return bytes_; }
  const std::string& part() const { return part_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_, part_, key_path_;
  std::ofstream out_;
  BackgroundSha256 hash_;
  uint64_t bytes_ = 0;
  bool committed_ = false, keep_ = false, have_key_ = false;
};

// The bank's image shape, asked before any image is read.
absl::StatusOr<v1::BankInfo> DescribeForUpload(v1::WaveInit::Stub& stub,
                                               const ConnectionOptions& connection,
                                               const std::string& bank) {
  grpc::ClientContext context;
  Prepare(connection, &context);
  v1::DescribeBankRequest request;
  request.set_name(bank);
  v1::BankInfo info;
  grpc::Status status = stub.DescribeBank(&context, request, &info);
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                        DescribeStatus(status));
  }
  return info;
}

// The class count of every target (they share it); 0 when not given.
int64_t TargetClasses(const v1::InitializeHeader& header) {
  return header.targets_size() == 0 ? header.target().classes() : header.targets(0).classes();
}

// Sets `classes` on every target that left it at 0.
void FillClasses(v1::InitializeHeader* header, int64_t classes) {
  if (header->targets_size() == 0 && header->target().classes() == 0) {
    header->mutable_target()->set_classes(classes);
  }
  for (auto& t : *header->mutable_targets()) {
    if (t.classes() == 0) t.set_classes(classes);
  }
}

// What the upload needs from the server before anything is read: the bank's
// image shape and the server's limits on samples (its BankInfo).
struct LoadedData {
  FewShotData data;
  v1::BankInfo bank;
};

// --images (an image folder, .npy/.npz or IDX) brought to the bank's shape,
// or --data (safetensors, already the bank's shape). Completes the header:
// the images' shape, the class names, and the class count when not given.
absl::StatusOr<LoadedData> LoadData(v1::WaveInit::Stub& stub, const ConnectionOptions& connection,
                                    const InitCommand& c, v1::InitializeHeader* header) {
  if (!c.labels.empty() && c.images.empty()) {
    return absl::InvalidArgumentError("--labels needs --images");
  }
  LoadedData loaded;
  ASSIGN_OR_RETURN(loaded.bank, DescribeForUpload(stub, connection, header->bank()));
  if (c.images.empty()) {
    FillClasses(header, loaded.bank.ancestry().classes());  // no images to count classes in
    if (!c.data.empty()) {
      ASSIGN_OR_RETURN(loaded.data, ReadSafetensorsData(c.data));
    }
    return loaded;
  }
  ASSIGN_OR_RETURN(DataFormat format, ParseDataFormat(c.data_format));
  ImageLoadOptions options;
  options.channels = loaded.bank.channels();
  options.image_size = loaded.bank.image_size();
  options.labels_path = c.labels;
  ASSIGN_OR_RETURN(ImageSet set, ReadImageData(c.images, format, options));
  FillClasses(header, set.classes());
  const int64_t classes = TargetClasses(*header);
  RETURN_IF_ERROR(ValidateLabels(set, classes));
  if (set.classes() <= classes) {
    header->mutable_class_names()->Assign(set.class_names.begin(), set.class_names.end());
  }
  auto* shape = header->mutable_image_shape();
  shape->set_channels(set.channels);
  shape->set_height(set.size);
  shape->set_width(set.size);
  loaded.data = ToFewShot(std::move(set));
  return loaded;
}

// The most samples of `sample_bytes` each (and a label) the server takes in
// one call, by its BankInfo; 0 when it states no limit.
int64_t SamplesTheServerTakes(const v1::BankInfo& bank, int64_t sample_bytes) {
  int64_t most = bank.max_samples();
  if (bank.max_sample_bytes() > 0) {
    const int64_t by_bytes = bank.max_sample_bytes() / (sample_bytes + kLabelBytes);
    most = most > 0 ? std::min(most, by_bytes) : by_bytes;
  }
  return most;
}

// How many samples to send: --samples, or all of them; when --samples is
// unset and the data has more than the server takes, a stratified subset of
// what it takes (said on stderr). --samples above it is refused here, before
// anything is sent.
absl::StatusOr<int64_t> SamplesToSend(const InitCommand& command, const FewShotData& data,
                                      const v1::BankInfo& bank) {
  const int64_t most = SamplesTheServerTakes(bank, data.sample_bytes);
  if (most <= 0) return command.samples;
  if (command.samples > most) {
    return absl::FailedPreconditionError(absl::StrCat(
        "--samples=", command.samples, " exceeds what the server takes in one call: ", most,
        " samples of this size (its --max_samples and --max_sample_bytes); ask for at most ",
        most));
  }
  if (command.samples == 0 && data.count > most) {
    std::fprintf(stderr,
                 "wave-client: the data has %lld samples and the server takes at most %lld in "
                 "one call; sending a stratified %lld (--samples chooses another count)\n",
                 (long long)data.count, (long long)most, (long long)most);
    return most;
  }
  return command.samples;
}

int Fail(const std::string& message) {
  std::fprintf(stderr, "wave-client: %s\n", message.c_str());
  return 1;
}

// Waits for the server's answer to the header: its Progress "upload" when
// every rule held, else the end of the call (Finish says why), so that no
// image is sent to a server that refused the header.
bool HeaderAccepted(
    grpc::ClientReaderWriter<v1::InitializeRequest, v1::InitializeResponse>& stream) {
  v1::InitializeResponse response;
  return stream.Read(&response) && response.has_progress() &&
         response.progress().phase() == "upload";
}

// The header, then the samples in chunks of about kUploadChunkBytes; the
// data is freed afterwards. False when the stream broke (Finish says why).
bool Upload(grpc::ClientReaderWriter<v1::InitializeRequest, v1::InitializeResponse>& stream,
            v1::InitializeHeader header, FewShotData& data, bool wait_for_acknowledgement) {
  header.set_num_samples(data.count);
  header.set_image_dtype(data.is_float ? v1::IMAGE_DTYPE_FLOAT32 : v1::IMAGE_DTYPE_UINT8);
  v1::InitializeRequest request;
  *request.mutable_header() = std::move(header);
  bool writing = stream.Write(request);
  if (writing && wait_for_acknowledgement) writing = HeaderAccepted(stream);
  const int64_t per_chunk =
      std::max<int64_t>(1, kUploadChunkBytes / std::max<int64_t>(1, data.sample_bytes));
  for (int64_t begin = 0, seq = 0; writing && begin < data.count; begin += per_chunk, ++seq) {
    const int64_t k = std::min(per_chunk, data.count - begin);
    v1::InitializeRequest chunk;
    auto* d = chunk.mutable_data();
    d->set_sequence(seq);
    d->set_images(data.images.data() + begin * data.sample_bytes, k * data.sample_bytes);
    d->set_labels(reinterpret_cast<const char*>(data.labels.data() + begin), 8 * k);
    writing = stream.Write(chunk);
  }
  stream.WritesDone();
  data = FewShotData{};
  return writing;
}

// What the server streams back: progress to the display, files to their
// downloads, and the summary.
// What the server streams back: progress to the display, each target's
// files to its downloads (committed when its summary arrives), summaries.
struct Received {
  std::vector<std::unique_ptr<Download>> models, scalers;  // by target index
  std::vector<v1::Summary> summaries;                      // committed targets, in order
  std::string error;                                       // the first failure
};

Download* ModelOf(const InitCommand& command, Received& received, int index) {
  if (index < 0 || index >= static_cast<int>(command.outs.size())) return nullptr;
  if (!received.models[index]) {
    received.models[index] = std::make_unique<Download>(command.outs[index]);
  }
  return received.models[index].get();
}

Download* ScalersOf(const InitCommand& command, Received& received, int index) {
  if (!received.scalers[index]) {
    received.scalers[index] = std::make_unique<Download>(
        command.scalers_out.empty() ? command.outs[index] + ".scalers.safetensors"
                                    : command.scalers_out);
  }
  return received.scalers[index].get();
}

void Commit(const InitCommand& command, Received& received, const v1::Summary& summary) {
  const int index = summary.target_index();
  Download* model = ModelOf(command, received, index);
  absl::Status status = model == nullptr
                            ? absl::DataLossError("a summary for a target never asked for")
                            : model->Commit(summary.model_sha256(), summary.model_bytes());
  if (status.ok() && received.scalers[index]) {
    status = received.scalers[index]->Commit(summary.scalers_sha256(), summary.scalers_bytes());
  }
  if (!status.ok()) {
    if (received.error.empty()) received.error = std::string(status.message());
    return;
  }
  received.summaries.push_back(summary);
}

void Receive(grpc::ClientReaderWriter<v1::InitializeRequest, v1::InitializeResponse>& stream,
             const InitCommand& command, ProgressDisplay& display, Received& received) {
  const std::string prefix_of_many = command.outs.size() > 1 ? "target " : "";
  v1::InitializeResponse response;
  while (stream.Read(&response)) {
    switch (response.kind_case()) {
      case v1::InitializeResponse::kProgress: {
        const auto& p = response.progress();
        if (!p.result_key().empty()) {
          if (Download* model = ModelOf(command, received, p.target_index())) {
            model->SetKey(p.result_key());
          }
        }
        if (p.phase() == "fit") {
          display.Step(p.step(), p.total_steps(), p.loss(), p.accuracy());
        } else if (!prefix_of_many.empty() && p.phase() != "queued") {
          display.Phase(
              absl::StrCat(p.phase(), " ", command.outs[p.target_index() % command.outs.size()]));
        } else {
          display.Phase(p.phase());
        }
        break;
      }
      case v1::InitializeResponse::kFile: {
        v1::FileChunk& f = *response.mutable_file();
        Download* target = ModelOf(command, received, f.target_index());
        if (target != nullptr && f.name() == kScalersFileName) {
          target = ScalersOf(command, received, f.target_index());
        }
        if (target == nullptr || !target->Append(&f)) {
          if (received.error.empty()) {
            received.error = target == nullptr
                                 ? absl::StrCat("the server sent a file for target ",
                                                f.target_index(), ", which was not asked for")
                                 : absl::StrCat("could not write ", target->part(), ": ",
                                                std::strerror(errno));
          }
          break;
        }
        display.Bytes(target->path(), target->bytes(), f.total_bytes());
        break;
      }
      case v1::InitializeResponse::kSummary:
        Commit(command, received, response.summary());
        break;
      default:
        break;
    }
  }
}

// Proto3's JSON mapping writes 64-bit integers as strings; the summary's
// counts are printed as numbers, found by the fields' types.
void Int64FieldsAsNumbers(const google::protobuf::Descriptor& descriptor, nlohmann::json& j) {
  using google::protobuf::FieldDescriptor;
  for (int i = 0; i < descriptor.field_count(); ++i) {
    const FieldDescriptor& field = *descriptor.field(i);
    auto it = j.find(field.json_name());
    if (it == j.end() || field.is_map()) continue;
    auto convert = [&](nlohmann::json& v) {
      if (field.cpp_type() == FieldDescriptor::CPPTYPE_INT64 && v.is_string()) {
        v = std::stoll(v.get<std::string>());
      } else if (field.cpp_type() == FieldDescriptor::CPPTYPE_UINT64 && v.is_string()) {
        v = std::stoull(v.get<std::string>());
      } else if (field.cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE && v.is_object()) {
        Int64FieldsAsNumbers(*field.message_type(), v);
      }
    };
    if (it->is_array()) {
      for (auto& v : *it) convert(v);
    } else {
      convert(*it);
    }
  }
}

std::string SummaryJson(const v1::Summary& summary) {
  std::string text;
  (void)google::protobuf::util::MessageToJsonString(summary, &text);
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return text;
  Int64FieldsAsNumbers(*v1::Summary::descriptor(), j);
  return j.dump();
}

void PrintSummary(const InitCommand& command, const v1::Summary& summary) {
  const std::string& out = command.outs[summary.target_index()];
  if (command.json) {
    std::printf("%s\n", SummaryJson(summary).c_str());
    return;
  }
  const auto& t = summary.target();
  std::printf(
      "wrote %s: ViT depth %lld width %lld heads %lld classes %lld, %lld parameters "
      "(%.1f MiB), sha256 %s\n",
      out.c_str(), (long long)t.depth(), (long long)t.width(), (long long)t.heads(),
      (long long)t.classes(), (long long)summary.param_count(), summary.model_bytes() / 1048576.0,
      summary.model_sha256().c_str());
  std::printf("trainable during the fit: %lld (%.4f of the model; %lld scalers)\n",
              (long long)summary.trainable_params(), summary.trainable_ratio(),
              (long long)summary.scaler_count());
  if (summary.held_out() > 0) {
    std::printf("held-out accuracy: %.2f%% on %lld samples", summary.held_out_accuracy(),
                (long long)summary.held_out());
    // The loss is the last scaler step's: none with steps 0 (a head-only fit included).
    if (summary.steps_run() > 0) {
      std::printf(" (final fit loss %.4f); weights of step %lld of %lld run",
                  summary.final_loss(), (long long)summary.best_step(),
                  (long long)summary.steps_run());
    }
    std::printf("\n");
  }
  if (summary.head_refit_kept()) {
    std::printf("head: refitted after the steps (held-out accuracy did not drop)\n");
  }
  if (summary.cache_hit()) {
    std::printf("served from the server's result cache: no fit ran (key %s)\n",
                summary.result_key().c_str());
  }
  if (summary.has_recipe()) {
    const v1::TrainingRecipe& r = summary.recipe();
    std::printf("train it with: %s, peak lr %g, weight decay %g, %g epoch(s) of warm-up, "
                "cosine to %g of the peak over %lld epochs, batch %lld (chosen on %s)\n",
                r.optimizer().c_str(), r.peak_lr(), r.weight_decay(), r.warmup_epochs(),
                r.min_lr_ratio(), (long long)r.epochs(), (long long)r.batch(),
                r.chosen_on().c_str());
  }
  std::printf("seconds:");
  for (const char* phase : {"scaler_init", "fit", "compose", "hash", "stream", "total"}) {
    auto it = summary.seconds().find(phase);
    if (it != summary.seconds().end()) std::printf(" %s %.2f", phase, it->second);
  }
  std::printf(" (device %s, %s fit)\n", summary.device().c_str(),
              summary.fit_precision().c_str());
  if (!summary.fit_precision_note().empty()) {
    std::printf("%s\n", summary.fit_precision_note().c_str());
  }
}

}  // namespace

namespace {

// One Initialize call: a fit (`data` uploaded after the header) or, with
// a resume header and no data, the rest of a broken download.
grpc::Status Call(v1::WaveInit::Stub& stub, const ConnectionOptions& connection,
                  const InitCommand& command, const v1::InitializeHeader& header, LoadedData* data,
                  Received& received) {
  grpc::ClientContext context;
  Prepare(connection, &context);
  auto stream = stub.Initialize(&context);
  ProgressDisplay display;
  if (data != nullptr) {
    display.Phase(absl::StrCat("upload ", data->data.count, " samples"));
    Upload(*stream, header, data->data, data->bank.acknowledges_header());
  } else {
    display.Phase(absl::StrCat("resume at byte ", header.resume_offset()));
    v1::InitializeRequest request;
    *request.mutable_header() = header;
    stream->Write(request);
    stream->WritesDone();
  }
  Receive(*stream, command, display, received);
  display.Done();
  return stream->Finish();
}

// Every output's folder exists (made when missing) and can be written, before
// anything is read or sent: a path that cannot take the file is named with
// the system's reason while nothing has been spent on it.
absl::Status PrepareOutputs(const InitCommand& command) {
  std::vector<std::string> paths = command.outs;
  if (!command.scalers_out.empty()) paths.push_back(command.scalers_out);
  for (const std::string& path : paths) {
    const std::filesystem::path file(path);
    const std::filesystem::path dir = file.has_parent_path() ? file.parent_path() : ".";
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot create the folder '", dir.string(), "' for ", path, ": ",
                       ec.message()));
    }
    if (std::filesystem::is_directory(file, ec)) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot write ", path, ": it is a folder"));
    }
    if (access(dir.c_str(), W_OK) != 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "cannot write ", path, ": ", std::strerror(errno), " (folder '", dir.string(), "')"));
    }
  }
  return absl::OkStatus();
}

void Reset(const InitCommand& command, Received& received) {
  received = Received{};
  received.models.resize(command.outs.size());
  received.scalers.resize(command.outs.size());
}

}  // namespace

int RunInit(const ConnectionOptions& connection, const InitCommand& command) {
  if (auto s = PrepareOutputs(command); !s.ok()) return Fail(std::string(s.message()));
  auto channel = Connect(connection);
  if (!channel.ok()) return Fail(std::string(channel.status().message()));
  auto stub = v1::WaveInit::NewStub(*channel);
  Received received;
  Reset(command, received);
  grpc::Status status;
  bool resumed = false;
  Download* first = ModelOf(command, received, 0);
  if (auto leftover = first->Leftover(); command.resume && leftover) {
    if (command.outs.size() > 1) return Fail("--resume continues a single --out, not --sizes");
    v1::InitializeHeader header;
    header.set_resume_key(leftover->first);
    header.set_resume_offset(leftover->second);
    if (auto s = first->Continue(); !s.ok()) return Fail(std::string(s.message()));
    first->SetKey(leftover->first);
    status = Call(*stub, connection, command, header, nullptr, received);
    resumed = status.error_code() != grpc::StatusCode::NOT_FOUND;
    if (!resumed) {
      std::fprintf(stderr, "wave-client: cannot resume (%s); fitting again\n",
                   status.error_message().c_str());
      Reset(command, received);  // removes the stale .part
    }
  }
  if (!resumed) {
    v1::InitializeHeader header = command.header;
    absl::StatusOr<LoadedData> loaded = LoadData(*stub, connection, command, &header);
    if (!loaded.ok()) return Fail(std::string(loaded.status().message()));
    absl::StatusOr<int64_t> samples = SamplesToSend(command, loaded->data, loaded->bank);
    if (!samples.ok()) return Fail(std::string(samples.status().message()));
    loaded->data = StratifiedSample(loaded->data, *samples, command.sample_seed);
    status = Call(*stub, connection, command, header, &*loaded, received);
  }
  for (const v1::Summary& summary : received.summaries) PrintSummary(command, summary);
  if (!status.ok()) {
    for (auto& model : received.models) {
      if (model && model->KeepForResume()) {
        std::fprintf(stderr,
                     "wave-client: kept %llu bytes in %s; rerun with --resume to continue\n",
                     (unsigned long long)model->bytes(), model->part().c_str());
      }
    }
    return Fail(DescribeStatus(status));
  }
  if (!received.error.empty()) return Fail(received.error);
  if (received.summaries.size() != command.outs.size()) {
    return Fail("the server ended without every summary");
  }
  return 0;
}

}  // namespace wave
