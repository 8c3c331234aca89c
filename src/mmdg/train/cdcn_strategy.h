// Strategy `cdcn`: MM-CDCN's pixel-wise supervision (Yu et al., CVPRW 2020; the authors' training
// code in ZitongYu/CDCN FAS_challenge_CVPRW2020). The network's map (NetworkOutput::map, (B, M, M))
// is regressed onto a binary target: all ones for a live face, all zeros for a spoof. The authors
// use a binary face mask; our lists carry no masks, and the inputs are face crops, so the whole
// crop counts as face. Pseudo-depth maps (CDCN's single-modal supervision) are not used: the
// datasets' depth images are an input modality here, not a label. Loss:
//   L = MSE(map, target) + cdcn_contrast_weight * MSE(K * map, K * target)
// with K the eight 3 x 3 contrastive-depth kernels (centre -1, one neighbour +1), no padding.
// It trains network mm-cdcn only (its registry entry's only_network).
#pragma once
#include "mmdg/train/strategy.h"

namespace mmdg::train {

// The eight neighbour-difference responses of maps (B, M, M): (B, 8, M - 2, M - 2).
torch::Tensor contrast_depth(const torch::Tensor& maps);
// MSE(contrast_depth(prediction), contrast_depth(target)) for maps (B, M, M).
torch::Tensor contrast_depth_loss(const torch::Tensor& prediction, const torch::Tensor& target);
// The binary target maps (B, M, M): labels (B) int64 (1 = live) broadcast over the map.
// On the labels' device, in `dtype`.
torch::Tensor binary_target_maps(const torch::Tensor& labels, std::int64_t map_size, torch::ScalarType dtype);

class CDCNStrategy : public Strategy {
 public:
  CDCNStrategy(const TrainOptions& options, model::NetworkImpl& net);
  StepResult step(model::NetworkImpl& net, const TrainBatch& batch) override;

 private:
  double contrast_weight_;
  std::vector<torch::Tensor> trainable_;
};

}  // namespace mmdg::train
