// Counts, while alive, the operations of the calling thread that make the host wait for a device
// (GPU) queue to drain: reads of a tensor's value into a C++ number (`.item()`, `bool(tensor)`:
// aten::_local_scalar_dense), blocking copies between devices (`.to(device)`, `.cpu()` without
// non_blocking: LibTorch synchronizes the stream after such a copy, in both directions) and
// operations whose output size depends on the data (nonzero, boolean indexing, masked_select,
// unique: the size is read back). It counts what the code asks for, so a CPU-only run measures the
// synchronizations a GPU run would make (on a CPU run a copy's direction cannot be told: a
// `.to(device_)` counts like a `.to(kCPU)`). Uses LibTorch's RecordFunction callbacks (the
// profiler's mechanism), thread-local: operations of other threads (data loaders, the autograd
// engine's device threads) are not counted. Counters nest (destroyed in reverse order): the
// innermost one of a thread counts. MMDG_HOST_SYNC_TRACE=1 in the environment prints each counted
// synchronization with its call stack (to find where one comes from).
#pragma once
#include <cstdint>
#include <memory>

namespace mmdg {

struct HostSyncCounts {
  std::int64_t scalar_reads = 0;     // .item() and friends
  std::int64_t blocking_copies = 0;  // .to(<device>) with non_blocking = false
  std::int64_t async_copies = 0;     // .to(<device>, ..., non_blocking = true): no wait
  std::int64_t data_dependent = 0;   // nonzero, masked_select, unique
  std::int64_t syncs() const { return scalar_reads + blocking_copies + data_dependent; }
};

class HostSyncCounter {
 public:
  HostSyncCounter();
  ~HostSyncCounter();
  HostSyncCounter(const HostSyncCounter&) = delete;
  HostSyncCounter& operator=(const HostSyncCounter&) = delete;

  HostSyncCounts counts() const;
  void reset();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace mmdg
