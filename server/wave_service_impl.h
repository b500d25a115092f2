// The wave.v1.WaveInit service.
#ifndef WAVE_SERVER_WAVE_SERVICE_IMPL_H_
#define WAVE_SERVER_WAVE_SERVICE_IMPL_H_

#include "server/service_context.h"
#include "wave/v1/wave.grpc.pb.h"

namespace wave {

class WaveServiceImpl final : public v1::WaveInit::CallbackService {
 public:
  explicit WaveServiceImpl(ServiceContext& context) : context_(context) {}

  grpc::ServerBidiReactor<v1::InitializeRequest, v1::InitializeResponse>* Initialize(
      grpc::CallbackServerContext* context) override;
  grpc::ServerUnaryReactor* ListBanks(grpc::CallbackServerContext* context,
                                      const v1::ListBanksRequest* request,
                                      v1::ListBanksResponse* response) override;
  grpc::ServerUnaryReactor* DescribeBank(grpc::CallbackServerContext* context,
                                         const v1::DescribeBankRequest* request,
                                         v1::BankInfo* response) override;

 private:
  void FillBankInfo(const TemplateBank& bank, v1::BankInfo* info) const;
  grpc::ServerUnaryReactor* FinishUnary(grpc::CallbackServerContext* context,
                                        const char* method, const absl::Status& status);

  ServiceContext& context_;
};

}  // namespace wave

#endif  // WAVE_SERVER_WAVE_SERVICE_IMPL_H_
