// wave-server: serves WAVE initializations over gRPC (docs/DESIGN.md, "The server").
#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/base/file_util.h"
#include "core/base/flags_usage.h"
#include "core/base/malloc_tuning.h"
#include "core/base/status_macros.h"
#include "server/auth.h"
#include "server/call_watchdog.h"
#include "server/health_service.h"
#include "server/options.h"
#include "server/resource_budget.h"
#include "server/service_context.h"
#include "server/wave_service_impl.h"

// Defaults live in options.h only; the flags read them from there.
static const wave::ServerOptions kDefaults;

ABSL_FLAG(std::string, address, kDefaults.address,
          "gRPC listen address (host:port). Loopback unless set; any other address needs "
          "--auth_token_file, TLS, or --insecure.");
ABSL_FLAG(bool, insecure, false,
          "Allow a non-loopback --address with neither a token nor TLS (a trusted network "
          "only).");
ABSL_FLAG(std::string, probe_address, "",
          "Extra plaintext listener serving only grpc.health.v1 (for Kubernetes probes, which "
          "speak neither TLS nor tokens); empty: none.");
ABSL_FLAG(int32_t, metrics_port, kDefaults.metrics_port,
          "Prometheus metrics HTTP port, on --address's host; 0 turns the endpoint off.");
ABSL_FLAG(std::string, metrics_address, "",
          "Metrics listen address (host:port), when it must differ from --address's host and "
          "--metrics_port.");
ABSL_FLAG(std::string, banks,
          "models/fashion-mnist-vit.safetensors,"
          "models/multi-aux-24/fashion-mnist-vit-multiaux24.safetensors,"
          "models/glyphs/glyphs-vit.safetensors",
          "Template bank files, comma-separated; the first is the default. The second is for "
          "Fashion-MNIST's own classes (research/results/main-multi24); the third takes "
          "3x32x32 RGB images (docs/own-data.md).");
ABSL_FLAG(std::string, device, kDefaults.device,
          "auto | cpu | cuda: where banks live and fits run.");
ABSL_FLAG(std::string, fit_precision, kDefaults.fit_precision,
          "auto | f32 | bf16: a fit's arithmetic when the request sets none. auto: bf16 where "
          "the device has it (a CPU with AVX512-BF16, CUDA), else f32; bf16 fits run 2-6 "
          "times faster (BENCHMARKS.md, section 2).");
ABSL_FLAG(int32_t, fit_slots, kDefaults.fit_slots, "Fits that run at once.");
ABSL_FLAG(int32_t, max_queued, kDefaults.max_queued,
          "Fits that may wait for a slot; more get RESOURCE_EXHAUSTED.");
ABSL_FLAG(double, queue_timeout, kDefaults.queue_timeout_s, "Seconds a fit may wait for a slot.");
ABSL_FLAG(int32_t, threads, kDefaults.torch_threads,
          "LibTorch threads per fit (0: cores / fit_slots).");
ABSL_FLAG(int64_t, chunk_bytes, kDefaults.chunk_bytes, "Default file chunk size in bytes.");
ABSL_FLAG(double, exit_timeout, kDefaults.exit_timeout_s,
          "Seconds in-flight calls get after SIGTERM.");
ABSL_FLAG(std::string, auth_token_file, "",
          "File of bearer tokens clients must send, one per line ('#' lines skipped); each "
          "token is one client for --max_client_share. Also $WAVE_AUTH_TOKEN (one token).");
ABSL_FLAG(std::string, tls_cert, "", "PEM server certificate (TLS on when set).");
ABSL_FLAG(std::string, tls_key, "", "PEM server private key.");
ABSL_FLAG(std::string, tls_client_ca, "", "PEM CA: when set, clients must present certificates.");
ABSL_FLAG(int64_t, max_target_params, kDefaults.limits.max_target_params,
          "Largest target, in parameters.");
ABSL_FLAG(int64_t, max_targets, kDefaults.limits.max_targets, "Most target sizes in one call.");
ABSL_FLAG(int64_t, max_call_params, kDefaults.limits.max_call_params,
          "Most parameters of all of one call's targets together.");
