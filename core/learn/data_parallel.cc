#include "core/learn/data_parallel.h"

#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/base/status_macros.h"

namespace wave {
namespace {

absl::StatusOr<int64_t> IntVar(const std::function<const char*(const char*)>& getenv,
                               const char* name, int64_t low, int64_t high) {
  const char* text = getenv(name);
  if (text == nullptr || *text == '\0') {
    return absl::InvalidArgumentError(absl::StrCat(name, ": not set (WORLD_SIZE is)"));
  }
  int64_t v;
  if (!absl::SimpleAtoi(text, &v) || v < low || v > high) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": '", text, "' is not an integer in [", low, ", ", high, "]"));
  }
  return v;
}

std::chrono::milliseconds Millis(absl::Duration d) {
  return std::chrono::milliseconds(absl::ToInt64Milliseconds(d));
}

bool IsLoopback(const std::string& host) {
  return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1";
}

std::string AliveKey(int64_t rank) { return absl::StrCat("wave/alive/", rank); }

}  // namespace

absl::StatusOr<std::optional<DistributedEnv>> DistributedEnvFrom(
    const std::function<const char*(const char*)>& getenv) {
  const char* world = getenv("WORLD_SIZE");
  if (world == nullptr || *world == '\0' || std::string(world) == "1") return std::nullopt;
  DistributedEnv env;
  ASSIGN_OR_RETURN(env.world, IntVar(getenv, "WORLD_SIZE", 1, 1 << 16));
  ASSIGN_OR_RETURN(env.rank, IntVar(getenv, "RANK", 0, env.world - 1));
  if (const char* local = getenv("LOCAL_RANK"); local != nullptr && *local != '\0') {
    ASSIGN_OR_RETURN(env.local_rank, IntVar(getenv, "LOCAL_RANK", 0, env.world - 1));
  }
  const char* addr = getenv("MASTER_ADDR");
  if (addr == nullptr || *addr == '\0') {
    return absl::InvalidArgumentError("MASTER_ADDR: not set (WORLD_SIZE is)");
  }
  env.master_addr = addr;
  ASSIGN_OR_RETURN(const int64_t port, IntVar(getenv, "MASTER_PORT", 1, 65535));
  env.master_port = static_cast<int>(port);
  return env;
}

struct ProcessGroup::State {
  DistributedEnv env;
  ProcessGroupOptions options;
  c10::intrusive_ptr<c10d::TCPStore> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
  // A heartbeat in the store, so that a failed collective can name the rank
  // that stopped.
  std::thread heartbeat;
  std::mutex mu;
  std::condition_variable stop_cv;
  bool stop = false;

  void Beat() {
    int64_t count = 0;
    std::unique_lock<std::mutex> lock(mu);
    while (!stop) {
      lock.unlock();
      try {
        store->set(AliveKey(env.rank), std::vector<uint8_t>(1, static_cast<uint8_t>(++count)));
      } catch (const std::exception&) {
        // The store's host is gone; the next collective reports it.
      }
      lock.lock();
      stop_cv.wait_for(lock, std::chrono::milliseconds(300), [&] { return stop; });
    }
  }

  // The ranks whose heartbeat stood still over a second, or the store's host
  // when the store itself cannot be reached.
  std::string StoppedRanks() {
    try {
      std::map<int64_t, std::vector<uint8_t>> before;
      for (int64_t r = 0; r < env.world; ++r) {
        if (r != env.rank) before[r] = store->get(AliveKey(r));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1200));
      std::vector<int64_t> stopped;
      for (const auto& [r, value] : before) {
        if (store->get(AliveKey(r)) == value) stopped.push_back(r);
      }
      if (stopped.empty()) return "no rank has stopped: a peer is slow or the network failed";
      return absl::StrCat("rank ", absl::StrJoin(stopped, ", "), " stopped");
    } catch (const std::exception&) {
      return "rank 0, which hosts the rendezvous store, is gone";
    }
  }
};

ProcessGroup::ProcessGroup(std::unique_ptr<State> state) : state_(std::move(state)) {}

