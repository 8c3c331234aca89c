#include "mmdg/model/vit.h"

#include <torch/torch.h>

#include <cmath>
#include <map>

#include "mmdg/model/fused_attention.h"
#include "mmdg/util/error.h"

namespace mmdg::model {
namespace F = torch::nn::functional;

void ViTOptions::validate() const {
  const auto require = [](bool ok, const std::string& field, const std::string& why) {
    if (!ok) throw Error("ViT option " + field + ": " + why);
  };
  // Upper bounds well above any ViT (ViT-H/14: 32 layers, 1280 wide, 256 tokens at 224 px), so a
  // hostile config cannot overflow the token count or allocate terabytes before failing.
  require(patch_size_ > 0 && patch_size_ <= 1024, "patch_size", "must be in [1, 1024]");
  require(image_size_ > 0 && image_size_ <= 8192 && image_size_ % patch_size_ == 0, "image_size",
          "must be a multiple of patch_size (" + std::to_string(patch_size_) + ") in [1, 8192]");
  require((image_size_ / patch_size_) * (image_size_ / patch_size_) <= 65536, "image_size",
          "gives more than 65536 patches at patch_size " + std::to_string(patch_size_));
  require(num_layers_ > 0 && num_layers_ <= 256, "num_layers", "must be in [1, 256]");
  require(num_heads_ > 0 && num_heads_ <= 1024, "num_heads", "must be in [1, 1024]");
  require(hidden_dim_ > 0 && hidden_dim_ <= 65536 && hidden_dim_ % num_heads_ == 0, "hidden_dim",
          "must be a multiple of num_heads (" + std::to_string(num_heads_) + ") in [1, 65536]");
  require(mlp_dim_ > 0 && mlp_dim_ <= 262144, "mlp_dim", "must be in [1, 262144]");
  require(num_classes_ >= 0 && num_classes_ <= 100000, "num_classes", "must be in [0, 100000]");
  const double encoder_parameters =
      static_cast<double>(num_layers_) * (4.0 * hidden_dim_ * hidden_dim_ + 2.0 * hidden_dim_ * mlp_dim_);
  require(encoder_parameters <= 4e9, "num_layers",
          "with hidden_dim and mlp_dim gives " + std::to_string(static_cast<long long>(encoder_parameters)) +
              " encoder parameters, more than 4e9");
  require(dropout_ >= 0 && dropout_ < 1, "dropout", "must be in [0, 1)");
  require(attention_dropout_ >= 0 && attention_dropout_ < 1, "attention_dropout", "must be in [0, 1)");
}

namespace {
ViTOptions make_config(std::int64_t image, std::int64_t patch, std::int64_t layers, std::int64_t heads,
                       std::int64_t dim, std::int64_t mlp) {
  return ViTOptions().image_size(image).patch_size(patch).num_layers(layers).num_heads(heads)
      .hidden_dim(dim).mlp_dim(mlp);
}
const std::map<std::string, ViTOptions>& config_table() {
  static const std::map<std::string, ViTOptions> table = {
      {"vit_b16", make_config(224, 16, 12, 12, 768, 3072)},
      {"vit_b32", make_config(224, 32, 12, 12, 768, 3072)},
      {"vit_l16", make_config(224, 16, 24, 16, 1024, 4096)},
      {"vit_mini", make_config(64, 8, 6, 4, 128, 256)},
      {"vit_tiny", make_config(32, 8, 2, 2, 16, 32)},
  };
  return table;
}
}  // namespace

ViTOptions vit_config(const std::string& name) {
  const auto it = config_table().find(name);
  if (it == config_table().end()) {
    std::string names;
    for (const auto& n : vit_config_names()) names += (names.empty() ? "" : ", ") + n;
    throw Error("unknown ViT config '" + name + "' (known: " + names + ")");
  }
  return it->second;
}

std::vector<std::string> vit_config_names() {
  std::vector<std::string> names;
  for (const auto& item : config_table()) names.push_back(item.first);
  return names;
}

// ---- SelfAttention ------------------------------------------------------------------------------

SelfAttentionImpl::SelfAttentionImpl(std::int64_t dim, std::int64_t num_heads, double attention_dropout)
    : num_heads_(num_heads), attention_dropout_(attention_dropout) {
  in_proj_weight = register_parameter("in_proj_weight", torch::empty({3 * dim, dim}));
  in_proj_bias = register_parameter("in_proj_bias", torch::zeros({3 * dim}));
  out_proj = register_module("out_proj", torch::nn::Linear(dim, dim));
  // nn.MultiheadAttention._reset_parameters: xavier_uniform in_proj, zero biases.
  torch::NoGradGuard no_grad;
  torch::nn::init::xavier_uniform_(in_proj_weight);
  out_proj->bias.zero_();
}

torch::Tensor SelfAttentionImpl::forward(const torch::Tensor& x, torch::Tensor* weights) {
  const auto B = x.size(0), L = x.size(1), C = x.size(2), D = C / num_heads_;
  const auto qkv = F::linear(x, in_proj_weight, in_proj_bias)   // (B, L, 3C)
                       .view({B, L, 3, num_heads_, D})
                       .permute({2, 0, 3, 1, 4});                // (3, B, H, L, D)
  const double dropout_p = is_training() ? attention_dropout_ : 0.0;
  if (const auto fused = fused_attention(qkv[0], qkv[1], qkv[2], dropout_p, weights != nullptr))  // LibTorch >= 2.0
    return out_proj(fused->transpose(1, 2).reshape({B, L, C}));
  const auto q = qkv[0] * (1.0 / std::sqrt(static_cast<double>(D)));
  auto attn = torch::softmax(torch::matmul(q, qkv[1].transpose(-2, -1)), -1);  // (B, H, L, L)
  if (weights) *weights = attn;
  if (attention_dropout_ > 0) attn = F::dropout(attn, F::DropoutFuncOptions().p(attention_dropout_).training(is_training()));
  const auto out = torch::matmul(attn, qkv[2]).transpose(1, 2).reshape({B, L, C});  // (B, L, C)
  return out_proj(out);
}

// ---- EncoderBlock -------------------------------------------------------------------------------

EncoderBlockImpl::EncoderBlockImpl(const ViTOptions& o) {
  const auto C = o.hidden_dim();
  ln_1 = register_module("ln_1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({C}).eps(o.layer_norm_eps())));
  self_attention = register_module("self_attention", SelfAttention(C, o.num_heads(), o.attention_dropout()));
  dropout = register_module("dropout", torch::nn::Dropout(o.dropout()));
  ln_2 = register_module("ln_2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({C}).eps(o.layer_norm_eps())));
  torch::nn::Linear fc1(C, o.mlp_dim()), fc2(o.mlp_dim(), C);
  // torchvision MLPBlock init: xavier_uniform weights, normal(std 1e-6) biases.
  {
    torch::NoGradGuard no_grad;
    for (auto& fc : {fc1, fc2}) {
      torch::nn::init::xavier_uniform_(fc->weight);
      fc->bias.normal_(0.0, 1e-6);
    }
  }
  mlp = register_module("mlp", torch::nn::Sequential(fc1, torch::nn::GELU(), torch::nn::Dropout(o.dropout()), fc2,
                                                     torch::nn::Dropout(o.dropout())));
}

torch::Tensor EncoderBlockImpl::attention(const torch::Tensor& x) {
  return dropout(self_attention(ln_1(x)));
}

torch::Tensor EncoderBlockImpl::forward(const torch::Tensor& x) {
  const auto x_a = x + attention(x);       // (B, L, C)
  return x_a + mlp->forward(ln_2(x_a));    // (B, L, C)
}

// ---- Encoder ------------------------------------------------------------------------------------

EncoderImpl::EncoderImpl(const ViTOptions& o) {
  pos_embedding = register_parameter("pos_embedding", torch::empty({1, o.num_patches() + 1, o.hidden_dim()}));
  {
    torch::NoGradGuard no_grad;
    pos_embedding.normal_(0.0, 0.02);
  }
  dropout = register_module("dropout", torch::nn::Dropout(o.dropout()));
  auto layers = register_module("layers", std::make_shared<torch::nn::Module>("Sequential"));
  for (std::int64_t i = 0; i < o.num_layers(); ++i)
    blocks.push_back(layers->register_module("encoder_layer_" + std::to_string(i), EncoderBlock(o)));
  ln = register_module("ln", torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.hidden_dim()}).eps(o.layer_norm_eps())));
}

