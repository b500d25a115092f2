#include "server/wave_service_impl.h"

#include <chrono>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "core/base/status_macros.h"
#include "nlohmann/json.hpp"
#include "server/auth.h"
#include "server/initialize_reactor.h"
#include "server/proto_convert.h"
#include "server/refusal.h"
#include "server/status_util.h"

namespace wave {
namespace {

// Parses a raw request; INVALID_ARGUMENT naming the message type otherwise.
template <typename Message>
absl::Status ParseRequest(const grpc::ByteBuffer* bytes, Message* message) {
  grpc::ByteBuffer copy(*bytes);  // Deserialize consumes its buffer
  if (grpc::SerializationTraits<Message>::Deserialize(&copy, message).ok()) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      absl::StrCat("the request could not be parsed as a ", Message::descriptor()->full_name()));
}

template <typename Message>
void SerializeResponse(const Message& message, grpc::ByteBuffer* bytes) {
  bool own_buffer = false;
  (void)grpc::SerializationTraits<Message>::Serialize(message, bytes, &own_buffer);
}

}  // namespace

void LogCall(const std::string& method, const std::string& peer, const std::string& target,
             const std::string& code, double seconds, const std::string& message) {
  nlohmann::json line = {{"method", method}, {"peer", peer},       {"target", target},
                         {"code", code},     {"seconds", seconds}, {"message", message}};
  std::fprintf(stderr, "%s\n",
               line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
}

std::string ServiceContext::ResultContext() const {
  // The weights file records version, device and threads; the thread count
  // can also change the order of float sums.
  return absl::StrCat(WAVE_VERSION, "|", device, "|", torch_threads);
}

grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* WaveServiceImpl::Initialize(
    grpc::CallbackServerContext* context) {
  return new InitializeReactor(context_, context);
}

grpc::ServerUnaryReactor* WaveServiceImpl::FinishUnary(grpc::CallbackServerContext* context,
                                                       const char* method,
                                                       const absl::Status& status) {
  const std::string code = GrpcCodeName(static_cast<grpc::StatusCode>(status.code()));
  context_.metrics->RecordRequest(method, code, 0);
  context_.metrics->RecordRefusal(RefusalReason(status));
  LogCall(method, context->peer(), "", code, 0, std::string(status.message()));
  auto* reactor = context->DefaultReactor();
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

void WaveServiceImpl::FillBankInfo(const TemplateBank& bank, v1::BankInfo* info) const {
  const auto& g = bank.geometry;
  const auto& limits = context_.options.limits;
  info->set_name(bank.name);
  info->set_version(bank.version);
  info->set_sha256(bank.file_sha256);
  info->set_image_size(g.image_size);
  info->set_patch(g.patch);
  info->set_channels(g.channels);
  info->set_tile(g.tile);
  info->set_head_dim(g.head_dim);
  info->set_mlp_ratio(g.mlp_ratio);
  info->set_mean(g.mean[0]);
  info->set_std(g.std[0]);
  for (double m : g.mean) info->add_channel_mean(m);
  for (double s : g.std) info->add_channel_std(s);
  for (const std::string& name : BankClassNames(bank)) info->add_class_names(name);
  info->set_templates_per_kind(bank.NumTemplates("attn.qkv.weight"));
  info->set_template_params(bank.TemplateParamCount());
  ToProto(bank.ancestry, info->mutable_ancestry());
  for (const auto& aux : bank.auxiliaries) ToProto(aux.config, info->add_auxiliaries());
  for (const auto& [k, v] : bank.provenance) (*info->mutable_provenance())[k] = v;
  info->set_width_step(g.width_step());
  info->set_max_width(limits.max_width / g.width_step() * g.width_step());
  info->set_max_depth(limits.max_depth);
  info->set_max_params(limits.max_target_params);
  info->set_max_samples(limits.max_samples);
  info->set_max_sample_bytes(limits.max_sample_bytes);
  info->set_acknowledges_header(true);
  info->set_is_default(bank.name == context_.banks.default_name());
  info->set_device(context_.device);
  info->set_fit_precision(std::string(PrecisionName(context_.fit_precision)));
}

grpc::ServerUnaryReactor* WaveServiceImpl::ListBanks(grpc::CallbackServerContext* context,
                                                     const grpc::ByteBuffer* request_bytes,
                                                     grpc::ByteBuffer* response_bytes) {
  v1::ListBanksRequest request;
  absl::Status status = Authenticate(*context, context_.options.auth_tokens).status();
  if (status.ok()) status = ParseRequest(request_bytes, &request);
  if (status.ok()) {
    v1::ListBanksResponse response;
    for (const auto& bank : context_.banks.All()) FillBankInfo(*bank, response.add_banks());
    SerializeResponse(response, response_bytes);
  }
  return FinishUnary(context, "ListBanks", status);
}

grpc::ServerUnaryReactor* WaveServiceImpl::DescribeBank(grpc::CallbackServerContext* context,
                                                        const grpc::ByteBuffer* request_bytes,
                                                        grpc::ByteBuffer* response_bytes) {
  v1::DescribeBankRequest request;
  absl::Status status = Authenticate(*context, context_.options.auth_tokens).status();
  if (status.ok()) status = ParseRequest(request_bytes, &request);
  if (status.ok()) {
    auto bank = context_.banks.Get(request.name());
    if (bank.ok()) {
      v1::BankInfo response;
      FillBankInfo(**bank, &response);
      SerializeResponse(response, response_bytes);
    } else {
      status = bank.status();
    }
  }
  return FinishUnary(context, "DescribeBank", status);
}

}  // namespace wave