ABSL_FLAG(int64_t, max_depth, kDefaults.limits.max_depth, "Deepest target.");
ABSL_FLAG(int64_t, max_width, kDefaults.limits.max_width, "Widest target.");
ABSL_FLAG(int64_t, max_classes, kDefaults.limits.max_classes, "Most classes of a target.");
ABSL_FLAG(int64_t, max_batch, kDefaults.limits.max_batch, "Largest fit batch a request may ask for.");
ABSL_FLAG(int64_t, max_fit_steps, kDefaults.limits.max_fit_steps, "Most fit steps per request.");
ABSL_FLAG(int64_t, max_samples, kDefaults.limits.max_samples, "Most few-shot samples per request.");
ABSL_FLAG(int64_t, max_sample_bytes, kDefaults.limits.max_sample_bytes,
          "Most few-shot bytes per request.");
ABSL_FLAG(int64_t, max_message_bytes, kDefaults.limits.max_message_bytes,
          "Largest gRPC message, each way.");
ABSL_FLAG(double, max_lr, kDefaults.limits.max_lr,
          "Largest fit.lr and fit.head_lr a request may ask for.");
ABSL_FLAG(double, max_client_share, kDefaults.bounds.max_client_share,
          "The most one client (its token, or its address without tokens) may hold of each "
          "budget, of the uploading calls, of the fit slots and queue and of the Watch "
          "streams, as a fraction of each; a client holding nothing may always make one "
          "call. 1: no per-client bound.");
ABSL_FLAG(int32_t, max_watch_streams, kDefaults.bounds.max_watch_streams,
          "Health Watch streams open at once (each client at most its share).");
ABSL_FLAG(double, connection_idle_timeout, kDefaults.bounds.connection_idle_timeout_s,
          "Seconds a connection with no call in flight stays open.");
ABSL_FLAG(int32_t, max_streams_per_connection, kDefaults.bounds.max_streams_per_connection,
          "Calls in flight on one connection.");
ABSL_FLAG(int32_t, max_uploading_calls, kDefaults.bounds.max_uploading_calls,
          "Initialize calls that may be uploading at once; more get RESOURCE_EXHAUSTED.");
ABSL_FLAG(int64_t, upload_budget_bytes, kDefaults.bounds.upload_budget_bytes,
          "Few-shot bytes all calls may hold together (reserved by each header); a header "
          "past it gets RESOURCE_EXHAUSTED.");
ABSL_FLAG(int64_t, download_budget_bytes, kDefaults.bounds.download_budget_bytes,
          "Weight bytes all calls may hold together, from admission to the end of their "
          "download; a call past it gets RESOURCE_EXHAUSTED.");
ABSL_FLAG(double, header_timeout, kDefaults.bounds.header_timeout_s,
          "Seconds from a call's start to its header.");
ABSL_FLAG(double, upload_idle_timeout, kDefaults.bounds.upload_idle_timeout_s,
          "Seconds a call may wait between upload messages.");
ABSL_FLAG(double, upload_timeout, kDefaults.bounds.upload_timeout_s,
          "Seconds the whole upload may take.");
ABSL_FLAG(double, write_stall_timeout, kDefaults.bounds.write_stall_timeout_s,
          "Seconds a client may leave a response message untaken before it loses the call.");
ABSL_FLAG(double, min_download_rate, kDefaults.bounds.min_download_bytes_per_s,
          "Bytes per second a download must average (after write_stall_timeout's grace).");
ABSL_FLAG(int64_t, cache_bytes, kDefaults.cache.max_bytes,
          "Memory for kept fit results (scalers and head; the same request again, or a "
          "resumed download, is served without a fit); 0: none, and downloads cannot resume.");
ABSL_FLAG(std::string, cache_dir, "",
          "Directory that also keeps the results, so a restart keeps them (a shared volume "
          "shares them between replicas); empty: memory only.");
ABSL_FLAG(int64_t, cache_dir_bytes, kDefaults.cache.max_dir_bytes,
          "Most bytes --cache_dir may hold; the least recently used go first.");
ABSL_FLAG(double, max_fit_seconds, kDefaults.bounds.max_fit_s,
          "Wall seconds one fit may run on its slot.");

