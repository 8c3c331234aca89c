// The MMDG network (paper Sec. 3, Fig. 3; released code's MMDG): three branches (R = RGB, D =
// depth, I = infrared) with their own patch embedding, class token and position embedding,
// sharing the pretrained ViT blocks; U-Adapters R<-D, R<-I, D<-R, I<-R at the MLP output of every
// block (D and I never interact directly); Monte Carlo dropout uncertainty on every block's MHSA
// output; a head on the concatenated class tokens.
//
// Parameter names are the released code's checkpoint keys (modality 1 = R, 2 = D, 3 = I):
//   conv_proj{1,2,3}.*, class_token{1,2,3}, pos_embedding{1,2,3}, ViT_Encoder.{1..n}.* (the
//   torchvision blocks), ViT_Encoder.{n+1}.* (final LayerNorm), fc_all.0.* (or fc{1,2,3}.0.* with
//   per-modality heads), adapter_{1_2,2_1,1_3,3_1}_2.{0..n-1}.* (adapter_a_b_2 feeds a from b).
//
// The three branches go through each shared layer as one batch of 3B tokens sequences.
//
// With method = "vit" the same class is the paper's Table 1 ViT baseline: `fusion` (1x1 conv,
// 9 -> 3 channels, initialized to the mean of the three modalities) over the channel-concatenated
// inputs, then one stem (conv_proj1, class_token1, pos_embedding1), the blocks, the final
// LayerNorm and `fc_all.0` (C -> num_classes) on the class token; no adapters, no uncertainty.
// Letters: B batch, L tokens, C width, M = 3 modalities.
#pragma once
#include <torch/nn.h>

#include <array>
#include <string>
#include <vector>

#include "mmdg/io/state_dict.h"
#include "mmdg/model/mmdg_options.h"
#include "mmdg/model/module_state.h"
#include "mmdg/model/u_adapter.h"
#include "mmdg/model/uncertainty.h"
#include "mmdg/model/vit.h"

namespace mmdg::model {

constexpr int kNumModalities = 3;
enum Modality : int { kRGB = 0, kDepth = 1, kIR = 2 };
const char* modality_name(int m);  // "rgb", "depth", "ir"

struct ForwardOptions {
  std::array<bool, 3> missing{false, false, false};  // a missing modality's input is zero
  bool attention_maps = false;                         // keep the last block's adapter attention
};

struct MMDGOutput {
  torch::Tensor logits;                       // (B, num_classes), fused
  std::array<torch::Tensor, 3> features;      // class tokens after the final LayerNorm, (B, C)
  std::array<torch::Tensor, 3> modality_logits;  // per-modality heads only, (B, num_classes)
  std::array<torch::Tensor, 3> reliability;   // last block's token reliability, mean over channels, (B, L)
  std::array<torch::Tensor, 3> class_reliability;  // batch mean of the last block's class-token U, scalar
  // Last block's adapter attention maps (B, h, L, L), on request, keyed "1_2", "1_3", "2_1", "3_1".
  std::vector<std::pair<std::string, torch::Tensor>> attention;
};

class MMDGNetImpl : public torch::nn::Module {
 public:
  explicit MMDGNetImpl(const MMDGOptions& options);

  // images (B, 3, S, S) each -> outputs.
  MMDGOutput forward(const torch::Tensor& rgb, const torch::Tensor& depth, const torch::Tensor& ir,
                     const ForwardOptions& forward_options = {});

  // One block on the stacked streams h (3B, L, C) -> (3B, L, C): MHSA, uncertainty, MLP and the
  // four U-Adapters. `token_reliability` receives (3B, L); `attention` the adapters' maps.
  torch::Tensor block_step(std::size_t i, const torch::Tensor& h, torch::Tensor* token_reliability = nullptr,
                           std::vector<std::pair<std::string, torch::Tensor>>* attention = nullptr);

  // Sets requires_grad by the `freeze` option.
  void apply_freeze_policy();

  // Copies pretrained ViT weights (torchvision or timm names) into the blocks, final LayerNorm,
  // the three patch embeddings and class tokens (and position embeddings when
  // pos_embedding_init = pretrained). A head in the file is ignored; anything else the model needs
  // but the file lacks, or with another shape, is an error naming the tensors.
  LoadReport load_pretrained_backbone(const io::StateDict& vit_weights, const std::string& context);

  const MMDGOptions& options() const { return options_; }
  // Switches the uncertainty estimator (a forward-time choice; weights are unchanged).
  void set_estimator(const std::string& estimator);

  std::array<torch::nn::Conv2d, 3> conv_proj{nullptr, nullptr, nullptr};
  std::array<torch::Tensor, 3> class_token, pos_embedding;  // (1, 1, C), (1, L, C)
  torch::nn::Dropout encoder_dropout{nullptr};
  std::vector<EncoderBlock> blocks;                         // ViT_Encoder.{1..n}
  torch::nn::LayerNorm encoder_ln{nullptr};                 // ViT_Encoder.{n+1}
  std::vector<UAdapter> adapter_1_2, adapter_1_3, adapter_2_1, adapter_3_1;
  torch::nn::Linear fc_all{nullptr};                        // head = concat (or the baseline's head)
  torch::nn::Conv2d fusion{nullptr};                        // method = vit: 9 -> 3 channels
  std::array<torch::nn::Linear, 3> fc{nullptr, nullptr, nullptr};  // head = per-modality

 private:
  MMDGOutput forward_baseline(const torch::Tensor& rgb, const torch::Tensor& depth, const torch::Tensor& ir,
                              const ForwardOptions& forward_options);
  bool baseline() const { return options_.method == "vit"; }

  MMDGOptions options_;
  UncertaintyOptions uncertainty_;
};
TORCH_MODULE(MMDGNet);

// Parameter bookkeeping by name.
// Modality branch a parameter belongs to (0 R, 1 D, 2 I) or -1 for shared ones (blocks, final
// LayerNorm, fused head): the branch of ReGrad's modulation.
int branch_of(const std::string& parameter_name);
// "backbone" (blocks, final LayerNorm), "stems" (patch embeddings, class tokens, position
// embeddings), "adapters", "head".
std::string group_of(const std::string& parameter_name);

struct ParameterCounts {
  std::int64_t total = 0, trainable = 0;
  std::vector<std::tuple<std::string, std::int64_t, std::int64_t>> groups;  // (group, total, trainable)
};
ParameterCounts count_parameters(const MMDGNetImpl& net);

// Renames keys of a checkpoint written by the released PyTorch code to this network's names
// (identical except legacy torchvision MLP names `mlp.linear_1/2`).
io::StateDict from_released_layout(const io::StateDict& state);

}  // namespace mmdg::model
