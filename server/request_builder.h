// Turns the client's stream (one header, then data chunks) into one
// validated request value, within the server's limits. The header is checked
// as soon as it arrives (target and fit options, once) and reserves the bytes
// it announces from the upload budget before any memory is taken; the data
// is checked once when the upload ends.
#ifndef WAVE_SERVER_REQUEST_BUILDER_H_
#define WAVE_SERVER_REQUEST_BUILDER_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "core/base/sha256.h"
#include "core/init/initialize.h"
#include "server/bank_registry.h"
#include "server/options.h"
#include "server/resource_budget.h"
#include "wave/v1/wave.pb.h"

namespace wave {

// A whole request, validated: what the fit job runs.
struct InitCall {
  std::shared_ptr<const TemplateBank> bank;  // keeps the requests' bank alive
  struct Target {
    CheckedRequest request;
    // The request with every default applied (ResolvedHeader): with the
    // data's digest, what the result's cache key is made of.
    v1::InitializeHeader resolved;
  };
  std::vector<Target> targets;  // one or more, in the header's order
  v1::OutputOptions output;
  ResourceBudget::Lease upload_lease;  // the few-shot bytes, given back with them
  std::string data_sha256;             // of the uploaded samples

  void ReleaseFewShot() {
    for (Target& t : targets) t.request.ReleaseFewShot();
    upload_lease.Release();
  }
};

// A header that resumes a broken download instead of asking for a fit.
struct ResumeRequest {
  std::string key, file;
  uint64_t offset = 0;
  uint32_t chunk_bytes = 0;
};

// The request's fit options over the bank's own defaults for the target's
// classes (BankFitDefaults): what ApplyFitHeader then completes with the
// server's. INVALID_ARGUMENT when the bank's defaults do not parse.
absl::StatusOr<v1::FitOptions> WithBankFitDefaults(const TemplateBank& bank, int64_t classes,
                                                   const v1::FitOptions& asked);
// The API's fit options with the server's defaults applied; unchecked.
FitOptions ApplyFitHeader(const v1::FitOptions& f);
// `request` as a header that sets every field that determines the result
// (output.chunk_bytes and num_samples do not).
v1::InitializeHeader ResolvedHeader(const TemplateBank& bank, const CheckedRequest& request,
                                    const v1::OutputOptions& output, v1::ImageDType image_dtype,
                                    const std::vector<std::string>& class_names);

// Longest class name a request may send.
inline constexpr size_t kMaxClassNameBytes = 256;

class RequestBuilder {
 public:
  // `upload_bytes`: the server-wide budget (none when null), taken for
  // `client` (server/auth.h's identity). `device`: where the fit will run;
  // `default_precision`: its arithmetic when the request sets none.
  RequestBuilder(const Limits& limits, const BankRegistry& banks,
                 ResourceBudget* upload_bytes = nullptr, std::string client = "",
                 std::string device = "cpu", Precision default_precision = Precision::kFloat32)
      : limits_(limits),
        banks_(banks),
        upload_bytes_(upload_bytes),
        client_(std::move(client)),
        device_(std::move(device)),
        default_precision_(default_precision) {}

  // Takes the next message; the first must be the header.
  absl::Status Add(const v1::InitializeRequest& message);
  // After the client half-closed: all announced samples must have arrived.
  // The builder is spent afterwards.
  absl::StatusOr<InitCall> Finish();

  bool has_header() const { return !requests_.empty() || resume_.has_value(); }
  // Set when the header asked to resume a download; Finish is not called then.
  const std::optional<ResumeRequest>& resume() const { return resume_; }
  // The first target, once the header has passed (for logs).
  const ViTConfig* target() const { return requests_.empty() ? nullptr : &requests_[0].target(); }

 private:
  absl::Status AddHeader(const v1::InitializeHeader& header);
  absl::Status AddResumeHeader(const v1::InitializeHeader& header);
  absl::Status CheckChunkBytes(uint32_t chunk_bytes) const;
  absl::Status CheckImageShape(const v1::InitializeHeader& header, const ViTConfig& target);
  absl::Status CheckClassNames(const v1::InitializeHeader& header, int64_t classes);
  absl::StatusOr<FitOptions> FitFromHeader(const v1::FitOptions& f) const;
  absl::Status AddChunk(const v1::DataChunk& chunk);

  const Limits& limits_;
  const BankRegistry& banks_;
  ResourceBudget* const upload_bytes_;
  const std::string client_;
  const std::string device_;
  const Precision default_precision_;
  bool header_seen_ = false;
  std::shared_ptr<const TemplateBank> bank_;
  // The request's fit options over the bank's defaults for t's classes, checked.
  absl::StatusOr<FitOptions> FitFor(const v1::TargetArchitecture& t,
                                    const v1::FitOptions& asked) const;
  absl::StatusOr<CheckedRequest> CheckTarget(const v1::TargetArchitecture& t,
                                             const v1::FitOptions& asked) const;
  std::vector<CheckedRequest> requests_;
  v1::OutputOptions output_;
  ResourceBudget::Lease upload_lease_;
  Dataset data_;
  int64_t expected_samples_ = 0, received_samples_ = 0;
  uint64_t next_sequence_ = 0;
  int64_t sample_bytes_ = 0;
  v1::ImageDType image_dtype_ = v1::IMAGE_DTYPE_UINT8;
  std::string bank_shape_;  // "1x28x28", for messages
  std::vector<std::string> class_names_;
  // Images and labels hashed apart, so the digest does not depend on how
  // the client cut its chunks.
  Sha256 images_hash_, labels_hash_;
  std::optional<ResumeRequest> resume_;
};

}  // namespace wave

#endif  // WAVE_SERVER_REQUEST_BUILDER_H_