namespace wave {
namespace {

// The server's tokens: the file's lines, or $WAVE_AUTH_TOKEN; none: auth off.
absl::StatusOr<std::vector<std::string>> ReadServerTokens(const std::string& path) {
  if (path.empty()) {
    ASSIGN_OR_RETURN(std::string token, ReadBearerToken(""));
    if (token.empty()) return std::vector<std::string>();
    return std::vector<std::string>{token};
  }
  ASSIGN_OR_RETURN(std::string text, ReadSecretFile(path));
  return ParseTokens(text, path);
}

// Whether only this machine can reach `address` (host:port, or unix:PATH).
bool IsLoopback(const std::string& address) {
  if (absl::StartsWith(address, "unix:")) return true;
  const size_t colon = address.rfind(':');
  const std::string host = address.substr(0, colon == std::string::npos ? 0 : colon);
  return host == "localhost" || absl::StartsWith(host, "127.") || host == "[::1]";
}

absl::StatusOr<ServerOptions> OptionsFromFlags() {
  ServerOptions o;
  o.address = absl::GetFlag(FLAGS_address);
  o.metrics_port = absl::GetFlag(FLAGS_metrics_port);
  for (auto part : absl::StrSplit(absl::GetFlag(FLAGS_banks), ',', absl::SkipEmpty())) {
    o.bank_paths.emplace_back(part);
  }
  o.device = absl::GetFlag(FLAGS_device);
  o.fit_precision = absl::GetFlag(FLAGS_fit_precision);
  o.fit_slots = absl::GetFlag(FLAGS_fit_slots);
  o.max_queued = absl::GetFlag(FLAGS_max_queued);
  o.queue_timeout_s = absl::GetFlag(FLAGS_queue_timeout);
  o.torch_threads = absl::GetFlag(FLAGS_threads);
  o.chunk_bytes = absl::GetFlag(FLAGS_chunk_bytes);
  o.exit_timeout_s = absl::GetFlag(FLAGS_exit_timeout);
  o.limits.max_target_params = absl::GetFlag(FLAGS_max_target_params);
  o.limits.max_depth = absl::GetFlag(FLAGS_max_depth);
  o.limits.max_targets = absl::GetFlag(FLAGS_max_targets);
  o.limits.max_call_params = absl::GetFlag(FLAGS_max_call_params);
  o.limits.max_width = absl::GetFlag(FLAGS_max_width);
  o.limits.max_classes = absl::GetFlag(FLAGS_max_classes);
  o.limits.max_batch = absl::GetFlag(FLAGS_max_batch);
  o.limits.max_fit_steps = absl::GetFlag(FLAGS_max_fit_steps);
  o.limits.max_samples = absl::GetFlag(FLAGS_max_samples);
  o.limits.max_sample_bytes = absl::GetFlag(FLAGS_max_sample_bytes);
  o.limits.max_message_bytes = absl::GetFlag(FLAGS_max_message_bytes);
  o.limits.max_lr = absl::GetFlag(FLAGS_max_lr);
  ClientBounds& b = o.bounds;
  b.max_client_share = absl::GetFlag(FLAGS_max_client_share);
  b.max_watch_streams = absl::GetFlag(FLAGS_max_watch_streams);
  b.connection_idle_timeout_s = absl::GetFlag(FLAGS_connection_idle_timeout);
  b.max_streams_per_connection = absl::GetFlag(FLAGS_max_streams_per_connection);
  b.max_uploading_calls = absl::GetFlag(FLAGS_max_uploading_calls);
  b.upload_budget_bytes = absl::GetFlag(FLAGS_upload_budget_bytes);
  b.download_budget_bytes = absl::GetFlag(FLAGS_download_budget_bytes);
  b.header_timeout_s = absl::GetFlag(FLAGS_header_timeout);
  b.upload_idle_timeout_s = absl::GetFlag(FLAGS_upload_idle_timeout);
  b.upload_timeout_s = absl::GetFlag(FLAGS_upload_timeout);
  b.write_stall_timeout_s = absl::GetFlag(FLAGS_write_stall_timeout);
  b.min_download_bytes_per_s = absl::GetFlag(FLAGS_min_download_rate);
  b.max_fit_s = absl::GetFlag(FLAGS_max_fit_seconds);
  o.cache.max_bytes = absl::GetFlag(FLAGS_cache_bytes);
  o.cache.dir = absl::GetFlag(FLAGS_cache_dir);
  o.cache.max_dir_bytes = absl::GetFlag(FLAGS_cache_dir_bytes);
  for (double seconds : {b.header_timeout_s, b.upload_idle_timeout_s, b.upload_timeout_s,
                         b.write_stall_timeout_s, b.min_download_bytes_per_s, b.max_fit_s}) {
    if (!(seconds > 0)) {
      return absl::InvalidArgumentError("every timeout and --min_download_rate must be > 0");
    }
  }
  if (b.max_uploading_calls < 1 || b.upload_budget_bytes < 0 || b.download_budget_bytes < 0) {
    return absl::InvalidArgumentError("--max_uploading_calls must be >= 1 and the budgets >= 0");
  }
  if (!(b.max_client_share > 0 && b.max_client_share <= 1)) {
    return absl::InvalidArgumentError("--max_client_share must be in (0, 1]");
  }
  if (b.max_watch_streams < 1 || b.max_streams_per_connection < 1) {
    return absl::InvalidArgumentError(
        "--max_watch_streams and --max_streams_per_connection must be >= 1");
  }
  o.metrics_address = absl::GetFlag(FLAGS_metrics_address);
  if (o.metrics_address.empty() && o.metrics_port > 0) {
    const size_t colon = o.address.rfind(':');
    o.metrics_address = absl::StrCat(
        colon == std::string::npos ? "0.0.0.0" : o.address.substr(0, colon), ":", o.metrics_port);
  }
  if (o.fit_slots < 1) return absl::InvalidArgumentError("--fit_slots must be >= 1");
  if (!ChunkBytesAllowed(o.chunk_bytes, o.limits)) {
    return absl::InvalidArgumentError(absl::StrCat("--chunk_bytes must be in [", kMinChunkBytes,
                                                   ", max_message_bytes / 2]"));
  }
  if (o.device != "auto" && o.device != "cpu" && o.device != "cuda") {
    return absl::InvalidArgumentError("--device must be auto, cpu or cuda");
  }
  if (!ResolvePrecisionSetting(o.fit_precision, at::Device(at::kCPU), nullptr).ok()) {
    return absl::InvalidArgumentError("--fit_precision must be auto, f32 or bf16");
  }
  ASSIGN_OR_RETURN(o.auth_tokens, ReadServerTokens(absl::GetFlag(FLAGS_auth_token_file)));
  o.tls_cert = absl::GetFlag(FLAGS_tls_cert);
  o.tls_key = absl::GetFlag(FLAGS_tls_key);
  o.tls_client_ca = absl::GetFlag(FLAGS_tls_client_ca);
  if (o.tls_cert.empty() != o.tls_key.empty()) {
    return absl::InvalidArgumentError("--tls_cert and --tls_key go together");
  }
  if (!IsLoopback(o.address) && o.auth_tokens.empty() && o.tls_cert.empty() &&
      !absl::GetFlag(FLAGS_insecure)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "--address=", o.address,
        " is reachable from other machines, but neither --auth_token_file nor --tls_cert is "
        "set: anyone who can reach it could use the server. Set a token or TLS, listen on "
        "loopback (--address=127.0.0.1:PORT), or pass --insecure on a trusted network"));
  }
  return o;
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> Credentials(const ServerOptions& o) {
  if (o.tls_cert.empty()) return grpc::InsecureServerCredentials();
  grpc::SslServerCredentialsOptions ssl(
      o.tls_client_ca.empty() ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
                              : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
  ASSIGN_OR_RETURN(pair.private_key, ReadFileToString(o.tls_key));
  ASSIGN_OR_RETURN(pair.cert_chain, ReadFileToString(o.tls_cert));
  ssl.pem_key_cert_pairs.push_back(pair);
  if (!o.tls_client_ca.empty()) {
    ASSIGN_OR_RETURN(ssl.pem_root_certs, ReadFileToString(o.tls_client_ca));
  }
  return grpc::SslServerCredentials(ssl);
}

sigset_t ControlSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  return set;
}

// SIGHUP rereads the bank files (a new bank rolled out under the same path);
// a file that fails to load leaves its previous bank serving.
void ReloadBanks(ServiceContext& ctx) {
  absl::Status status = ctx.banks.ReloadAll(ctx.options.bank_paths);
  ctx.metrics->RecordReload(status.ok());
  for (const auto& bank : ctx.banks.All()) {
    ctx.metrics->SetBank(bank->name, bank->version, bank->file_sha256);
  }
  if (status.ok()) {
    std::fprintf(stderr, "wave-server: banks reloaded\n");
  } else {
    std::fprintf(stderr, "wave-server: %s\n", std::string(status.message()).c_str());
  }
}

// Waits for SIGTERM or SIGINT, reloading banks on each SIGHUP meanwhile.
int WaitForShutdown(ServiceContext& ctx) {
  const sigset_t set = ControlSignals();
  for (;;) {
    int sig = 0;
    sigwait(&set, &sig);
    if (sig != SIGHUP) return sig;
    ReloadBanks(ctx);
  }
}

// Device, threads, metrics, budgets, watchdog, banks and the fit pool: all a
// call shares, in the order they must start (metrics after LibTorch's
// threads are set).
absl::Status StartContext(ServiceContext& ctx) {
  const ServerOptions& o = ctx.options;
  if (o.device == "cuda" && !at::hasCUDA()) {
    return absl::FailedPreconditionError("--device=cuda but this LibTorch sees no CUDA device");
  }
  ctx.device = (o.device == "cuda" || (o.device == "auto" && at::hasCUDA())) ? "cuda" : "cpu";
  // An explicit bf16 on a device without it runs f32 and says why.
  std::string precision_note;
  ctx.fit_precision =
      *ResolvePrecisionSetting(o.fit_precision, at::Device(ctx.device), &precision_note);
  if (!precision_note.empty()) {
    std::fprintf(stderr, "wave-server: --fit_precision=%s: %s\n", o.fit_precision.c_str(),
                 precision_note.c_str());
  }
  const int cores = std::max(1u, std::thread::hardware_concurrency());
  ctx.torch_threads = o.torch_threads > 0 ? o.torch_threads : std::max(1, cores / o.fit_slots);
  at::set_num_threads(ctx.torch_threads);
  ASSIGN_OR_RETURN(ctx.metrics, Metrics::Create(o.metrics_address));
  Metrics* metrics = ctx.metrics.get();
  auto gauge = [metrics](const char* resource) {
    return [metrics, resource](int64_t amount) { metrics->SetHeld(resource, amount); };
  };
  const double share = o.bounds.max_client_share;
  ctx.uploading_calls = std::make_unique<ResourceBudget>(
      BudgetSpec{"uploading calls", "calls", o.bounds.max_uploading_calls,
                 "--max_uploading_calls", "", share},
      gauge("uploading_calls"));
  ctx.upload_bytes = std::make_unique<ResourceBudget>(
      BudgetSpec{"upload memory", "bytes", o.bounds.upload_budget_bytes, "--upload_budget_bytes",
                 "send fewer samples", share},
      gauge("upload_bytes"));
  ctx.fit_places = std::make_unique<ResourceBudget>(
      BudgetSpec{"fit slots and queue places", "calls", o.fit_slots + o.max_queued,
                 "--fit_slots, --max_queued", "", share},
      gauge("fit_places"));
  ctx.download_bytes = std::make_unique<ResourceBudget>(
      BudgetSpec{"download memory", "bytes", o.bounds.download_budget_bytes,
                 "--download_budget_bytes",
                 "ask for --dtype=f16 or bf16 (half the bytes), fewer sizes per call, or a "
                 "smaller target",
                 share},
      gauge("download_bytes"));
  for (const char* resource :
       {"uploading_calls", "upload_bytes", "fit_places", "download_bytes", "watch_streams"}) {
    metrics->SetHeld(resource, 0);
  }
  ctx.watchdog = std::make_unique<CallWatchdog>();
  ASSIGN_OR_RETURN(ctx.cache, ResultCache::Create(o.cache, metrics));
  metrics->SetCachedBytes(0);
  RETURN_IF_ERROR(ctx.banks.LoadAll(o.bank_paths));
  for (const auto& bank : ctx.banks.All()) {
    metrics->SetBank(bank->name, bank->version, bank->file_sha256);
  }
  ctx.pool = std::make_unique<FitPool>(
      o.fit_slots, o.max_queued, o.queue_timeout_s,
      [metrics](int running, int waiting) { metrics->SetFits(running, waiting); });
  metrics->SetFits(0, 0);
  return absl::OkStatus();
}

// What bounds a connection: no SO_REUSEPORT (a second server on a taken port
// fails to start instead of sharing its traffic and missing its cache and
// resume keys), idle connections closed, streams per connection bounded.
void BoundConnections(const ClientBounds& b, grpc::ServerBuilder& builder) {
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS,
                             static_cast<int>(b.connection_idle_timeout_s * 1000));
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, b.max_streams_per_connection);
}

