// Network `mm-cdcn`: MM-CDCN (Yu et al., CVPR Workshops 2020, "Multi-Modal Face Anti-Spoofing Based
// on Central Difference Networks"), as the authors' CDCN_3modality2 builds it (ZitongYu/CDCN,
// FAS_challenge_CVPRW2020 models). A CNN of central difference convolutions (model/cdc.h, 3x3, no
// bias, theta = cdcn_theta) per modality, trained from scratch (no ViT weights are used), then
// fused. With c = cdcn_width (64 in the paper), w = 196 c / 64, each modality branch k:
//   conv1_M{k}      CDC 3 -> c, BN, ReLU                                  (B, c, S, S)
//   Block{j}_M{k}   j = 1, 2, 3: CDC -> 2c, BN, ReLU, CDC -> w, BN, ReLU, CDC -> 2c, BN, ReLU,
//                   max-pool 3 / stride 2 / pad 1                         (B, 2c, S / 2^j, S / 2^j)
//   the three block outputs resized (bilinear) to M x M, M = S / 8, and concatenated (B, 6c, M, M)
//   lastconv1_M{k}  CDC 6c -> 2c, BN, ReLU                                (B, 2c, M, M)
// Fusion: the branches concatenated (B, 6c, M, M), lastconv2 (CDC -> 2c, BN, ReLU), lastconv3
// (CDC -> 1, ReLU): the map (B, M, M) (32 x 32 at the paper's S = 256). The live score p is the
// map's mean, as the authors score; the logits are (log(1 - p), log p) with p clamped into
// [1e-6, 1 - 1e-6], so that softmax gives back (1 - p, p) and every evaluator reads p unchanged.
// Branch k = 1, 2, 3 reads R, D, I (this library's order). The authors' forward feeds Block2_M1's
// output where Depth's Block2 resize belongs (x_Block2_32x32_M3 = downsample(x_Block2_M1)); here
// each branch uses its own. Features (NetworkOutput::features, embedding): lastconv2's output
// averaged over the map (B, 2c), the same in every slot (one fused stream for the strategies).
// Parameter names follow the authors' module names (conv1_M1.0.conv.weight, conv1_M1.1.running_mean, ...).
// Letters: B batch, S image size, M map size.
#pragma once
#include <torch/nn/modules/container/sequential.h>

#include <array>

#include "mmdg/model/network.h"

namespace mmdg::model {

class MultiModalCDCNImpl : public NetworkImpl {
 public:
  explicit MultiModalCDCNImpl(const NetworkOptions& options);

  NetworkOutput forward_impl(const torch::Tensor& rgb, const torch::Tensor& depth, const torch::Tensor& ir,
                             const ForwardOptions& forward_options) override;
  // -1 for all: the strategies see one fused stream (features), not modality branches.
  int branch_of(const std::string&) const override { return -1; }
  // "stems" (conv1_M*), "backbone" (Block*, lastconv1_M*, lastconv2), "head" (lastconv3).
  std::string group_of(const std::string& parameter_name) const override;
  // Trains from scratch, as its paper: the ViT weights are not used (an info line says so).
  LoadReport load_pretrained_backbone(const io::StateDict& vit_weights, const std::string& context) override;
  std::int64_t feature_dim() const override { return 2 * options_.cdcn_width; }
  std::int64_t map_size() const { return options_.backbone.image_size() / 8; }

  // One modality's branch: image (B, 3, S, S) -> (B, 2c, M, M).
  torch::Tensor branch(int modality, const torch::Tensor& image);

  std::array<torch::nn::Sequential, 3> conv1, block1, block2, block3, lastconv1;
  torch::nn::Sequential lastconv2{nullptr}, lastconv3{nullptr};
};

// The live score of a map (B, M, M): its mean, and the two-class logits (B, 2) whose softmax is
// (1 - p, p), p clamped into [1e-6, 1 - 1e-6].
torch::Tensor map_logits(const torch::Tensor& map);

}  // namespace mmdg::model
