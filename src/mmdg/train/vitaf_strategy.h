// Strategy `vitaf`: ViTAF's training in the zero-shot setting (Huang et al. 2022; the authors' code,
// hhsinping/few_shot_fas train.py): cross-entropy on the logits plus `vitaf_cosine_weight` times the
// network's ensemble diversity term (NetworkOutput::regularizer, model/vitaf.h), in one backward
// pass. It asks the network for freeze = adapters-only (the code trains only the adapters and the
// FWT parameters; here with the head and the fusion conv, in one stage) and SSDG's normalized head
// (the code's classifier: features scaled by 1 / sqrt(2 |f|), unit-norm weight columns).
// Simplifications against the code: one training stage instead of a head-only stage followed by
// an adapters-only stage with the head frozen; no 512-wide embedder before the head; the diversity
// term is added (the code computes it but never adds it to its loss).
#pragma once
#include "mmdg/train/strategy.h"

namespace mmdg::train {

class ViTAFStrategy : public Strategy {
 public:
  ViTAFStrategy(const TrainOptions& options, model::NetworkImpl& net);
  StepResult step(model::NetworkImpl& net, const TrainBatch& batch) override;

 private:
  double cosine_weight_;
  std::vector<torch::Tensor> trainable_;
};

}  // namespace mmdg::train
