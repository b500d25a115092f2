// Data-parallel template learning on LibTorch's own distributed engine
// (c10d): a ProcessGroupGloo over a TCPStore rendezvous, set up from the
// environment variables torchrun sets, so the same binary runs under a
// launcher here, a Kubernetes Indexed Job or Slurm.
#ifndef WAVE_CORE_LEARN_DATA_PARALLEL_H_
#define WAVE_CORE_LEARN_DATA_PARALLEL_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/model/train_loop.h"

namespace wave {

struct DistributedEnv {
  int64_t rank = 0, world = 1, local_rank = 0;
  std::string master_addr;
  int master_port = 0;
};

// RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT (LOCAL_RANK optional) through
// `getenv`; nullopt when WORLD_SIZE is unset or 1. INVALID_ARGUMENT, naming
// the variable, for anything malformed or out of range.
absl::StatusOr<std::optional<DistributedEnv>> DistributedEnvFrom(
    const std::function<const char*(const char*)>& getenv);

struct ProcessGroupOptions {
  absl::Duration rendezvous_timeout = absl::Seconds(120);  // every rank must join by then
  // A collective that does not complete (a peer stalled) fails after this; a
  // peer that exits fails it at once (its connections close).
  absl::Duration collective_timeout = absl::Seconds(120);
};

// The processes of one job, connected. Every rank holds one; rank 0 also
// hosts the rendezvous store.
class ProcessGroup {
 public:
  static absl::StatusOr<std::unique_ptr<ProcessGroup>> Connect(const DistributedEnv& env,
                                                               const ProcessGroupOptions& o);
  ~ProcessGroup();

  // For TrainLoopOptions: gradients summed in one flat buffer per call
  // (one bucket), numbers summed as doubles.
  Replicas replicas();
  absl::Status Barrier();
  int64_t rank() const;
  int64_t world() const;

 private:
  struct State;
  explicit ProcessGroup(std::unique_ptr<State> state);
  absl::Status AllReduceSum(at::Tensor& flat, const char* what);
  std::unique_ptr<State> state_;
};

}  // namespace wave

#endif  // WAVE_CORE_LEARN_DATA_PARALLEL_H_
