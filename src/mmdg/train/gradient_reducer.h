// Data-parallel gradients overlapping the backward pass, as DistributedDataParallel's reducer does:
// the trainable tensors are grouped into buckets (in reverse order, roughly the order in which the
// backward pass produces their gradients); a hook on each tensor copies its gradient into its
// bucket, and a full bucket's sum over the processes starts at once on the process group's
// threads while the backward pass goes on. After the backward pass the remaining buckets are
// started, every sum is waited for, and each tensor's .grad becomes the mean over the processes.
//
// Buckets start strictly in their index order on every process (a full bucket waits for the ones
// before it), so the processes' sums pair up even when their gradients arrive in different orders
// or a tensor gets no gradient on some process (its slice stays zero).
#pragma once
#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <vector>

namespace mmdg::dist {
class ProcessGroup;
}

namespace mmdg::train {

struct GradientReducerOptions {
  double bucket_mb = 25;       // bucket capacity (MiB)
  double first_bucket_mb = 1;  // the first bucket's, smaller so that the first sum starts early
};

class GradientReducer {
 public:
  // `params`: every trainable tensor (the optimizer's), all on one device.
  GradientReducer(std::vector<torch::Tensor> params, const dist::ProcessGroup& group, GradientReducerOptions options);
  ~GradientReducer();
  GradientReducer(const GradientReducer&) = delete;
  GradientReducer& operator=(const GradientReducer&) = delete;

  // loss.backward(), leaving in each tensor's .grad the mean over the processes of the gradient
  // (replaced, not accumulated; zeros for a tensor that got none anywhere), and returning the mean
  // of `loss_value` (it travels in the last bucket). `params`: the tensors the caller asks for,
  // each one of the reducer's (std::logic_error otherwise).
  double backward(const torch::Tensor& loss, double loss_value, const std::vector<torch::Tensor>& params);

  std::size_t num_buckets() const;
  // How many buckets the last backward() started while the backward pass was still running.
  std::size_t started_during_backward() const;

  // Makes `reducer` the one that backward_step (strategy.h) uses on this thread while the scope
  // lives: the trainer opens one around a strategy's step. reduced() then says whether the step's
  // gradients went through it.
  class Scope {
   public:
    explicit Scope(GradientReducer& reducer);
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;
    bool reduced() const;
    double loss() const;  // the mean loss of the step's backward(), when reduced()

   private:
    GradientReducer& reducer_;
    GradientReducer* previous_;
  };
  // The reducer of this thread's open Scope, or nullptr.
  static GradientReducer* active();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace mmdg::train
