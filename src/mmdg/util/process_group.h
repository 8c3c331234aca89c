// Several training processes (ranks) as one run, through PyTorch's own distributed engine (c10d):
// a TCPStore for the rendezvous and ProcessGroupGloo for the collectives, as torchrun's processes
// use them. The environment says who a process is (torchrun's variables): RANK, WORLD_SIZE,
// LOCAL_RANK, MASTER_ADDR, MASTER_PORT; without WORLD_SIZE (or with 1) a process runs alone and
// nothing here is used.
//
// Every collective waits at most the group's timeout: a rank that died makes the others' next
// collective fail at once ("connection closed by peer"), one that hangs makes it fail after the
// timeout; both raise mmdg::Error naming this rank and the operation.
#pragma once
#include <torch/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace mmdg::dist {

// Who this process is, from the environment.
struct Environment {
  int rank = 0, world_size = 1, local_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  bool distributed() const { return world_size > 1; }
};
// Reads RANK, WORLD_SIZE, LOCAL_RANK (default RANK), MASTER_ADDR (default 127.0.0.1),
// MASTER_PORT (default 29500). Throws UsageError naming the variable when one is malformed or
// out of range (RANK >= WORLD_SIZE).
Environment environment();

// A TCP port free on 127.0.0.1 now (the kernel's choice for port 0), for a rendezvous on this
// machine. Throws Error when none can be had.
int free_port();

// Whether this build has the Gloo backend (Debian: libgloo-dev at configure time).
bool available();

class ProcessGroup;

// A sum started by ProcessGroup::start_sum, running on the group's own threads while the caller goes
// on (e.g. the rest of a backward pass).
class PendingSum {
 public:
  PendingSum();
  ~PendingSum();
  PendingSum(PendingSum&&) noexcept;
  PendingSum& operator=(PendingSum&&) noexcept;
  // Blocks until the buffer holds the sum (the time blocked counts as the group's collective time);
  // throws Error naming the rank and the operation when a rank stopped or did not answer in time.
  void wait();

 private:
  friend class ProcessGroup;
  struct Work;
  std::unique_ptr<Work> work_;
};

class ProcessGroup {
 public:
  // Joins the group: rank 0 serves the store at MASTER_ADDR:MASTER_PORT, the others connect; returns
  // when all WORLD_SIZE ranks have joined or throws after `timeout`.
  ProcessGroup(const Environment& env, std::chrono::milliseconds timeout);
  ~ProcessGroup();
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  bool is_main() const { return rank_ == 0; }

  // Sums each tensor over the ranks, in place, in one collective: the tensors (any dtypes the
  // caller keeps consistent across ranks, any device) are flattened into one float64 buffer on the
  // CPU, reduced and written back. Every rank must call it with the same shapes, in the same order.
  void sum(const std::vector<torch::Tensor>& tensors) const;
  // Starts summing `buffer` (a contiguous CPU tensor) over the ranks, in place, and returns at once;
  // the sum is there after wait(). `what` names the operation in errors. Every rank must start the
  // same sums in the same order (the group matches them by their order).
  PendingSum start_sum(const torch::Tensor& buffer, const std::string& what) const;
  // The mean over the ranks (sum / size).
  void average(const std::vector<torch::Tensor>& tensors) const;
  // Blocks until every rank has reached it.
  void barrier() const;
  // This process's share of a pass's items (batches): every size()-th one, from its rank on.
  template <class T>
  std::vector<T> share_of(const std::vector<T>& items) const {
    std::vector<T> mine;
    for (auto i = static_cast<std::size_t>(rank_); i < items.size(); i += static_cast<std::size_t>(size_)) mine.push_back(items[i]);
    return mine;
  }
  // Seconds this process has spent joining the group, in sum() (its copies included), barrier() and
  // PendingSum::wait() (a started sum counts only while the caller waits for it).
  double seconds_in_collectives() const { return seconds_; }

 private:
  friend class PendingSum;
  struct State;
  std::unique_ptr<State> state_;
  int rank_ = 0, size_ = 1;
  std::chrono::milliseconds timeout_;
  mutable double seconds_ = 0;
};

}  // namespace mmdg::dist
