#include "mmdg/util/host_sync_counter.h"

#include <ATen/record_function.h>

#include <c10/util/Backtrace.h>

#include <cstdlib>
#include <cstring>
#include <iostream>

namespace mmdg {
namespace {

// The state the callback updates: one counter per thread at a time (the callback is thread-local).
thread_local HostSyncCounts* t_counts = nullptr;
thread_local int t_depth = 0;           // operations of this thread entered and not yet ended
thread_local int t_inside_counted = 0;  // > 0 inside a counted operation: what it does inside
                                        // (masked_select reads its output size) is part of it

struct Entered : at::ObserverContext {
  explicit Entered(bool c) : counted(c) {}
  bool counted;
};

// MMDG_HOST_SYNC_TRACE=1: each counted synchronization is printed to stderr with its call stack.
void trace(const char* name) {
  static const bool on = std::getenv("MMDG_HOST_SYNC_TRACE") != nullptr;
  if (on) std::cerr << "[host sync] " << name << "\n" << c10::get_backtrace(/*frames_to_skip=*/3, /*maximum_number_of_frames=*/24) << "\n";
}

// A copy between devices: aten::to called by the program (not inside another operation, where
// ATen converts dtypes on the same device: log_softmax's toType) with a device that is the CPU (on
// a CPU run it stands for the read back from a GPU) or another device than the source's. Its
// overloads that name a device: to.device (self, device, dtype, non_blocking, copy, memory_format)
// and to.dtype_layout (self, dtype, layout, device, pin_memory, non_blocking, copy, memory_format):
// non_blocking is the second argument after the device in both.
bool is_device_copy(const at::RecordFunction& fn, bool& non_blocking) {
  const auto inputs = fn.inputs();
  int device_at = -1;
  for (std::size_t i = 0; i < inputs.size(); ++i)
    if (inputs[i].isDevice()) device_at = static_cast<int>(i);
  if (device_at < 0 || inputs.empty() || !inputs[0].isTensor()) return false;
  const auto target = inputs[static_cast<std::size_t>(device_at)].toDevice();
  if (!target.is_cpu() && target == inputs[0].toTensor().device()) return false;
  const std::size_t flag = static_cast<std::size_t>(device_at) + 2;
  non_blocking = flag < inputs.size() && inputs[flag].isBool() && inputs[flag].toBool();
  return true;
}

// Which counter an operation adds to (nullptr: none).
std::int64_t* counter_of(const at::RecordFunction& fn) {
  const char* name = fn.name();
  if (std::strcmp(name, "aten::_local_scalar_dense") == 0) return &t_counts->scalar_reads;
  if (std::strcmp(name, "aten::nonzero") == 0 || std::strcmp(name, "aten::masked_select") == 0 ||
      std::strncmp(name, "aten::_unique", 13) == 0 || std::strncmp(name, "aten::unique", 12) == 0)
    return &t_counts->data_dependent;
  bool non_blocking = false;
  if (t_depth == 0 && std::strcmp(name, "aten::to") == 0 && is_device_copy(fn, non_blocking))
    return non_blocking ? &t_counts->async_copies : &t_counts->blocking_copies;
  return nullptr;
}

std::unique_ptr<at::ObserverContext> on_start(const at::RecordFunction& fn) {
  if (t_counts == nullptr) return nullptr;
  std::int64_t* counter = t_inside_counted > 0 ? nullptr : counter_of(fn);
  const bool counted = counter != nullptr && counter != &t_counts->async_copies;
  if (counter != nullptr) ++*counter;
  if (counted) {
    trace(fn.name());
    ++t_inside_counted;
  }
  ++t_depth;
  return std::make_unique<Entered>(counted);
}

void on_end(const at::RecordFunction&, at::ObserverContext* context) {
  if (context == nullptr) return;
  --t_depth;
  if (static_cast<Entered*>(context)->counted) --t_inside_counted;
}

}  // namespace

struct HostSyncCounter::State {
  HostSyncCounts counts;
  HostSyncCounts* previous = nullptr;
  at::CallbackHandle handle = 0;
};

HostSyncCounter::HostSyncCounter() : state_(std::make_unique<State>()) {
  state_->previous = t_counts;
  t_counts = &state_->counts;
  // the thread's outermost counter registers the callback, which counts into the innermost one
  if (state_->previous == nullptr)
    state_->handle = at::addThreadLocalCallback(
        at::RecordFunctionCallback(on_start, on_end).needsInputs(true).scopes({at::RecordScope::FUNCTION}));
}

HostSyncCounter::~HostSyncCounter() {
  if (state_->handle != 0) at::removeCallback(state_->handle);
  t_counts = state_->previous;
}

HostSyncCounts HostSyncCounter::counts() const { return state_->counts; }

void HostSyncCounter::reset() { state_->counts = HostSyncCounts{}; }

}  // namespace mmdg
