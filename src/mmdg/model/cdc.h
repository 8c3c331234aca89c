// Central difference convolution (Yu et al., CVPR 2020), 3x3, no bias:
//   CDC(x) = conv(x) - theta * conv_{sum of the kernel, 1x1}(x)
// theta = 0 is a plain convolution. Parameter name `conv.weight` as in the released code.
#pragma once
#include <torch/nn.h>

namespace mmdg::model {

class Conv2dCDImpl : public torch::nn::Module {
 public:
  Conv2dCDImpl(std::int64_t channels, double theta);
  // (B, c, H, W) -> (B, c, H, W); any H, W >= 1 (a 1x1 input uses the kernel centre only).
  torch::Tensor forward(const torch::Tensor& x);

  torch::nn::Conv2d conv{nullptr};  // weight (c, c, 3, 3)
  double theta;
};
TORCH_MODULE(Conv2dCD);

}  // namespace mmdg::model