ProcessGroup::~ProcessGroup() {
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->stop = true;
  }
  state_->stop_cv.notify_all();
  if (state_->heartbeat.joinable()) state_->heartbeat.join();
}

absl::StatusOr<std::unique_ptr<ProcessGroup>> ProcessGroup::Connect(
    const DistributedEnv& env, const ProcessGroupOptions& o) {
  auto state = std::make_unique<State>();
  state->env = env;
  state->options = o;
  c10d::TCPStoreOptions store_options;
  store_options.port = static_cast<uint16_t>(env.master_port);
  store_options.isServer = env.rank == 0;
  store_options.numWorkers = static_cast<size_t>(env.world);
  // Joining is checked by the process group's own rendezvous, which honours
  // the timeout (the store's wait for workers does not).
  store_options.waitWorkers = false;
  store_options.timeout = Millis(o.rendezvous_timeout);
  try {
    state->store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, store_options);
    // Every rank checks in; the last one to arrive opens the gate. Waiting
    // on the gate honours the rendezvous timeout (Gloo's own connection
    // set-up would wait for the collective timeout instead).
    if (state->store->add("wave/joined", 1) == env.world) {
      state->store->set("wave/all_joined", std::vector<uint8_t>(1, 1));
    }
    state->store->wait({"wave/all_joined"}, Millis(o.rendezvous_timeout));
    auto gloo = c10d::ProcessGroupGloo::Options::create(Millis(o.collective_timeout));
    gloo->devices.push_back(
        IsLoopback(env.master_addr)
            ? c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1")
            : c10d::ProcessGroupGloo::createDefaultDevice());
    state->group = c10::make_intrusive<c10d::ProcessGroupGloo>(
        state->store, static_cast<int>(env.rank), static_cast<int>(env.world), gloo);
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat(
        "rank ", env.rank, " of ", env.world, ": rendezvous at ", env.master_addr, ":",
        env.master_port, " failed within ", absl::FormatDuration(o.rendezvous_timeout), ": ",
        e.what()));
  }
  State* raw = state.get();
  state->store->set(AliveKey(env.rank), std::vector<uint8_t>(1, 0));
  state->heartbeat = std::thread([raw] { raw->Beat(); });
  return std::unique_ptr<ProcessGroup>(new ProcessGroup(std::move(state)));
}

int64_t ProcessGroup::rank() const { return state_->env.rank; }
int64_t ProcessGroup::world() const { return state_->env.world; }

absl::Status ProcessGroup::AllReduceSum(at::Tensor& flat, const char* what) {
  try {
    std::vector<at::Tensor> tensors = {flat};
    state_->group->allreduce(tensors)->wait();
    return absl::OkStatus();
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat(
        "rank ", state_->env.rank, " of ", state_->env.world, ": ", what, " failed (",
        state_->StoppedRanks(), "): ", std::string(e.what()).substr(0, 300)));
  }
}

absl::Status ProcessGroup::Barrier() {
  at::Tensor one = at::ones({1}, at::kDouble);
  return AllReduceSum(one, "barrier");
}

Replicas ProcessGroup::replicas() {
  Replicas r;
  r.rank = state_->env.rank;
  r.world = state_->env.world;
  r.sum_gradients = [this](const std::vector<at::Tensor>& params) -> absl::Status {
    std::vector<at::Tensor> grads;
    for (const auto& p : params) {
      grads.push_back(p.grad().defined() ? p.grad().reshape(-1) : at::zeros({p.numel()}));
    }
    at::Tensor flat = at::cat(grads);  // one bucket: one collective per step
    RETURN_IF_ERROR(AllReduceSum(flat, "gradient allreduce"));
    int64_t offset = 0;
    for (const auto& p : params) {
      if (p.grad().defined()) p.mutable_grad().view(-1).copy_(flat.narrow(0, offset, p.numel()));
      offset += p.numel();
    }
    return absl::OkStatus();
  };
  r.sum = [this](double x) -> absl::StatusOr<double> {
    at::Tensor t = at::full({1}, x, at::kDouble);
    RETURN_IF_ERROR(AllReduceSum(t, "loss allreduce"));
    return t.item<double>();
  };
  return r;
}

}  // namespace wave
