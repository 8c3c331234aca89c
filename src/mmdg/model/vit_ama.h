// Network `vit-ama`: ViT + AMA (Yu et al., IJCV 2024, "Rethinking Vision Transformer and Masked
// Autoencoder in Multimodal Face Anti-Spoofing"), with the adaptive multimodal adapter as the
// authors' adapter code computes it (class Convpass_3modality_ConcatAllConv_ModalityRefine, read in
// yjyddq/DADM models/adapter_yzt.py). One frozen ViT reads the three modalities as one token
// sequence [CLS, R patches, D patches, I patches] (the pretrained patch embedding and the patch
// position embeddings applied to each modality); every block carries two AMAs in parallel with its
// sub-layers:
//   n1 = LN1(x);  h = x + MHSA(n1) + AMA_a(n1);   n2 = LN2(h);  y = h + MLP(n2) + AMA_b(n2)
// AMA(x), d its width, G x G the patch grid:
//   z = QuickGELU(W_down x)                                   (B, 1 + 3N, d)
//   Z = the three modalities' patch tokens as (B, d, G, G) maps, concatenated: (B, 3d, G, G)
//   F = conv3x3(3d -> d, no bias)(Z);  w = sigmoid(conv1x1(3d -> 3, no bias)(mean over the grid of Z))
//   patch outputs w_R F, w_D F, w_I F (the fused map, weighted per modality); the class token's
//   z repeated three times through the same conv on a 1 x 1 map (its centre taps)
//   AMA(x) = W_up Dropout(QuickGELU(.))                       (B, 1 + 3N, C); W_up starts at zero
// Head fc_all.0 on the final LayerNorm's class token. Trained (the `ama` strategy sets
// freeze = adapters-only): the AMAs and the head. A missing modality's image is zero.
// Parameter names: conv_proj1, class_token1, pos_embedding1, ViT_Encoder.*, adapter_ama_attn.{i}.*,
// adapter_ama_mlp.{i}.* ({down, fuse, weigh, up}), fc_all.0.
// Letters: B batch, N patches per modality, G = sqrt(N), C width, d adapter width.
#pragma once
#include <torch/nn/modules/container/modulelist.h>

#include "mmdg/model/vit_network.h"

namespace mmdg::model {

class MultimodalAdapterImpl : public torch::nn::Module {
 public:
  MultimodalAdapterImpl(std::int64_t width, std::int64_t bottleneck, double dropout);
  // x (B, 1 + 3N, C) -> (B, 1 + 3N, C); `weights` receives the modality weights w (B, 3).
  torch::Tensor forward(const torch::Tensor& x, torch::Tensor* weights = nullptr);

  torch::nn::Linear down{nullptr}, up{nullptr};   // (d, C), (C, d)
  torch::nn::Conv2d fuse{nullptr}, weigh{nullptr};  // (d, 3d, 3, 3), (3, 3d, 1, 1)
  torch::nn::Dropout dropout{nullptr};
};
TORCH_MODULE(MultimodalAdapter);

class ViTAMAImpl : public ViTNetworkImpl {
 public:
  explicit ViTAMAImpl(const NetworkOptions& options);

  NetworkOutput forward_impl(const torch::Tensor& rgb, const torch::Tensor& depth, const torch::Tensor& ir,
                             const ForwardOptions& forward_options) override;
  int branch_of(const std::string&) const override { return -1; }
  std::int64_t adapter_width() const;  // ama_adapter_dim, or C / 12 when 0


  std::vector<MultimodalAdapter> adapter_ama_attn, adapter_ama_mlp;  // one per block each
  torch::nn::Linear fc_all{nullptr};
};

}  // namespace mmdg::model
