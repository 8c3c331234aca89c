// Every option of a network, declared once (name, default, help). `network` names the
// architecture in the network registry (mmdg/model/network.h); the rest are its settings, each
// read by the networks it applies to. Defaults are the paper's ViT-B/16 setting with the released
// code's values where the paper is silent (REFERENCE.md).
#pragma once
#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "mmdg/model/uncertainty.h"
#include "mmdg/model/vit.h"
#include "mmdg/util/enum_names.h"

namespace mmdg::model {

// Which pretrained tensors stay frozen.
enum class Freeze {
  LastBlock,     // released code: blocks 0..n-2 and the patch embeddings frozen
  AdaptersOnly,  // the paper's Fig. 3 reading: only adapters (and head, fusion conv) train
};
// The classifier of a multi-branch network.
enum class Head {
  Concat,       // one FC on the concatenated class tokens (released code)
  PerModality,  // an FC per modality, logits averaged
};
// The input of network vit-single.
enum class SingleModality { RGB, Depth, IR };
// The per-modality (or single) position embeddings at initialization.
enum class PosEmbeddingInit {
  Auto,        // normal for the multi-branch networks (the released code's), pretrained for the
               // single-stem baselines (vit-concat, vit-single: an ordinary pretrained ViT)
  Normal,      // fresh normal(0.02) (released code)
  Pretrained,  // copied from the pretrained ViT
};

struct NetworkOptions {
  // --- which architecture: a name of the network registry (vit-concat, vit, vit-uadapter)
  std::string network = "vit-uadapter";
  // --- backbone (torchvision ViT structure; num_classes unused: networks add their own heads)
  ViTOptions backbone = ViTOptions().num_classes(0);
  // --- U-Adapter (Eq. 4)
  std::int64_t adapter_dim = 8;
  std::int64_t adapter_heads = 8;
  bool use_cdc = true;
  double cdc_theta = 0.5;
  double adapter_dropout = 0.2;
  bool adapter_uncertainty = true;
  // --- uncertainty estimation module
  Estimator estimator = Estimator::Binomial;
  std::int64_t mc_samples = 20;
  double mc_drop_rate = 0.3;
  double reliability_rate = 2.25;
  // --- stems, freezing, head
  PosEmbeddingInit pos_embedding_init = PosEmbeddingInit::Auto;
  Freeze freeze = Freeze::LastBlock;
  Head head = Head::Concat;
  bool normalized_head = false;
  std::int64_t num_classes = 2;
  SingleModality modality = SingleModality::RGB;
  // --- ViTAF (network vitaf; vitaf.h)
  std::int64_t vitaf_adapter_dim = 0;  // 0: hidden_dim / 12 (64 at ViT-B/16, the authors' code)
  std::int64_t vitaf_ensemble = 2;
  double vitaf_fwt_gamma = 0.1;  // theta_gamma, theta_beta at initialization (the code's CeFA / SURF / WMCA values)
  double vitaf_fwt_beta = 0.1;
  // --- ViT + AMA (network vit-ama; vit_ama.h)
  std::int64_t ama_adapter_dim = 0;  // 0: hidden_dim / 12 (64 at ViT-B/16)
  // --- MM-CDCN (network mm-cdcn; mm_cdcn.h)
  std::int64_t cdcn_width = 64;  // stem width c (the authors' 64; blocks 2c and 196 c / 64)
  double cdcn_theta = 0.7;       // the authors' theta
  // --- VP-FAS (network vp-fas; vp_fas.h): our reading of its abstract
  std::int64_t vpfas_prompt_length = 16;
  std::int64_t vpfas_prompt_layers = 6;  // the first half of ViT-B/16's 12 blocks

