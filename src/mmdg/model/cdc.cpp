#include "mmdg/model/cdc.h"

#include <torch/torch.h>

namespace mmdg::model {

Conv2dCDImpl::Conv2dCDImpl(std::int64_t channels, double theta_) : Conv2dCDImpl(channels, channels, theta_) {}

Conv2dCDImpl::Conv2dCDImpl(std::int64_t in_channels, std::int64_t out_channels, double theta_) : theta(theta_) {
  conv = register_module(
      "conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(in_channels, out_channels, 3).padding(1).bias(false)));
}

torch::Tensor Conv2dCDImpl::forward(const torch::Tensor& x) {
  const auto out = conv(x);
  if (theta == 0.0) return out;
  const auto kernel_sum = conv->weight.sum({2, 3}, /*keepdim=*/true);  // (c_out, c_in, 1, 1)
  return out - theta * torch::nn::functional::conv2d(x, kernel_sum);
}

}  // namespace mmdg::model
