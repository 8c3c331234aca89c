// Test helper: the batch the step-level tests feed a strategy.
#pragma once
#include <torch/torch.h>

#include "mmdg/train/strategy.h"

namespace mmdg::train {

// 8 samples of S x S noise in each modality on `device` (2 sources x live / spoof, alternating),
// drawn from LibTorch's CPU generator, so that a seed gives the same batch on every device.
inline TrainBatch tiny_batch(std::int64_t S, torch::Device device) {
  TrainBatch batch;
  batch.rgb = torch::randn({8, 3, S, S}).to(device);
  batch.depth = torch::randn({8, 3, S, S}).to(device);
  batch.ir = torch::randn({8, 3, S, S}).to(device);
  batch.labels = torch::tensor({1, 0, 1, 0, 1, 0, 1, 0}, torch::kLong).to(device);
  batch.sources = torch::tensor({0, 0, 1, 1, 0, 0, 1, 1}, torch::kLong).to(device);
  batch.progress = 0.25;
  return batch;
}

}  // namespace mmdg::train
