#include "mmdg/train/gradient_reducer.h"

#include <torch/torch.h>

#include <mutex>
#include <stdexcept>
#include <string>
#include <unordered_map>

#include "mmdg/util/process_group.h"

namespace mmdg::train {

namespace {
thread_local GradientReducer* g_active = nullptr;
}

struct GradientReducer::State {
  struct Slot {
    std::size_t bucket = 0;
    std::int64_t offset = 0, numel = 0;
  };
  struct Bucket {
    torch::Tensor buffer;  // (n,) the bucket's gradients, flat, on the CPU; the last bucket ends with the loss
    std::size_t members = 0, arrived = 0;
    bool full = false;
    dist::PendingSum sum;
  };

  const dist::ProcessGroup& group;
  std::vector<torch::Tensor> params;
  std::vector<unsigned> hooks;
  std::vector<Slot> slots;  // by params' index
  std::vector<Bucket> buckets;
  std::unordered_map<const void*, std::size_t> index;  // a tensor's data -> its params' index

  std::mutex mutex;  // the hooks may run on the autograd engine's threads
  bool armed = false;
  std::vector<bool> seen;
  std::size_t next_to_start = 0, started_during_backward = 0;
  bool reduced = false;
  double loss = 0;

  explicit State(const dist::ProcessGroup& g) : group(g) {}

  void start_ready_buckets() {
    while (next_to_start < buckets.size() && buckets[next_to_start].full) {
      const auto k = next_to_start++;
      buckets[k].sum = group.start_sum(buckets[k].buffer, "all-reduce of gradient bucket " + std::to_string(k + 1) +
                                                              " of " + std::to_string(buckets.size()));
    }
  }

  void arrived(std::size_t i, const torch::Tensor& grad) {
    std::lock_guard<std::mutex> lock(mutex);
    if (!armed) return;  // a gradient outside backward() (e.g. torch::autograd::grad)
    torch::NoGradGuard no_grad;
    const Slot& s = slots[i];
    Bucket& b = buckets[s.bucket];
    auto slice = b.buffer.slice(0, s.offset, s.offset + s.numel);
    if (seen[i]) {
      // one backward pass hands a leaf its summed gradient once; a second one would be in a started sum
      if (b.full) throw std::logic_error("GradientReducer: a second gradient of a tensor after its bucket started");
      slice.add_(grad.detach().reshape(-1).to(slice.options()));
      return;
    }
    seen[i] = true;
    slice.copy_(grad.detach().reshape(-1));
    if (++b.arrived == b.members) {
      b.full = true;
      start_ready_buckets();
    }
  }
};

GradientReducer::GradientReducer(std::vector<torch::Tensor> params, const dist::ProcessGroup& group,
                                 GradientReducerOptions options)
    : state_(std::make_unique<State>(group)) {
  auto& s = *state_;
  s.params = std::move(params);
  s.slots.resize(s.params.size());
  s.seen.assign(s.params.size(), false);
  const auto capacity = [&](std::size_t bucket) {
    const double mb = bucket == 0 ? std::min(options.first_bucket_mb, options.bucket_mb) : options.bucket_mb;
    return static_cast<std::int64_t>(mb * 1024 * 1024);
  };
  // in reverse order: the last layers' gradients come first
  std::int64_t bytes = 0, length = 0;
  torch::ScalarType dtype = torch::kFloat;
  const auto close_bucket = [&](bool last) {
    State::Bucket b;
    b.buffer = torch::zeros({length + (last ? 1 : 0)}, torch::TensorOptions().dtype(dtype));
    s.buckets.push_back(std::move(b));
    bytes = length = 0;
  };
  std::size_t members = 0;
  for (std::size_t n = s.params.size(); n-- > 0;) {
    const auto& p = s.params[n];
    if (!s.index.emplace(p.unsafeGetTensorImpl(), n).second)
      throw std::logic_error("GradientReducer: a tensor is listed twice");
    const auto size = static_cast<std::int64_t>(p.numel() * p.element_size());
    if (members > 0 && (bytes + size > capacity(s.buckets.size()) || p.scalar_type() != dtype)) {
      close_bucket(false);
      s.buckets.back().members = members;
      members = 0;
    }
    dtype = p.scalar_type();
    s.slots[n] = {s.buckets.size(), length, p.numel()};
    length += p.numel();
    bytes += size;
    ++members;
  }
  close_bucket(true);
  s.buckets.back().members = members;
  for (std::size_t i = 0; i < s.params.size(); ++i) {
    State* state = state_.get();
    s.hooks.push_back(s.params[i].register_hook([state, i](const torch::Tensor& grad) { state->arrived(i, grad); }));
  }
}

GradientReducer::~GradientReducer() {
  for (std::size_t i = 0; i < state_->params.size(); ++i) state_->params[i].remove_hook(state_->hooks[i]);
}

std::size_t GradientReducer::num_buckets() const { return state_->buckets.size(); }
std::size_t GradientReducer::started_during_backward() const { return state_->started_during_backward; }

double GradientReducer::backward(const torch::Tensor& loss, double loss_value, const std::vector<torch::Tensor>& params) {
  auto& s = *state_;
  for (const auto& p : params)
    if (!s.index.count(p.unsafeGetTensorImpl()))
      throw std::logic_error("GradientReducer::backward: a tensor the reducer was not built with");
  {
    torch::NoGradGuard no_grad;
    std::lock_guard<std::mutex> lock(s.mutex);
    for (auto& p : s.params)
      if (p.grad().defined()) p.mutable_grad() = torch::Tensor();
    for (auto& b : s.buckets) {
      b.buffer.zero_();
      b.arrived = 0;
      b.full = b.members == 0;
    }
    s.buckets.back().buffer[-1].fill_(loss_value);
    s.seen.assign(s.params.size(), false);
    s.next_to_start = 0;
    s.armed = true;
  }
  try {
    loss.backward();
  } catch (...) {
    std::lock_guard<std::mutex> lock(s.mutex);
    s.armed = false;
    throw;
  }
  {
    std::lock_guard<std::mutex> lock(s.mutex);
    s.armed = false;
    s.started_during_backward = s.next_to_start;
    for (auto& b : s.buckets) b.full = true;  // the rest: tensors without a gradient here keep zeros
    s.start_ready_buckets();
  }
  for (auto& b : s.buckets) b.sum.wait();
  torch::NoGradGuard no_grad;
  const double world = static_cast<double>(s.group.size());
  for (std::size_t i = 0; i < s.params.size(); ++i) {
    auto& p = s.params[i];
    const auto& slot = s.slots[i];
    p.mutable_grad() = s.buckets[slot.bucket].buffer.slice(0, slot.offset, slot.offset + slot.numel)
                           .view(p.sizes())
                           .to(p.device(), p.scalar_type(), /*non_blocking=*/false, /*copy=*/true)
                           .div_(world);
  }
  s.loss = s.buckets.back().buffer[-1].item<double>() / world;
  s.reduced = true;
  return s.loss;
}

GradientReducer::Scope::Scope(GradientReducer& reducer) : reducer_(reducer), previous_(g_active) {
  reducer_.state_->reduced = false;
  g_active = &reducer_;
}
GradientReducer::Scope::~Scope() { g_active = previous_; }
bool GradientReducer::Scope::reduced() const { return reducer_.state_->reduced; }
double GradientReducer::Scope::loss() const { return reducer_.state_->loss; }

GradientReducer* GradientReducer::active() { return g_active; }

}  // namespace mmdg::train
