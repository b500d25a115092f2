// Turns the client's stream (one header, then data chunks) into a validated
// target, fit options and few-shot data set, within the server's limits. The
// header reserves the bytes it announces from the upload budget before any
// memory is taken; they return with ReleaseData or the builder.
#ifndef WAVE_SERVER_REQUEST_BUILDER_H_
#define WAVE_SERVER_REQUEST_BUILDER_H_

#include <memory>

#include "absl/status/status.h"
#include "core/init/initialize.h"
#include "server/bank_registry.h"
#include "server/options.h"
#include "server/resource_budget.h"
#include "wave/v1/wave.pb.h"

namespace wave {

class RequestBuilder {
 public:
  // `upload_bytes`: the server-wide budget (none when null).
  RequestBuilder(const Limits& limits, const BankRegistry& banks,
                 ResourceBudget* upload_bytes = nullptr)
      : limits_(limits), banks_(banks), upload_bytes_(upload_bytes) {}

  // Takes the next message; the first must be the header.
  absl::Status Add(const v1::InitializeRequest& message);
  // After the client half-closed: all announced samples must have arrived.
  absl::Status Finish();

  bool has_header() const { return has_header_; }
  const std::shared_ptr<const TemplateBank>& bank() const { return bank_; }
  const ViTConfig& target() const { return target_; }
  const FitOptions& fit() const { return fit_; }
  const v1::OutputOptions& output() const { return output_; }
  Dataset& data() { return data_; }
  // Frees the few-shot data and gives its bytes back to the budget.
  void ReleaseData();

 private:
  absl::Status AddHeader(const v1::InitializeHeader& header);
  absl::Status AddChunk(const v1::DataChunk& chunk);

  const Limits& limits_;
  const BankRegistry& banks_;
  ResourceBudget* const upload_bytes_;
  ResourceBudget::Lease upload_lease_;
  bool has_header_ = false;
  std::shared_ptr<const TemplateBank> bank_;
  ViTConfig target_;
  FitOptions fit_;
  v1::OutputOptions output_;
  Dataset data_;
  int64_t expected_samples_ = 0, received_samples_ = 0;
  uint64_t next_sequence_ = 0;
  int64_t sample_bytes_ = 0;
};

}  // namespace wave

#endif  // WAVE_SERVER_REQUEST_BUILDER_H_