torch::Tensor EncoderImpl::forward(const torch::Tensor& tokens) {
  if (tokens.size(1) != pos_embedding.size(1) || tokens.size(2) != pos_embedding.size(2))
    throw Error("ViT encoder: got " + std::to_string(tokens.size(1)) + " tokens of width " +
                std::to_string(tokens.size(2)) + ", expected " + std::to_string(pos_embedding.size(1)) +
                " of width " + std::to_string(pos_embedding.size(2)));
  auto x = dropout(tokens + pos_embedding);  // (B, L, C)
  for (auto& block : blocks) x = block(x);
  return ln(x);
}

// ---- VisionTransformer --------------------------------------------------------------------------

VisionTransformerImpl::VisionTransformerImpl(const ViTOptions& o) : options_(o) {
  o.validate();
  const auto C = o.hidden_dim(), P = o.patch_size();
  conv_proj = register_module("conv_proj", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, C, P).stride(P)));
  {
    // torchvision: normal(std = sqrt(1 / fan_in)) weights (its trunc_normal_ bounds of +-2 are
    // far outside that std), zero bias.
    torch::NoGradGuard no_grad;
    conv_proj->weight.normal_(0.0, std::sqrt(1.0 / static_cast<double>(3 * P * P)));
    conv_proj->bias.zero_();
  }
  class_token = register_parameter("class_token", torch::zeros({1, 1, C}));
  encoder = register_module("encoder", Encoder(o));
  if (o.num_classes() > 0) {
    auto heads = register_module("heads", std::make_shared<torch::nn::Module>("Sequential"));
    head = heads->register_module("head", torch::nn::Linear(C, o.num_classes()));
    torch::NoGradGuard no_grad;
    head->weight.zero_();  // torchvision zero-initializes the classification head
    head->bias.zero_();
  }
}

torch::Tensor VisionTransformerImpl::patch_tokens(const torch::Tensor& images) {
  const auto S = options_.image_size();
  if (images.dim() != 4 || images.size(1) != 3 || images.size(2) != S || images.size(3) != S)
    throw Error("ViT input: expected images of shape (B, 3, " + std::to_string(S) + ", " +
                std::to_string(S) + "), got " + c10::str(images.sizes()));
  const auto x = conv_proj(images);                   // (B, C, S/P, S/P)
  return x.flatten(2).transpose(1, 2);                // (B, N, C)
}

torch::Tensor VisionTransformerImpl::prepend_class_token(const torch::Tensor& patches) {
  return torch::cat({class_token.expand({patches.size(0), 1, -1}), patches}, 1);  // (B, L, C)
}

torch::Tensor VisionTransformerImpl::forward_features(const torch::Tensor& images) {
  return encoder(prepend_class_token(patch_tokens(images)));  // (B, L, C)
}

torch::Tensor VisionTransformerImpl::forward(const torch::Tensor& images) {
  const auto cls = forward_features(images).select(1, 0);  // (B, C)
  return head ? head(cls) : cls;
}

}  // namespace mmdg::model
