#include "mmdg/model/vit_concat.h"

#include <torch/torch.h>

namespace mmdg::model {

ViTConcatImpl::ViTConcatImpl(const NetworkOptions& o) : ViTNetworkImpl(o) {
  fusion = register_module("fusion", torch::nn::Conv2d(torch::nn::Conv2dOptions(9, 3, 1)));
  {
    torch::NoGradGuard no_grad;
    fusion->weight.zero_();
    for (int c = 0; c < 3; ++c)
      for (int m = 0; m < kNumModalities; ++m) fusion->weight[c][3 * m + c][0][0] = 1.0 / 3.0;  // mean of the modalities
    fusion->bias.zero_();
  }
  add_stem(0);
  add_encoder();
  fc_all = add_head("fc_all", feature_dim());
  apply_freeze_policy();
}

NetworkOutput ViTConcatImpl::forward_impl(const torch::Tensor& rgb, const torch::Tensor& depth, const torch::Tensor& ir,
                                     const ForwardOptions& fo) {
  const std::array<const torch::Tensor*, 3> images{&rgb, &depth, &ir};
  std::vector<torch::Tensor> channels;
  for (int m = 0; m < kNumModalities; ++m) {
    check_input(*images[m], rgb.size(0), m);
    channels.push_back(fo.missing[m] ? torch::zeros_like(*images[m]) : *images[m]);  // missing: zero channels
  }
  const auto x = fusion(torch::cat(channels, 1));  // (B, 3, S, S)
  return encode_one_stream(encoder_dropout(embed(0, x)), fc_all, fo);
}

}  // namespace mmdg::model
