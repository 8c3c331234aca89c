// Network `vp-fas`: VP-FAS (Yu et al. 2023, "Visual Prompt Flexible-Modal Face Anti-Spoofing",
// arXiv 2307.13958). No code is public and only the abstract was available to us; this is a
// reconstruction from it, in the setting of its companion flexible-modal benchmark (one frozen
// ViT on the modalities' tokens, a missing modality's image zero), and each choice below is ours
// where the abstract is silent. The abstract says: a frozen pre-trained ViT adapted by learned
// modal-relevant prompts; "vanilla visual prompts and residual contextual prompts" plugged into
// the transformer for the missing-modality cases; under 4 % of the parameters learned; a
// missing-modality regularization for consistent embeddings (the `vpfas` strategy).
// Here, with P = vpfas_prompt_length tokens and the first T = vpfas_prompt_layers blocks prompted,
// for a sample with presence s (s_m = 1 when modality m is there):
//   prompt_i(s) = prompt_shared[i] + sum over missing m of prompt_missing[i, m]     (P, C)
// (modal-shared prompts for every case, a modal-relevant prompt for each missing modality, so
// each of the missing cases gets its own prompt). The sequence is [CLS, prompt tokens, R, D, I
// patches] (modality_tokens, the prompts without position embedding). Block 0 reads the vanilla
// prompts prompt_0(s); block i < T reads the residual contextual prompts o_{i-1} + prompt_i(s),
// o_{i-1} the prompt tokens block i - 1 wrote; after block T - 1 they travel on as ordinary tokens.
// The head fc_all.0 reads the final LayerNorm's class token. Trained (the `vpfas` strategy sets
// freeze = adapters-only): the prompts and the head. Presence comes from ForwardOptions::present,
// else from ForwardOptions::missing.
// Parameter names: conv_proj1, class_token1, pos_embedding1, ViT_Encoder.*, prompt_shared,
// prompt_missing, fc_all.0. Letters: B batch, N patches per modality, C width, T prompted blocks,
// P prompt tokens.
#pragma once
#include "mmdg/model/vit_network.h"

namespace mmdg::model {

class VPFASImpl : public ViTNetworkImpl {
 public:
  explicit VPFASImpl(const NetworkOptions& options);

  NetworkOutput forward_impl(const torch::Tensor& rgb, const torch::Tensor& depth, const torch::Tensor& ir,
                             const ForwardOptions& forward_options) override;
  int branch_of(const std::string&) const override { return -1; }
  // The prompts count as adapters (they train under freeze = adapters-only).
  std::string group_of(const std::string& parameter_name) const override;

  // prompt_i(s) for every sample: presence (B, 3) float -> (B, P, C).
  torch::Tensor prompts(std::int64_t block, const torch::Tensor& presence) const;
  // The presence (B, 3) float the forward uses: forward_options.present, else `missing` for all B.
  static torch::Tensor presence_of(const ForwardOptions& forward_options, std::int64_t batch, torch::Device device,
                                   torch::ScalarType dtype);

  torch::Tensor prompt_shared;   // (T, P, C)
  torch::Tensor prompt_missing;  // (T, 3, P, C)
  torch::nn::Linear fc_all{nullptr};
};

}  // namespace mmdg::model
