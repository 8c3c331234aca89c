#include "mmdg/model/cdc.h"

#include <torch/torch.h>

namespace mmdg::model {

Conv2dCDImpl::Conv2dCDImpl(std::int64_t channels, double theta_) : theta(theta_) {
  conv = register_module(
      "conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, channels, 3).padding(1).bias(false)));
}

torch::Tensor Conv2dCDImpl::forward(const torch::Tensor& x) {
  const auto out = conv(x);
  if (theta == 0.0) return out;
  const auto kernel_sum = conv->weight.sum({2, 3}, /*keepdim=*/true);  // (c, c, 1, 1)
  return out - theta * torch::nn::functional::conv2d(x, kernel_sum);
}

}  // namespace mmdg::model
