// Network `vit`: three ViT branches (R, D, I), each with its own stem (conv_proj{1,2,3},
// class_token{1,2,3}, pos_embedding{1,2,3}), sharing the ViT blocks and the final LayerNorm; no
// adapters, no uncertainty; a head on the concatenated class tokens (fc_all.0, 3C -> K) or one per
// modality (fc{1,2,3}.0, logits averaged). Table 4's "ViT" backbone, and the base of the MMDG
// network (uadapter_vit.h), which adds what happens inside each block.
// The three branches go through each shared layer as one batch of 3B token sequences.
// Letters: B batch, L tokens, C width, K classes.
#pragma once
#include "mmdg/model/vit_network.h"

namespace mmdg::model {

class MultiBranchViTImpl : public ViTNetworkImpl {
 public:
  explicit MultiBranchViTImpl(const NetworkOptions& options) : MultiBranchViTImpl(options, /*complete=*/true) {}

  // (B, 3, S, S) each -> outputs (called by NetworkImpl::forward).
  NetworkOutput forward_impl(const torch::Tensor& rgb, const torch::Tensor& depth, const torch::Tensor& ir,
                             const ForwardOptions& forward_options) override;
  int branch_of(const std::string& parameter_name) const override;

  // Block i on the stacked streams h (3B, L, C) -> (3B, L, C). `token_reliability` receives the
  // token reliability (3B, L) where the network has an uncertainty module; `attention` the
  // adapters' maps where it has adapters.
  virtual torch::Tensor block_step(std::size_t i, const torch::Tensor& h, torch::Tensor* token_reliability = nullptr,
                                   std::vector<std::pair<std::string, torch::Tensor>>* attention = nullptr);

  torch::nn::Linear fc_all{nullptr};                               // head = concat
  std::array<torch::nn::Linear, 3> fc{nullptr, nullptr, nullptr};  // head = per-modality

 protected:
  // complete = false leaves the heads and the freeze policy to a subclass that registers its own
  // modules first (call add_heads() then apply_freeze_policy()).
  MultiBranchViTImpl(const NetworkOptions& options, bool complete);
  void add_heads();
};

}  // namespace mmdg::model
