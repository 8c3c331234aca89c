// Network `vit-concat`: the paper's Table 1 recipe for single-modal methods. The three inputs are
// concatenated along channels, a trainable 1x1 convolution `fusion` (9 -> 3 channels, initialized
// to the mean of the three modalities, so the pretrained ViT sees an ordinary image at the start)
// maps them to one image, then one stem (conv_proj1, class_token1, pos_embedding1), the ViT blocks,
// the final LayerNorm and fc_all.0 (C -> K) on the class token. No branches, no uncertainty.
#pragma once
#include "mmdg/model/vit_network.h"

namespace mmdg::model {

class ViTConcatImpl : public ViTNetworkImpl {
 public:
  explicit ViTConcatImpl(const NetworkOptions& options);

  // (B, 3, S, S) each -> logits (B, K); features[m] = the one class token (B, C) for every m.
  NetworkOutput forward_impl(const torch::Tensor& rgb, const torch::Tensor& depth, const torch::Tensor& ir,
                             const ForwardOptions& forward_options) override;
  int branch_of(const std::string&) const override { return -1; }

  torch::nn::Conv2d fusion{nullptr};  // (3, 9, 1, 1)
  torch::nn::Linear fc_all{nullptr};  // fc_all.0: C -> K
};

}  // namespace mmdg::model
