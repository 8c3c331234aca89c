// Network `vitaf`: ViTAF (Huang et al., ECCV 2022, "Adaptive Transformers for Robust Few-Shot
// Cross-Domain Face Anti-Spoofing"), in its zero-shot form as the MMDG paper's Table 1 runs it:
// the inputs concatenated along channels and mapped 9 -> 3 by a 1x1 conv (Sec. 4.2, as
// `vit-concat`), one ViT whose every block carries ensemble adapters after the attention and after
// the MLP, and feature-wise transformation (FWT) layers that perturb each block's output during
// training. Structure as the authors' code (hhsinping/few_shot_fas, vision_transformer.py) computes it:
//   h = attn(LN1(x));  x = x + sum_k A^attn_k(h)          A(h) = h + W_up GELU(W_down h)
//   h = mlp(LN2(x));   x = x + sum_k A^mlp_k(h)           (K adapters each, summed as there)
//   training: x = g * x + b,  g = 1 + n_g * softplus_100(theta_g),  b = n_b * softplus_100(theta_b),
//             n_g, n_b ~ N(0, 1) of shape (1, 1, C), drawn per forward, shared by batch and tokens
// NetworkOutput::regularizer: the ensemble's diversity term, the mean over blocks and positions of
// the squared cosine similarity (over channels, per token) between the K adapters' outputs (K = 2:
// the code's pair; K > 2: every pair). The authors' code computes it but never adds it to the loss;
// the `vitaf` strategy adds it with its weight (train/vitaf_strategy.h).
// Trainable (the `vitaf` strategy sets freeze = adapters-only, as the code trains only `adapt`,
// `gamma`, `beta`): the adapters, the FWT parameters, the fusion conv and the head.
// Parameter names: adapter_attn{k}.{i}.{down,up}, adapter_mlp{k}.{i}.{down,up} (k = 1..K, block i),
// adapter_fwt_gamma / adapter_fwt_beta (n_layers, C), fusion, conv_proj1, ..., fc_all.0.
// Letters: B batch, L tokens, C width, K ensemble size, A adapter width.
#pragma once
#include <torch/nn/modules/container/modulelist.h>

#include "mmdg/model/vit_network.h"

namespace mmdg::model {

// One adapter: h + up(GELU(down(h))), (B, L, C) -> (B, L, C); weights N(0, 2e-4), biases 0 (the
// code's init: each adapter starts as the identity up to noise).
class EnsembleAdapterImpl : public torch::nn::Module {
 public:
  EnsembleAdapterImpl(std::int64_t width, std::int64_t bottleneck);
  torch::Tensor forward(const torch::Tensor& h);
  torch::nn::Linear down{nullptr}, up{nullptr};  // (A, C), (C, A)
};
TORCH_MODULE(EnsembleAdapter);

class ViTAFImpl : public ViTNetworkImpl {
 public:
  explicit ViTAFImpl(const NetworkOptions& options);

  // (B, 3, S, S) each -> logits (B, K); features[m] = the class token for every m; regularizer set.
  NetworkOutput forward_impl(const torch::Tensor& rgb, const torch::Tensor& depth, const torch::Tensor& ir,
                             const ForwardOptions& forward_options) override;
  int branch_of(const std::string&) const override { return -1; }

  // The adapter width: vitaf_adapter_dim, or C / 12 when 0 (64 at ViT-B/16, the code's).
  std::int64_t adapter_width() const;

  torch::nn::Conv2d fusion{nullptr};  // (3, 9, 1, 1)
  std::vector<torch::nn::ModuleList> adapter_attn, adapter_mlp;  // [k][i]
  torch::Tensor fwt_gamma, fwt_beta;  // (n_layers, C): theta_g, theta_b
  torch::nn::Linear fc_all{nullptr};  // fc_all.0: C -> K

 private:
  // Block i on h (B, L, C); adds the block's two cosine terms to `cosine`.
  torch::Tensor block_step(std::size_t i, const torch::Tensor& h, torch::Tensor& cosine);
};

// FWT of one block's output x (B, L, C) with its parameters theta_g, theta_b (C): g * x + b as above.
torch::Tensor feature_wise_transform(const torch::Tensor& x, const torch::Tensor& theta_gamma, const torch::Tensor& theta_beta);

// Mean over tokens and batch of the squared cosine similarity over channels between the outputs
// (B, L, C) of an adapter ensemble, averaged over its pairs: the diversity term of one position.
torch::Tensor ensemble_cosine(const std::vector<torch::Tensor>& outputs);

}  // namespace mmdg::model
