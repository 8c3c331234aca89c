// Strategy `ama`: how ViT + AMA is trained for flexible modalities (Yu et al., IJCV 2024; the
// authors' Flex-Modal-FAS data loader): cross-entropy on the logits, with each training sample's
// depth and infrared images replaced by zeros independently with probability `ama_modality_drop`
// (RGB always kept), so that the adapters learn to fuse whatever modalities are present. A missing
// modality at test time is a zero image too (Protocol 2). Zeros after normalization in training
// too: the Flex-Modal-FAS training loader zeroes before normalizing (about -0.996 per pixel) while
// its test loader passes zeros after; we keep training consistent with testing. It asks the network for
// freeze = adapters-only (the ViT frozen, the AMAs and the head trained); it trains network vit-ama
// only (its registry entry's only_network).
#pragma once
#include "mmdg/train/strategy.h"

namespace mmdg::train {

class AMAStrategy : public Strategy {
 public:
  AMAStrategy(const TrainOptions& options, model::NetworkImpl& net);
  StepResult step(model::NetworkImpl& net, const TrainBatch& batch) override;

 private:
  double drop_;
  std::vector<torch::Tensor> trainable_;
};

}  // namespace mmdg::train
