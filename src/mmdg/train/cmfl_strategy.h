// Strategy `cmfl`: Cross-Modal Focal Loss (George & Marcel, CVPR 2021), extended to three
// modalities; needs a network with modality branches.
// - the network's fused head is the joint head; the strategy adds one linear head per modality on
//   its class token (heads.{rgb,depth,ir}: C -> 2, softmax; the reference uses sigmoid outputs);
// - each modality's probability of the true class p_m = exp(-CE_m) and the cross-modal weight
//   w(p, q) = q * 2 p q / (p + q), q the confidence of the other modalities;
//   CMFL_m = (1 - w(p_m, q_m))^gamma * CE_m, averaged over the batch;
// - three streams: q_m = the mean of the other two modalities' p (with two streams exactly the
//   reference's q = the other stream's p); L_CMFL = mean over the modalities (the reference's 0.5 (a + b));
// - L = (1 - lambda) CE(joint) + lambda L_CMFL; the score at test time is the joint head's (the
//   reference's "rgbd" scoring).
#pragma once
#include <torch/nn/modules/linear.h>

#include <array>

#include "mmdg/train/strategy.h"

namespace mmdg::train {

// The per-modality CMFL terms (B) from the per-modality CE_m (B) each; q from the others' p (detached
// when detach_other).
std::array<torch::Tensor, 3> cross_modal_focal_terms(const std::array<torch::Tensor, 3>& ce, double gamma,
                                                    bool detach_other);

class CMFLStrategy : public ModuleStrategy {
 public:
  CMFLStrategy(const TrainOptions& options, model::NetworkImpl& net, const StrategyContext& context);
  StepResult step(model::NetworkImpl& net, const TrainBatch& batch) override;

 private:
  CMFLOptions options_;
  std::shared_ptr<torch::nn::Module> heads_;
  std::array<torch::nn::Linear, 3> head_{nullptr, nullptr, nullptr};
  std::vector<torch::Tensor> trainable_;
};

}  // namespace mmdg::train
