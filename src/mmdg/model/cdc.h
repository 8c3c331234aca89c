// Central difference convolution (Yu et al., CVPR 2020), 3x3, padding 1, no bias:
//   CDC(x) = conv(x) - theta * conv_{sum of the kernel, 1x1}(x)
// theta = 0 is a plain convolution. Parameter name `conv.weight` as in the released MMDG code and
// the CDCN authors' Conv2d_cd.
#pragma once
#include <torch/nn.h>

namespace mmdg::model {

class Conv2dCDImpl : public torch::nn::Module {
 public:
  // channels -> channels (the U-Adapter's).
  Conv2dCDImpl(std::int64_t channels, double theta);
  // in_channels -> out_channels (CDCN's stems and blocks).
  Conv2dCDImpl(std::int64_t in_channels, std::int64_t out_channels, double theta);
  // (B, c_in, H, W) -> (B, c_out, H, W); any H, W >= 1 (a 1x1 input uses the kernel centre only).
  torch::Tensor forward(const torch::Tensor& x);

  torch::nn::Conv2d conv{nullptr};  // weight (c_out, c_in, 3, 3)
  double theta;
};
TORCH_MODULE(Conv2dCD);

}  // namespace mmdg::model