// Health for "" and `services`, Watch streams bounded per client.
std::unique_ptr<HealthService> MakeHealthService(const ServerOptions& o, Metrics* metrics,
                                                 const char* gauge,
                                                 std::vector<std::string> services) {
  return std::make_unique<HealthService>(
      std::move(services),
      BudgetSpec{"health Watch streams", "streams", o.bounds.max_watch_streams,
                 "--max_watch_streams", "", o.bounds.max_client_share},
      [metrics, gauge](int64_t open) { metrics->SetHeld(gauge, open); });
}

// The API server, serving health for "" and the service's name.
absl::StatusOr<std::unique_ptr<grpc::Server>> StartApiServer(const ServerOptions& o,
                                                             grpc::Service* service,
                                                             HealthService* health, int* port) {
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  ASSIGN_OR_RETURN(auto credentials, Credentials(o));
  grpc::ServerBuilder builder;
  BoundConnections(o.bounds, builder);
  builder.AddListeningPort(o.address, credentials, port);
  builder.RegisterService(service);
  builder.RegisterService(health);
  builder.SetMaxReceiveMessageSize(static_cast<int>(o.limits.max_message_bytes));
  builder.SetMaxSendMessageSize(static_cast<int>(o.limits.max_message_bytes));
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || *port == 0) {
    return absl::UnavailableError(absl::StrCat(
        "cannot listen on ", o.address,
        ": the port is taken (another wave-server?) or the address is not this machine's; "
        "choose another --address"));
  }
  return server;
}

