// wave-server's options: plain structs with defaults, filled from flags.
#ifndef WAVE_SERVER_OPTIONS_H_
#define WAVE_SERVER_OPTIONS_H_

#include <cstdint>
#include <string>
#include <vector>

namespace wave {

// The fit where a request leaves it unset: at most 400 steps, the held-out
// accuracy every 25, stop after 4 measurements without improvement, return
// the best. Chosen on validation images (research/results/early-stopping,
// research/results/main/val-fit-steps.csv): on a task the bank never saw accuracy
// rises to 400 steps, which early stopping reaches within 0.4-1.2 points;
// on the bank's own classes it peaks near 50 steps at the larger sizes and
// falls after, which early stopping returns.
inline constexpr int64_t kDefaultFitSteps = 400;
inline constexpr int64_t kDefaultEvalEvery = 25;
inline constexpr int64_t kDefaultPatience = 4;

struct Limits {
  int64_t max_target_params = 200'000'000;
  int64_t max_targets = 8;                // sizes in one call
  int64_t max_call_params = 400'000'000;  // their parameters together
  int64_t max_depth = 64;
  int64_t max_width = 2048;
  int64_t max_classes = 10'000;
  int64_t max_fit_steps = 5'000;
  int64_t max_batch = 1024;
  int64_t max_samples = 20'000;
  int64_t max_sample_bytes = 256ll << 20;  // images + labels uploaded
  int64_t max_message_bytes = 8 << 20;     // one gRPC message, both directions
  double max_lr = 1.0;                     // fit.lr and fit.head_lr
};

// A file chunk: at least this, at most half a message (the rest of the
// message is framing); the one rule for the --chunk_bytes flag and a
// request's output.chunk_bytes.
inline constexpr int64_t kMinChunkBytes = 4096;
inline bool ChunkBytesAllowed(int64_t bytes, const Limits& limits) {
  return bytes >= kMinChunkBytes && bytes <= limits.max_message_bytes / 2;
}

// What slow, idle or numerous clients may hold, and for how long. Every
// bound is stated in docs/RELIABILITY.md and tested end to end.
struct ClientBounds {
  // The most one client (server/auth.h's identity: its token, or its address
  // when tokens are off) may hold of each budget below and of the fit slots
  // and queue, as a fraction of it; a client holding nothing may always take
  // one call's worth. A quarter: one client cannot keep three others out.
  double max_client_share = 0.25;
  int max_uploading_calls = 64;  // calls between their start and the end of their upload
  // Few-shot bytes held by all calls together, from the header (which
  // reserves what it announces) until the call's fit ends.
  int64_t upload_budget_bytes = 512ll << 20;
  // Weight bytes held by all calls together, from admission to the fit
  // queue until the download ends.
  int64_t download_budget_bytes = 1ll << 30;
  double header_timeout_s = 10;       // from the call's start to its header
  double upload_idle_timeout_s = 10;  // between two upload messages
  double upload_timeout_s = 120;      // the whole upload
  double write_stall_timeout_s = 20;  // a message the client does not take
  // The download must average at least this rate, after a grace of
  // write_stall_timeout_s: a reader that trickles cannot hold the weights.
  double min_download_bytes_per_s = 1 << 20;
  double max_fit_s = 900;  // one fit's wall time, on its slot
  // Health Watch streams open at once, server-wide (each client at most
  // max_client_share of them).
  int max_watch_streams = 256;
  // A connection with no call in flight is closed after this long.
  double connection_idle_timeout_s = 300;
  // Calls in flight on one connection (HTTP/2 streams).
  int max_streams_per_connection = 256;
};

// The result cache (server/result_cache.h).
struct CacheOptions {
  int64_t max_bytes = 256ll << 20;  // in memory; 0: no cache (and no resumed downloads)
  std::string dir;                  // empty: memory only
  int64_t max_dir_bytes = 4ll << 30;
};

struct ServerOptions {
  std::string address = "127.0.0.1:50051";  // loopback unless set (see --insecure)
  int metrics_port = 9090;      // 0: no metrics endpoint
  std::string metrics_address;  // host:port; empty: the API's host, metrics_port
  std::vector<std::string> bank_paths;
  std::string device = "auto";  // auto | cpu | cuda
  // A fit's arithmetic when the request sets none: auto | f32 | bf16. auto:
  // bf16 where the device has it (core/model/precision.h), else f32. auto by
  // default: on validation bf16 was within 0.5 points of f32 at 9x192 and
  // 12x384, after the fit and after one epoch, seeds 1-5
  // (research/results/precision/README.md).
  std::string fit_precision = "auto";
  int fit_slots = 1;            // fits that run at once
  int max_queued = 4;           // fits that may wait for a slot
  double queue_timeout_s = 30;  // longest wait for a slot
  int torch_threads = 0;        // per fit; 0: cores / fit_slots
  int64_t chunk_bytes = 2 << 20;
  int max_buffered_chunks = 4;  // file chunks queued per call (memory bound)
  double exit_timeout_s = 20;   // grace for in-flight calls on SIGTERM
  std::vector<std::string> auth_tokens;  // empty: no token required
  std::string tls_cert, tls_key, tls_client_ca;
  Limits limits;
  ClientBounds bounds;
  CacheOptions cache;
};

}  // namespace wave

#endif  // WAVE_SERVER_OPTIONS_H_
