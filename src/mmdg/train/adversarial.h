// Domain-adversarial pieces shared by the SSDG and SSAN strategies: the gradient reversal layer
// (identity forward, -coefficient * gradient backward) with the reference codes' ramp of the
// coefficient, and a domain discriminator MLP. Letters: B batch, D feature width, N domains.
#pragma once
#include <torch/nn/cloneable.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <cstdint>

namespace mmdg::train {

// x unchanged; the gradient flowing back through it is multiplied by -coefficient.
torch::Tensor reverse_gradient(const torch::Tensor& x, double coefficient);

// The coefficient at `progress` in [0, 1] of training: 2 / (1 + exp(-10 p)) - 1, from 0 to ~1
// (SSDG's and SSAN's GRL schedule, p = iteration / max_iteration).
double reversal_coefficient(double progress);

struct DomainDiscriminatorOptions {
  DomainDiscriminatorOptions(std::int64_t in, std::int64_t domains) : in_(in), domains_(domains) {}
  TORCH_ARG(std::int64_t, in);
  TORCH_ARG(std::int64_t, domains);
  TORCH_ARG(std::int64_t, hidden) = 512;
  TORCH_ARG(double, dropout) = 0.5;
  // SSDG: fc1 ~ N(0, 0.01), fc2 ~ N(0, 0.3), biases 0; false keeps PyTorch's default Linear init (SSAN)
  TORCH_ARG(bool, normal_init) = true;
  TORCH_ARG(double, init_std_hidden) = 0.01;
  TORCH_ARG(double, init_std_out) = 0.3;
};

// SSDG's discriminator (DGFAS.py): 512 wide, the normal init above.
DomainDiscriminatorOptions ssdg_discriminator(std::int64_t in, std::int64_t domains);
// SSAN's (networks/SSAN_R.py): 256 wide, PyTorch's default init.
DomainDiscriminatorOptions ssan_discriminator(std::int64_t in, std::int64_t domains);

// Linear(D, hidden) - ReLU - Dropout - Linear(hidden, N): (B, D) -> domain logits (B, N).
class DomainDiscriminatorImpl : public torch::nn::Cloneable<DomainDiscriminatorImpl> {
 public:
  explicit DomainDiscriminatorImpl(DomainDiscriminatorOptions options);
  void reset() override;
  torch::Tensor forward(const torch::Tensor& features);

  DomainDiscriminatorOptions options;
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
  torch::nn::Dropout dropout{nullptr};
};
TORCH_MODULE(DomainDiscriminator);

}  // namespace mmdg::train