// The plaintext listener for probes: only the default health service.
absl::StatusOr<std::unique_ptr<grpc::Server>> StartProbeServer(const ServerOptions& o,
                                                               const std::string& address,
                                                               HealthService* health) {
  if (address.empty()) return nullptr;
  grpc::ServerBuilder builder;
  BoundConnections(o.bounds, builder);
  int port = 0;
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(health);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || port == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", address,
                                               ": the port is taken or not this machine's"));
  }
  return server;
}

// Probes see NOT_SERVING while fits and downloads in flight finish (up to
// the exit timeout); new calls are refused; then what is left is cancelled.
void Drain(ServiceContext& ctx, grpc::Server& server, HealthService& health,
           grpc::Server* probe_server, HealthService& probe_health) {
  ctx.draining = true;
  health.SetServing(false);
  probe_health.SetServing(false);
  const auto deadline =
      std::chrono::steady_clock::now() +
      std::chrono::milliseconds(static_cast<int64_t>(ctx.options.exit_timeout_s * 1000));
  // Calls in flight include downloads, which run after their fit slot is free.
  while (std::chrono::steady_clock::now() < deadline &&
         (ctx.pool->running() + ctx.pool->waiting() > 0 || ctx.watchdog->watched() > 0)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  health.Shutdown();
  probe_health.Shutdown();
  server.Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  if (probe_server) probe_server->Shutdown(std::chrono::system_clock::now());
  ctx.pool.reset();  // joins the workers once in-flight fits have finished
}

absl::Status Run() {
  // Block the control signals in every thread; main waits for them below.
  const sigset_t signals = ControlSignals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  ServiceContext ctx;
  ASSIGN_OR_RETURN(ctx.options, OptionsFromFlags());
  const ServerOptions& o = ctx.options;
  RETURN_IF_ERROR(StartContext(ctx));
  WaveServiceImpl service(ctx);
  auto health = MakeHealthService(o, ctx.metrics.get(), "watch_streams",
                                  {v1::WaveInit::service_full_name()});
  auto probe_health = MakeHealthService(o, ctx.metrics.get(), "probe_watch_streams", {});
  int port = 0;
  ASSIGN_OR_RETURN(std::unique_ptr<grpc::Server> server,
                   StartApiServer(o, &service, health.get(), &port));
  ASSIGN_OR_RETURN(
      std::unique_ptr<grpc::Server> probe_server,
      StartProbeServer(o, absl::GetFlag(FLAGS_probe_address), probe_health.get()));
  std::fprintf(stderr,
               "wave-server %s listening on port %d (%s, %s fits, %s, %d fit slot(s) x %d threads, "
               "metrics port %d, auth %s), default bank '%s'\n",
               WAVE_VERSION, port, ctx.device.c_str(),
               std::string(PrecisionName(ctx.fit_precision)).c_str(),
               o.tls_cert.empty() ? "plaintext" : "TLS",
               o.fit_slots, ctx.torch_threads, ctx.metrics->port(),
               o.auth_tokens.empty() ? "off" : "on", ctx.banks.default_name().c_str());

  const int sig = WaitForShutdown(ctx);
  std::fprintf(stderr, "wave-server: signal %d, draining for up to %.0f s\n", sig,
               o.exit_timeout_s);
  Drain(ctx, *server, *health, probe_server.get(), *probe_health);
  std::fprintf(stderr, "wave-server: stopped\n");
  return absl::OkStatus();
}

const char kUsage[] =
    "wave-server: serves WAVE weight initialization over gRPC.\n\n"
    "  wave-server                      the bundled banks, on 127.0.0.1:50051\n"
    "  wave-server --banks=A.safetensors,B.safetensors --address=0.0.0.0:50051 \\\n"
    "      --auth_token_file=tokens.txt\n";

// --help's sections, by what an operator sets them for.
const std::vector<FlagGroup> kFlagGroups = {
    {"Listening and security",
     {"address", "auth_token_file", "tls_cert", "tls_key", "tls_client_ca", "insecure",
      "probe_address", "metrics_port", "metrics_address"}},
    {"Banks and compute",
     {"banks", "device", "fit_precision", "fit_slots", "threads", "max_queued", "queue_timeout",
      "max_fit_seconds"}},
    {"Limits of one request (past them: FAILED_PRECONDITION, naming the flag)",
     {"max_target_params", "max_targets", "max_call_params", "max_depth", "max_width",
      "max_classes", "max_batch", "max_fit_steps", "max_samples", "max_sample_bytes",
      "max_message_bytes", "max_lr"}},
    {"What clients may hold, and for how long (past them: RESOURCE_EXHAUSTED or "
     "DEADLINE_EXCEEDED; docs/RELIABILITY.md)",
     {"max_client_share", "max_uploading_calls", "upload_budget_bytes", "download_budget_bytes",
      "max_watch_streams", "max_streams_per_connection", "connection_idle_timeout",
      "header_timeout", "upload_idle_timeout", "upload_timeout", "write_stall_timeout",
      "min_download_rate"}},
    {"Result cache", {"cache_bytes", "cache_dir", "cache_dir_bytes"}},
    {"Output and shutdown", {"chunk_bytes", "exit_timeout"}},
};

}  // namespace
}  // namespace wave

int main(int argc, char** argv) {
  if (wave::WantsHelp(argc, argv)) {
    std::fputs(wave::GroupedHelp(wave::kUsage, wave::kFlagGroups, "server/main.cc").c_str(),
               stdout);
    return 0;
  }
  absl::SetProgramUsageMessage(wave::kUsage);
  wave::ShowEveryFlagInHelp();
  absl::ParseCommandLine(argc, argv);
  wave::KeepLargeAllocationsInHeap();
  absl::Status status = wave::Run();
  if (!status.ok()) {
    std::fprintf(stderr, "wave-server: %s\n", std::string(status.message()).c_str());
    return 1;
  }
  return 0;
}
