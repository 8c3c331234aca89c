// What every network offers the rest of the library, and the registry that builds a network by
// name. A network takes the three modalities (R = RGB, D = depth, I = infrared) and returns fused
// logits plus what training strategies may need: per-modality class-token features, the
// uncertainty module's reliabilities, which parameters feed which modality branch. Strategies ask
// `capabilities()` instead of comparing network names.
//
// Registered networks (one file pair each):
//   vit-concat    the paper's Table 1 recipe for single-modal methods: the three inputs
//                 concatenated along channels, a trainable 1x1 conv 9 -> 3, one ViT (vit_concat.h)
//   vit           three ViT branches (own patch embedding, class token, position embedding)
//                 sharing the blocks, no adapters, head on the concatenated class tokens; Table 4's
//                 "ViT" backbone (multi_branch_vit.h)
//   vit-uadapter  the MMDG network: `vit` plus U-Adapters and the uncertainty module (uadapter_vit.h)
//   vit-single    one ViT on one modality (option `modality`), the others ignored; Fig. 1(c)'s
//                 unimodal setting (vit_single.h)
//   vitaf         ViTAF (Huang et al. 2022): the concatenated inputs, one ViT with ensemble adapters
//                 and feature-wise transformation layers (vitaf.h)
//   vit-ama       ViT + AMA (Yu et al. 2024): one ViT on the three modalities' token sequences,
//                 adaptive multimodal adapters (vit_ama.h)
//   mm-cdcn       MM-CDCN (Yu et al. 2020): a CNN of central difference convolutions per modality,
//                 fused into a pixel-wise map whose mean is the score; trained from scratch (mm_cdcn.h)
//   vp-fas        VP-FAS (Yu et al. 2023, reconstructed from its abstract): one frozen ViT on the
//                 modalities' tokens with missing-case-aware prompts (vp_fas.h)
// Letters: B batch, L tokens, C width, K classes.
#pragma once
#include <torch/nn/module.h>

#include <array>
#include <functional>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "mmdg/io/state_dict.h"
#include "mmdg/model/module_state.h"
#include "mmdg/model/network_options.h"
#include "mmdg/model/precision.h"

namespace mmdg::model {

constexpr int kNumModalities = 3;
enum Modality : int { kRGB = 0, kDepth = 1, kIR = 2 };
const char* modality_name(int m);  // "rgb", "depth", "ir"

struct ForwardOptions {
  std::array<bool, 3> missing{false, false, false};  // a missing modality's input is zero
  bool attention_maps = false;                         // keep the last block's adapter attention
  // A training strategy's access to the token streams (SSAN's style assembly, IADG's whitening):
  // called after block i (0-based) with the tokens h (nB, L, C), n = 3 stacked modality streams
  // (R, D, I) for networks with branches and 1 otherwise; returns the tokens block i + 1 gets.
  std::function<torch::Tensor(std::size_t block, const torch::Tensor& h)> after_block;
  // Per-sample presence (B, 3), 1 = the modality is there, 0 = its image is zeros; for the networks
  // that adapt to the missing case (vp-fas). Undefined: `missing` holds for the whole batch. The
  // evaluator passes the dataset's, a training strategy that drops modalities its own.
  torch::Tensor present;
};

struct NetworkOutput {
  torch::Tensor logits;                          // (B, K), fused
  // Class tokens after the final LayerNorm, (B, C): one per modality branch; a network without
  // branches puts its one feature in every slot.
  std::array<torch::Tensor, 3> features;
  // What the fused head classifies, (B, D): the class tokens (concatenated over the branches of a
  // head on their concatenation), after the head's normalization where it has one (normalized_head).
  torch::Tensor embedding;
  // Networks with branches: each modality's share of the fused logits (B, K). With per-modality
  // heads their logits; with one head on the concatenated tokens W_m e_m + b / 3 (W_m the head's
  // columns of modality m), so that the three sum to the fused logits (OGM-GE's split).
  std::array<torch::Tensor, 3> modality_logits;
  // With an uncertainty module: the last block's token reliability, mean over channels, (B, L),
  // and its class-token batch mean (scalar). Undefined otherwise.
  std::array<torch::Tensor, 3> reliability;
  std::array<torch::Tensor, 3> class_reliability;
  // A network's own regularization term (0-d), for the strategy that trains it with one (ViTAF's
  // ensemble diversity term); undefined for the others.
  torch::Tensor regularizer;
  // A network supervised by a pixel-wise map (mm-cdcn): the predicted map (B, H, W), its mean the
  // live score; undefined for the others.
  torch::Tensor map;
  // Last block's adapter attention maps (B, h, L, L), on request, keyed "1_2", "1_3", "2_1", "3_1".
  std::vector<std::pair<std::string, torch::Tensor>> attention;
};

struct Capabilities {
  bool modality_branches = false;  // features[m] differ per modality; branch_of() is meaningful
  bool uncertainty = false;        // reliability / class_reliability are computed
  bool adapters = false;           // cross-modal adapters (attention maps on request)
  bool token_blocks = false;       // ViT blocks whose tokens ForwardOptions::after_block sees
  // True when every capability `needs` asks for is here.
  bool covers(const Capabilities& needs) const {
    return (!needs.modality_branches || modality_branches) && (!needs.uncertainty || uncertainty) &&
           (!needs.adapters || adapters) && (!needs.token_blocks || token_blocks);
  }
};

class NetworkImpl : public torch::nn::Module {
 public:
  explicit NetworkImpl(NetworkOptions options) : options_(std::move(options)) {}

