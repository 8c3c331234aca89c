// Every option of the MMDG network, declared once (name, default, help). Defaults are the paper's
// ViT-B/16 setting with the released code's values where the paper is silent (REFERENCE.md).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "mmdg/model/vit.h"

namespace mmdg::model {

struct MMDGOptions {
  // --- which network: MMDG, or the paper's Table 1 "ViT" baseline (the three inputs concatenated
  // along channels, a trainable 1x1 convolution 9 -> 3, the pretrained ViT, a linear head on the
  // class token, cross-entropy only)
  std::string method = "mmdg";
  // --- backbone (torchvision ViT structure)
  std::int64_t image_size = 224;
  std::int64_t patch_size = 16;
  std::int64_t num_layers = 12;
  std::int64_t num_heads = 12;
  std::int64_t hidden_dim = 768;
  std::int64_t mlp_dim = 3072;
  double dropout = 0.0;
  // --- U-Adapter (Eq. 4)
  std::int64_t adapter_dim = 8;
  std::int64_t adapter_heads = 8;
  bool use_cdc = true;
  double cdc_theta = 0.5;
  double adapter_dropout = 0.2;
  bool adapter_uncertainty = true;
  // --- uncertainty estimation module
  std::string estimator = "mc";
  std::int64_t mc_samples = 20;
  double mc_drop_rate = 0.3;
  double reliability_rate = 2.25;
  // --- stems, freezing, head
  std::string pos_embedding_init = "normal";
  std::string freeze = "last-block";
  std::string head = "concat";
  std::int64_t num_classes = 2;

  template <class V>
  void visit(V&& v) {
    v("method", method, "mmdg | vit (the Table 1 ViT baseline: channel-concatenated inputs, 1x1 conv 9->3, ViT, CE)");
    v("image_size", image_size, "input image side in pixels");
    v("patch_size", patch_size, "ViT patch side in pixels");
    v("num_layers", num_layers, "transformer blocks");
    v("num_heads", num_heads, "attention heads per block");
    v("hidden_dim", hidden_dim, "token width");
    v("mlp_dim", mlp_dim, "MLP hidden width");
    v("dropout", dropout, "backbone dropout (torchvision's, 0 for pretrained ViT)");
    v("adapter_dim", adapter_dim, "U-Adapter bottleneck width");
    v("adapter_heads", adapter_heads, "U-Adapter cross-attention heads");
    v("use_cdc", use_cdc, "central difference convolution in the U-Adapter (false: plain 3x3 conv)");
    v("cdc_theta", cdc_theta, "CDC theta: conv(x) - theta * conv_with_summed_kernel(x)");
    v("adapter_dropout", adapter_dropout, "dropout before the U-Adapter up-projection");
    v("adapter_uncertainty", adapter_uncertainty,
      "scale the U-Adapter attention logits by the other modality's reliability (Table 5)");
    v("estimator", estimator, "uncertainty estimator: mc | binomial | expected");
    v("mc_samples", mc_samples, "Monte Carlo dropout samples t");
    v("mc_drop_rate", mc_drop_rate, "Monte Carlo dropout rate p");
    v("reliability_rate", reliability_rate, "r_e in the reliability U = exp(-r_e * std)");
    v("pos_embedding_init", pos_embedding_init,
      "per-modality position embeddings: normal (fresh normal(0.02), released code) | pretrained");
    v("freeze", freeze,
      "last-block (released: blocks 0..n-2 frozen) | adapters-only (paper Fig. 3: adapters + head)");
    v("head", head, "concat (one FC on the concatenated class tokens, released) | per-modality");
    v("num_classes", num_classes, "head outputs (class 1 = live)");
  }

  // Throws mmdg::Error naming the option when a value is out of range.
  void validate() const;
  ViTOptions vit() const;  // the backbone part (no head)
  // Named presets: "mmdg_b16" (the paper), "mmdg_mini" (embedded default), "mmdg_tiny" (tests).
  static MMDGOptions preset(const std::string& name);
  static std::vector<std::string> preset_names();
};

}  // namespace mmdg::model
