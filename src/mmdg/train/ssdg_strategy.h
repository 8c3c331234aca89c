// Strategy `ssdg`: Single-Side Domain Generalization (Jia et al., CVPR 2020), on any network.
//   L = CE + lambda_trip * L_trip + lambda_ad * L_ad
// - normalized features and classifier: the network's head runs with normalized_head (set by the
//   strategy for new runs, so evaluation classifies the same way): e / sqrt(2 |e|), unit columns;
// - asymmetric triplet loss on the normalized embedding (the head's input: the class token, or the
//   concatenated class tokens of a network with branches): live faces of every source one class,
//   each source's spoofs a class of their own; batch-all triplets, Euclidean, margin 0.1, mean over
//   the triplets still active (the reference HardTripletLoss(hardest=False));
// - single-side adversarial learning: only live faces' embeddings go through a gradient reversal
//   layer (coefficient 2 / (1 + exp(-10 p)) - 1, p the fraction of training done) into a domain
//   discriminator (D -> 512 -> sources), trained with CE on the source index, in the same step.
// Differences from the reference code: the head's weight is normalized inside the forward (a
// reparameterization) instead of being overwritten in place (a projection); the optimizer and
// schedule are the trainer's (the paper trains every method with its Sec. 4.1 setting).
#pragma once
#include "mmdg/train/adversarial.h"
#include "mmdg/train/strategy.h"

namespace mmdg::train {

// Batch-all triplet loss over (anchor, positive, negative) with class(a) = class(p) != class(n),
// a != p: mean of relu(|a - p| - |a - n| + margin) over the triplets where it is > 1e-16 (0 when
// none). embedding (B, D), classes (B) int64.
torch::Tensor batch_all_triplet_loss(const torch::Tensor& embedding, const torch::Tensor& classes, double margin);

// SSDG's classes: 0 for live faces of every source, 1 + source for spoofs. labels, sources (B).
torch::Tensor single_side_classes(const torch::Tensor& labels, const torch::Tensor& sources);

class SSDGStrategy : public ModuleStrategy {
 public:
  SSDGStrategy(const TrainOptions& options, model::NetworkImpl& net, const StrategyContext& context);
  StepResult step(model::NetworkImpl& net, const TrainBatch& batch) override;

 private:
  SSDGOptions options_;
  std::vector<torch::Tensor> trainable_;  // the network's, then the discriminator's
  DomainDiscriminator discriminator_{nullptr};
};

}  // namespace mmdg::train
