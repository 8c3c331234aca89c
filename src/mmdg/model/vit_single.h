// Network `vit-single`: one ViT on one modality (option `modality`: rgb, depth or ir); the other
// two inputs are ignored. The unimodal setting of the paper's Fig. 1(c) (SSDG on one modality vs on
// all three). One stem (conv_proj1, class_token1, pos_embedding1), the ViT blocks, the final
// LayerNorm and fc_all.0 (C -> K) on the class token. No branches, no uncertainty.
// Letters: B batch, L tokens, C width, K classes, S image size.
#pragma once
#include "mmdg/model/vit_network.h"

namespace mmdg::model {

class ViTSingleImpl : public ViTNetworkImpl {
 public:
  explicit ViTSingleImpl(const NetworkOptions& options);

  // (B, 3, S, S) each -> logits (B, K) from the chosen modality; features[m] = its class token (B, C).
  NetworkOutput forward_impl(const torch::Tensor& rgb, const torch::Tensor& depth, const torch::Tensor& ir,
                             const ForwardOptions& forward_options) override;
  int branch_of(const std::string&) const override { return -1; }
  int input_modality() const { return static_cast<int>(options_.modality); }

  torch::nn::Linear fc_all{nullptr};  // fc_all.0: C -> K
};

}  // namespace mmdg::model
