// One training step's losses and gradients: fused cross-entropy + lambda * per-modality SSP
// losses, combined by ReGrad (four backward passes: one per SSP loss and one for CE) or, for the
// `none` variant, by one plain backward pass of the summed loss.
#pragma once
#include <torch/types.h>

#include <array>

#include "mmdg/model/mmdg_net.h"
#include "mmdg/train/regrad.h"
#include "mmdg/train/ssp_loss.h"

namespace mmdg::train {

struct StepLosses {
  torch::Tensor ce;                 // scalar, fused head
  std::array<torch::Tensor, 3> ssp; // scalar per modality (unweighted)
  std::array<double, 3> reliability{1, 1, 1};  // batch mean class-token reliability per modality
  torch::Tensor logits;             // (B, num_classes), detached
  std::array<torch::Tensor, 3> features;  // class tokens (B, C), detached
  torch::Tensor domains;            // (B) SSP domain of each sample
};

// Forward + losses. labels, sources: (B) int64 on the model's device.
StepLosses compute_losses(model::MMDGNetImpl& net, const torch::Tensor& rgb, const torch::Tensor& depth,
                          const torch::Tensor& ir, const torch::Tensor& labels, const torch::Tensor& sources,
                          const std::array<Prototypes, 3>& prototypes);

// Writes the parameters' gradients (zeroing them first). Returns ReGrad's statistics.
ReGradStats backward(model::MMDGNetImpl& net, const StepLosses& losses, double ssp_weight, int fast,
                     const ReGradOptions& options);

}  // namespace mmdg::train
