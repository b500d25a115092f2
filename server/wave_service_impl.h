// The wave.v1.WaveInit service. Every method takes and returns raw bytes and
// parses them here: a message that does not parse gets INVALID_ARGUMENT
// saying so, and is logged and counted like any other call.
#ifndef WAVE_SERVER_WAVE_SERVICE_IMPL_H_
#define WAVE_SERVER_WAVE_SERVICE_IMPL_H_

#include "server/service_context.h"
#include "wave/v1/wave.grpc.pb.h"

namespace wave {

using RawWaveInitService = v1::WaveInit::WithRawCallbackMethod_Initialize<
    v1::WaveInit::WithRawCallbackMethod_ListBanks<
        v1::WaveInit::WithRawCallbackMethod_DescribeBank<v1::WaveInit::Service>>>;

class WaveServiceImpl final : public RawWaveInitService {
 public:
  explicit WaveServiceImpl(ServiceContext& context) : context_(context) {}

  grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* Initialize(
      grpc::CallbackServerContext* context) override;
  grpc::ServerUnaryReactor* ListBanks(grpc::CallbackServerContext* context,
                                      const grpc::ByteBuffer* request,
                                      grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* DescribeBank(grpc::CallbackServerContext* context,
                                         const grpc::ByteBuffer* request,
                                         grpc::ByteBuffer* response) override;

 private:
  void FillBankInfo(const TemplateBank& bank, v1::BankInfo* info) const;
  grpc::ServerUnaryReactor* FinishUnary(grpc::CallbackServerContext* context,
                                        const char* method, const absl::Status& status);

  ServiceContext& context_;
};

}  // namespace wave

#endif  // WAVE_SERVER_WAVE_SERVICE_IMPL_H_