  // images (B, 3, S, S) each, normalized -> outputs, at the network's precision (set_precision);
  // every output tensor is float32 whatever the precision.
  NetworkOutput forward(const torch::Tensor& rgb, const torch::Tensor& depth, const torch::Tensor& ir,
                        const ForwardOptions& forward_options = {});
  Capabilities capabilities() const;  // its registry entry's
  // The modality branch a parameter feeds (0 R, 1 D, 2 I) or -1 for shared ones: ReGrad's grouping.
  virtual int branch_of(const std::string& parameter_name) const = 0;
  // "backbone" (blocks, final LayerNorm), "stems" (patch embeddings, class tokens, position
  // embeddings, input fusion), "adapters", "head".
  virtual std::string group_of(const std::string& parameter_name) const = 0;
  // Copies pretrained ViT weights (torchvision or timm names) into the backbone and stems. A head
  // in the file is ignored; a tensor the network needs but the file lacks, or with another shape,
  // is an error naming the tensors.
  virtual LoadReport load_pretrained_backbone(const io::StateDict& vit_weights, const std::string& context) = 0;
  // Switches the uncertainty estimator (a forward-time choice; weights are unchanged).
  virtual void set_estimator(Estimator estimator) { options_.estimator = estimator; }
  // Switches the forward's arithmetic (precision.h); weights stay float32.
  void set_precision(Precision precision) { precision_ = precision; }
  Precision precision() const { return precision_; }

  const NetworkOptions& options() const { return options_; }
  // Width C of a class-token feature (NetworkOutput::features): the ViT's hidden width.
  virtual std::int64_t feature_dim() const { return options_.backbone.hidden_dim(); }
  // Token streams through the blocks: 3 (R, D, I stacked) for the branch networks, else 1.
  std::int64_t num_streams() const { return capabilities().modality_branches ? kNumModalities : 1; }
  // Width of NetworkOutput::embedding: C per stream.
  std::int64_t embedding_dim() const { return num_streams() * feature_dim(); }

 protected:
  // The three inputs, each checked (check_input), a missing one (forward_options.missing) as zeros.
  std::array<torch::Tensor, 3> checked_inputs(const torch::Tensor& rgb, const torch::Tensor& depth, const torch::Tensor& ir,
                                              const ForwardOptions& forward_options) const;
  // Throws a shape error naming the input when an image is not (B, 3, S, S), S = backbone.image_size.
  void check_input(const torch::Tensor& image, std::int64_t batch, int modality) const;
  // The network itself, called by forward() inside the precision's autocast region.
  virtual NetworkOutput forward_impl(const torch::Tensor& rgb, const torch::Tensor& depth, const torch::Tensor& ir,
                                     const ForwardOptions& forward_options) = 0;
  NetworkOptions options_;
  Precision precision_ = Precision::Float32;
};
using Network = std::shared_ptr<NetworkImpl>;

// ---- registry
struct NetworkEntry {
  std::string name, title, description;  // title: the name the paper's tables print (e.g. "ViT + U-Adapter")
  Capabilities capabilities;
  std::function<Network(const NetworkOptions&)> make;
};
const std::vector<NetworkEntry>& network_registry();
const NetworkEntry& find_network(const std::string& name);  // throws, listing the known names
std::vector<std::string> network_names();
// The network as a file-name part and as a table prints it: its registry name and title, with
// vit-single's modality ("vit-single-depth", "ViT (depth)").
std::string network_label(const NetworkOptions& options);
std::string network_title(const NetworkOptions& options);
// Builds options.network (validating the options first).
Network make_network(const NetworkOptions& options);
// The network of an older file's `method` (mmdg | vit); errors name `context`.
std::string network_of_legacy_method(const std::string& method, const std::string& context);

// ---- parameter bookkeeping
struct ParameterCounts {
  std::int64_t total = 0, trainable = 0;
  std::vector<std::tuple<std::string, std::int64_t, std::int64_t>> groups;  // (group, total, trainable)
};
ParameterCounts count_parameters(const NetworkImpl& net);

// Renames keys of a checkpoint written by the released PyTorch code to this library's names
// (identical except legacy torchvision MLP names `mlp.linear_1/2`).
io::StateDict from_released_layout(const io::StateDict& state);

}  // namespace mmdg::model
