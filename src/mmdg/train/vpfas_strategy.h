// Strategy `vpfas`: VP-FAS's training as we read its abstract (Yu et al. 2023; no code public): the
// prompts and head of the frozen ViT learn from two views of each batch,
//   the full view (the modalities as given)        CE(full)
//   a missing view: each sample's depth, IR or both zeroed (uniformly one of the three cases, RGB
//   kept), its prompts chosen for that case          CE(missing)
//   the missing-modality regularization: consistent embeddings across the two,
//   vpfas_consistency_weight * mean(1 - cos(f_missing, stop_gradient(f_full)))
// f the final LayerNorm's class token. The sum is one backward pass. The abstract names the
// regularization's aim (consistent multimodal embeddings when modalities are missing) but not its
// form, weight or stop-gradient: those are our choices. It asks the network for
// freeze = adapters-only and trains network vp-fas only.
#pragma once
#include "mmdg/train/strategy.h"

namespace mmdg::train {

class VPFASStrategy : public Strategy {
 public:
  VPFASStrategy(const TrainOptions& options, model::NetworkImpl& net);
  StepResult step(model::NetworkImpl& net, const TrainBatch& batch) override;

 private:
  double consistency_weight_;
  std::vector<torch::Tensor> trainable_;
};

}  // namespace mmdg::train