  template <class V>
  void visit(V&& v) {
    v("network", network, "architecture: vit-concat | vit | vit-uadapter | vit-single | vitaf | vit-ama | mm-cdcn | vp-fas (mmdg model list)");
    backbone.visit(v);
    v("adapter_dim", adapter_dim, "U-Adapter bottleneck width");
    v("adapter_heads", adapter_heads, "U-Adapter cross-attention heads");
    v("use_cdc", use_cdc, "central difference convolution in the U-Adapter (false: plain 3x3 conv)");
    v("cdc_theta", cdc_theta, "CDC theta: conv(x) - theta * conv_with_summed_kernel(x)");
    v("adapter_dropout", adapter_dropout, "dropout before the U-Adapter up-projection");
    v("adapter_uncertainty", adapter_uncertainty,
      "scale the U-Adapter attention logits by the other modality's reliability (Table 5)");
    v("estimator", estimator, "uncertainty estimator");
    v("mc_samples", mc_samples, "Monte Carlo dropout samples t");
    v("mc_drop_rate", mc_drop_rate, "Monte Carlo dropout rate p");
    v("reliability_rate", reliability_rate, "r_e in the reliability U = exp(-r_e * std)");
    v("pos_embedding_init", pos_embedding_init,
      "position embeddings: fresh normal(0.02) (released code), copied from the pretrained ViT, or auto "
      "(normal for vit / vit-uadapter, pretrained for the single-stem baselines)");
    v("freeze", freeze, "last-block (released: blocks 0..n-2 frozen) or adapters-only (paper Fig. 3)");
    v("head", head, "concat (one FC on the concatenated class tokens, released) or per-modality FCs");
    v("normalized_head", normalized_head,
      "SSDG's normalized classifier: the head's input e scaled to e / sqrt(2 |e|), its weight columns to unit norm");
    v("num_classes", num_classes, "head outputs (class 1 = live)");
    v("modality", modality, "the input of network vit-single");
    v("vitaf_adapter_dim", vitaf_adapter_dim, "vitaf: adapter bottleneck width (0: hidden_dim / 12)");
    v("vitaf_ensemble", vitaf_ensemble, "vitaf: adapters per ensemble (after the attention and after the MLP of each block)");
    v("vitaf_fwt_gamma", vitaf_fwt_gamma, "vitaf: initial theta_gamma of the feature-wise transformation (scale noise ~ softplus)");
    v("vitaf_fwt_beta", vitaf_fwt_beta, "vitaf: initial theta_beta of the feature-wise transformation (shift noise ~ softplus)");
    v("ama_adapter_dim", ama_adapter_dim, "vit-ama: adaptive multimodal adapter width (0: hidden_dim / 12)");
    v("cdcn_width", cdcn_width, "mm-cdcn: stem width c (blocks 2c -> 196c/64 -> 2c; the paper's 64)");
    v("cdcn_theta", cdcn_theta, "mm-cdcn: theta of its central difference convolutions");
    v("vpfas_prompt_length", vpfas_prompt_length, "vp-fas: prompt tokens per prompted block");
    v("vpfas_prompt_layers", vpfas_prompt_layers, "vp-fas: prompted blocks (the first ones)");
  }

  // Throws mmdg::Error naming the option when a value is out of range.
  void validate() const;
  ViTOptions vit() const { return ViTOptions(backbone).num_classes(0); }  // the backbone part (no head)
  // Whether the position embeddings start from the pretrained ViT's (pos_embedding_init resolved).
  bool pretrained_position_embeddings() const;
  // Named presets: "mmdg_b16" (the paper), "mmdg_mini" (embedded default), "mmdg_tiny" (tests).
  static NetworkOptions preset(const std::string& name);
  static std::vector<std::string> preset_names();
  // Options from JSON (a config file, a checkpoint's metadata, a run's config.json). Older files
  // name the network by their `method` key (mmdg | vit): it is translated. Errors name `context`.
  static NetworkOptions from_json(const nlohmann::json& j, const std::string& context);
};

}  // namespace mmdg::model

namespace mmdg {
template <>
struct EnumNames<model::Freeze> {
  static constexpr std::pair<model::Freeze, const char*> values[] = {{model::Freeze::LastBlock, "last-block"},
                                                                     {model::Freeze::AdaptersOnly, "adapters-only"}};
};
template <>
struct EnumNames<model::Head> {
  static constexpr std::pair<model::Head, const char*> values[] = {{model::Head::Concat, "concat"},
                                                                   {model::Head::PerModality, "per-modality"}};
};
template <>
struct EnumNames<model::SingleModality> {
  static constexpr std::pair<model::SingleModality, const char*> values[] = {
      {model::SingleModality::RGB, "rgb"}, {model::SingleModality::Depth, "depth"}, {model::SingleModality::IR, "ir"}};
};
template <>
struct EnumNames<model::PosEmbeddingInit> {
  static constexpr std::pair<model::PosEmbeddingInit, const char*> values[] = {
      {model::PosEmbeddingInit::Auto, "auto"},
      {model::PosEmbeddingInit::Normal, "normal"},
      {model::PosEmbeddingInit::Pretrained, "pretrained"}};
};
}  // namespace mmdg
