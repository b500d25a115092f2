// health, banks, describe.
#include <cstdio>
#include <map>
#include <string>

#include "absl/strings/str_join.h"

#include "client/commands.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "wave/v1/wave.grpc.pb.h"

namespace wave {
namespace {

int Fail(const grpc::Status& status) {
  std::fprintf(stderr, "wave-client: %s\n", DescribeStatus(status).c_str());
  return 1;
}

// A channel that cannot be made (unreadable TLS files, say) is reported,
// never a silent exit 1.
absl::StatusOr<std::shared_ptr<grpc::Channel>> ConnectOrReport(
    const ConnectionOptions& connection) {
  auto channel = Connect(connection);
  if (!channel.ok()) {
    std::fprintf(stderr, "wave-client: %s\n", std::string(channel.status().message()).c_str());
  }
  return channel;
}

void PrintBank(const v1::BankInfo& b) {
  std::printf("bank %s (version %s)%s\n", b.name().c_str(), b.version().c_str(),
              b.is_default() ? " [default]" : "");
  std::printf("  sha256        %s\n", b.sha256().c_str());
  std::printf("  geometry      image %lldx%lld x%lld channels, patch %lld, tile %lld, "
              "head dim %lld, mlp ratio %lld\n",
              (long long)b.image_size(), (long long)b.image_size(), (long long)b.channels(),
              (long long)b.patch(), (long long)b.tile(), (long long)b.head_dim(),
              (long long)b.mlp_ratio());
  std::printf("  templates     %lld per kind, %lld parameters\n",
              (long long)b.templates_per_kind(), (long long)b.template_params());
  std::printf("  ancestry      depth %lld width %lld\n", (long long)b.ancestry().depth(),
              (long long)b.ancestry().width());
  for (const auto& a : b.auxiliaries()) {
    std::printf("  auxiliary     depth %lld width %lld\n", (long long)a.depth(),
                (long long)a.width());
  }
  std::printf("  valid targets width a multiple of %lld up to %lld, depth 1..%lld, "
              "at most %lld parameters\n",
              (long long)b.width_step(), (long long)b.max_width(), (long long)b.max_depth(),
              (long long)b.max_params());
  std::printf("  normalization mean %s, std %s (per channel)\n",
              absl::StrJoin(b.channel_mean(), ", ").c_str(),
              absl::StrJoin(b.channel_std(), ", ").c_str());
  if (b.class_names_size() > 0) {
    std::printf("  classes       %s\n", absl::StrJoin(b.class_names(), ", ").c_str());
  }
  std::printf("  device        %s\n", b.device().c_str());
  std::printf("  fit precision %s (when a request sets none)\n", b.fit_precision().c_str());
  // Sorted: a protobuf map has no order of its own.
  const std::map<std::string, std::string> provenance(b.provenance().begin(),
                                                      b.provenance().end());
  for (const auto& [k, v] : provenance) std::printf("  %-13s %s\n", k.c_str(), v.c_str());
}

}  // namespace

int RunHealth(const ConnectionOptions& connection, const std::string& service) {
  auto channel = ConnectOrReport(connection);
  if (!channel.ok()) return 1;
  auto stub = grpc::health::v1::Health::NewStub(*channel);
  grpc::ClientContext context;
  ConnectionOptions quick = connection;
  if (quick.deadline_s <= 0) quick.deadline_s = 5;
  quick.token.clear();  // health needs no token, like a Kubernetes probe
  Prepare(quick, &context);
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status status = stub->Check(&context, request, &response);
  if (!status.ok()) return Fail(status);
  const bool serving = response.status() == grpc::health::v1::HealthCheckResponse::SERVING;
  std::printf("%s\n", serving ? "SERVING" : "NOT_SERVING");
  return serving ? 0 : 2;
}

int RunBanks(const ConnectionOptions& connection) {
  auto channel = ConnectOrReport(connection);
  if (!channel.ok()) return 1;
  auto stub = v1::WaveInit::NewStub(*channel);
  grpc::ClientContext context;
  Prepare(connection, &context);
  v1::ListBanksResponse response;
  grpc::Status status = stub->ListBanks(&context, v1::ListBanksRequest(), &response);
  if (!status.ok()) return Fail(status);
  for (const auto& bank : response.banks()) PrintBank(bank);
  return 0;
}

int RunDescribe(const ConnectionOptions& connection, const std::string& bank) {
  auto channel = ConnectOrReport(connection);
  if (!channel.ok()) return 1;
  auto stub = v1::WaveInit::NewStub(*channel);
  grpc::ClientContext context;
  Prepare(connection, &context);
  v1::DescribeBankRequest request;
  request.set_name(bank);
  v1::BankInfo response;
  grpc::Status status = stub->DescribeBank(&context, request, &response);
  if (!status.ok()) return Fail(status);
  PrintBank(response);
  return 0;
}

}  // namespace wave
