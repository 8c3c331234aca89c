// The parts the ViT-based networks share, under the released code's parameter names so that its
// checkpoints load by name: the stems (per stem k = 1, 2, ...: conv_proj{k} patch embedding,
// class_token{k}, pos_embedding{k}), the encoder (ViT_Encoder.{1..n} torchvision blocks,
// ViT_Encoder.{n+1} final LayerNorm; ViT_Encoder.0 is the released code's parameter-free dropout),
// heads fc_all.0 / fc{k}.0, the freeze policy and the pretrained-backbone loading. A concrete
// network builds these in its constructor, in its own order (that order fixes the random
// initialization for a seed), then calls apply_freeze_policy().
// Letters: B batch, L = 1 + N tokens, N patches, C width, P patch size, S image size.
#pragma once
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include <array>
#include <string>
#include <vector>

#include "mmdg/model/network.h"
#include "mmdg/model/vit.h"

namespace mmdg::model {

class ViTNetworkImpl : public NetworkImpl {
 public:
  using NetworkImpl::NetworkImpl;

  std::string group_of(const std::string& parameter_name) const override;
  LoadReport load_pretrained_backbone(const io::StateDict& vit_weights, const std::string& context) override;

  std::array<torch::nn::Conv2d, 3> conv_proj{nullptr, nullptr, nullptr};  // (C, 3, P, P)
  std::array<torch::Tensor, 3> class_token, pos_embedding;                // (1, 1, C), (1, L, C)
  torch::nn::Dropout encoder_dropout{nullptr};
  std::vector<EncoderBlock> blocks;                                       // ViT_Encoder.{1..n}
  torch::nn::LayerNorm encoder_ln{nullptr};                               // ViT_Encoder.{n+1}

 protected:
  // Stem k (0-based) registered as conv_proj{k+1}, class_token{k+1}, pos_embedding{k+1}.
  void add_stem(int k);
  int num_stems() const { return num_stems_; }
  void add_encoder();
  // A head `name`.0: Linear(in, num_classes).
  torch::nn::Linear add_head(const std::string& name, std::int64_t in);
  // (B, 3, S, S) -> (B, L, C): patch embedding of stem k, class token prepended, position embedding added.
  torch::Tensor embed(int k, const torch::Tensor& images);
  // The three modalities as one token sequence through stem 0 (vit-ama, vp-fas): (B, 3, S, S) x 3 ->
  // [CLS, R patches, D patches, I patches] (B, 1 + 3N, C), each modality's patches with the patch
  // position embeddings, the class token with its own.
  torch::Tensor modality_tokens(const std::array<torch::Tensor, 3>& images);
  // The head `fc` on the class tokens `parts` ((B, C) each) concatenated into e (B, D): logits
  // W e + b (B, K), with normalized_head on e / sqrt(2 |e|) and unit-norm weight columns (SSDG);
  // with several parts also each part's share W_m e_m + b / n (NetworkOutput::modality_logits).
  struct HeadOutput {
    torch::Tensor logits, embedding;
    std::vector<torch::Tensor> shares;
  };
  HeadOutput classify(const torch::nn::Linear& fc, const std::vector<torch::Tensor>& parts) const;
  // One token stream h (B, L, C) through the blocks (with forward_options.after_block), the final
  // LayerNorm and head `fc`: logits, embedding, and the class token as features[m] for every m.
  NetworkOutput encode_one_stream(torch::Tensor h, const torch::nn::Linear& fc, const ForwardOptions& forward_options);
  // The final LayerNorm's class token of the blocks' output h (B, L, C) classified by `fc`: logits,
  // embedding, and the class token as features[m] for every m (one stream).
  NetworkOutput classify_one_stream(const torch::Tensor& h, const torch::nn::Linear& fc);
  // Table 1's input fusion for single-stream networks: registers `fusion`, a 1x1 conv 9 -> 3
  // initialized to the mean of the three modalities (so a pretrained ViT sees an ordinary image).
  torch::nn::Conv2d add_mean_fusion();
  // checked_inputs concatenated along channels (B, 9, S, S).
  torch::Tensor concatenated_inputs(const torch::Tensor& rgb, const torch::Tensor& depth, const torch::Tensor& ir,
                                    const ForwardOptions& forward_options) const;
  // Sets requires_grad by the freeze option: heads, adapters and `fusion` always train; with
  // last-block also the last block, the final LayerNorm, class tokens and position embeddings.
  void apply_freeze_policy();

 private:
  int num_stems_ = 0;
};

}  // namespace mmdg::model
