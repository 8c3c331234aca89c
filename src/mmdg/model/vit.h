// Vision Transformer with torchvision's `VisionTransformer` structure and parameter names, so a
// torchvision state dict loads without renaming:
//   conv_proj.{weight,bias}, class_token, encoder.pos_embedding,
//   encoder.layers.encoder_layer_{i}.{ln_1, self_attention.{in_proj_weight, in_proj_bias,
//   out_proj}, ln_2, mlp.{0,3}}, encoder.ln, heads.head (only when num_classes > 0).
// Letters in shape comments: B batch, L tokens (1 class token + N patches), N patches,
// C hidden_dim, H heads, D = C / H, P patch size, S image size.
#pragma once
#include <torch/arg.h>
#include <torch/nn.h>

#include <string>
#include <vector>

namespace mmdg::model {

struct ViTOptions {
  TORCH_ARG(std::int64_t, image_size) = 224;
  TORCH_ARG(std::int64_t, patch_size) = 16;
  TORCH_ARG(std::int64_t, num_layers) = 12;
  TORCH_ARG(std::int64_t, num_heads) = 12;
  TORCH_ARG(std::int64_t, hidden_dim) = 768;
  TORCH_ARG(std::int64_t, mlp_dim) = 3072;
  TORCH_ARG(double, dropout) = 0.0;
  TORCH_ARG(double, attention_dropout) = 0.0;
  TORCH_ARG(std::int64_t, num_classes) = 1000;  // 0: no `heads` module (features only)
  TORCH_ARG(double, layer_norm_eps) = 1e-6;

 public:
  // The fields a network built on this backbone exposes as options (mmdg/util/settings.h).
  template <class V>
  void visit(V&& v) {
    v("image_size", image_size_, "input image side in pixels");
    v("patch_size", patch_size_, "ViT patch side in pixels");
    v("num_layers", num_layers_, "transformer blocks");
    v("num_heads", num_heads_, "attention heads per block");
    v("hidden_dim", hidden_dim_, "token width");
    v("mlp_dim", mlp_dim_, "MLP hidden width");
    v("dropout", dropout_, "backbone dropout (torchvision's, 0 for pretrained ViT)");
  }

  std::int64_t grid_size() const { return image_size_ / patch_size_; }
  std::int64_t num_patches() const { return grid_size() * grid_size(); }
  // Throws mmdg::Error naming the offending field when the options are inconsistent.
  void validate() const;
};

// Named configs: "vit_b16", "vit_b32", "vit_l16" (torchvision's), "vit_tiny" (tests: 32 px,
// patch 8, 2 layers, width 16) and "vit_mini" (the embedded default: 64 px, patch 8, 6 layers,
// width 128).
ViTOptions vit_config(const std::string& name);
std::vector<std::string> vit_config_names();

// Multi-head self-attention with nn.MultiheadAttention's parameter names.
class SelfAttentionImpl : public torch::nn::Module {
 public:
  SelfAttentionImpl(std::int64_t dim, std::int64_t num_heads, double attention_dropout);
  // x: (B, L, C) -> (B, L, C). When `weights` is given it receives the attention maps (B, H, L, L).
  torch::Tensor forward(const torch::Tensor& x, torch::Tensor* weights = nullptr);

  torch::Tensor in_proj_weight;  // (3C, C), rows: query, key, value
  torch::Tensor in_proj_bias;    // (3C)
  torch::nn::Linear out_proj{nullptr};

 private:
  std::int64_t num_heads_;
  double attention_dropout_;
};
TORCH_MODULE(SelfAttention);

// Pre-norm transformer block: x_a = x + MHSA(LN1(x)); out = x_a + MLP(LN2(x_a)). The pieces are
// public so that adapters can tap the MHSA output and add to the MLP output.
class EncoderBlockImpl : public torch::nn::Module {
 public:
  explicit EncoderBlockImpl(const ViTOptions& options);
  // (B, L, C) -> (B, L, C): dropout(MHSA(LN1(x))), the attention branch before the residual.
  torch::Tensor attention(const torch::Tensor& x);
  // (B, L, C) -> (B, L, C): the full block.
  torch::Tensor forward(const torch::Tensor& x);

  torch::nn::LayerNorm ln_1{nullptr};
  SelfAttention self_attention{nullptr};
  torch::nn::Dropout dropout{nullptr};
  torch::nn::LayerNorm ln_2{nullptr};
  torch::nn::Sequential mlp{nullptr};  // 0 Linear(C, M), 1 GELU, 2 Dropout, 3 Linear(M, C), 4 Dropout
};
TORCH_MODULE(EncoderBlock);

class EncoderImpl : public torch::nn::Module {
 public:
  explicit EncoderImpl(const ViTOptions& options);
  // (B, L, C) -> (B, L, C): + pos_embedding, dropout, blocks, final LayerNorm.
  torch::Tensor forward(const torch::Tensor& tokens);

  torch::Tensor pos_embedding;  // (1, L, C)
  torch::nn::Dropout dropout{nullptr};
  std::vector<EncoderBlock> blocks;  // registered as layers.encoder_layer_{i}
  torch::nn::LayerNorm ln{nullptr};
};
TORCH_MODULE(Encoder);

class VisionTransformerImpl : public torch::nn::Module {
 public:
  explicit VisionTransformerImpl(const ViTOptions& options);
  // (B, 3, S, S) -> (B, N, C): patch embedding, row-major over the patch grid.
  torch::Tensor patch_tokens(const torch::Tensor& images);
  // (B, N, C) -> (B, L, C): the class token prepended.
  torch::Tensor prepend_class_token(const torch::Tensor& patches);
  // (B, 3, S, S) -> (B, L, C): all tokens after the encoder's final LayerNorm.
  torch::Tensor forward_features(const torch::Tensor& images);
  // (B, 3, S, S) -> (B, num_classes) logits, or (B, C) class-token features when num_classes == 0.
  torch::Tensor forward(const torch::Tensor& images);

  const ViTOptions& options() const { return options_; }

  torch::nn::Conv2d conv_proj{nullptr};  // (C, 3, P, P)
  torch::Tensor class_token;             // (1, 1, C)
  Encoder encoder{nullptr};
  torch::nn::Linear head{nullptr};       // registered as heads.head; null when num_classes == 0

 private:
  ViTOptions options_;
};
TORCH_MODULE(VisionTransformer);

}  // namespace mmdg::model
