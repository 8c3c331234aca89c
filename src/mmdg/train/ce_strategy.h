// Strategy `ce`: cross-entropy on the fused logits, one backward pass. How the paper trains its
// baselines without a strategy of their own (Table 1's ViT, Table 4's "ViT" row); any network.
#pragma once
#include "mmdg/train/strategy.h"

namespace mmdg::train {

class CEStrategy : public Strategy {
 public:
  explicit CEStrategy(model::NetworkImpl& net);
  StepResult step(model::NetworkImpl& net, const TrainBatch& batch) override;

 private:
  std::vector<torch::Tensor> trainable_;
};

}  // namespace mmdg::train
