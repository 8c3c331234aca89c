// Strategy `ogm-ge`: On-the-fly Gradient Modulation with Generalization Enhancement (Peng et al.,
// CVPR 2022), extended to three modalities; needs a network with modality branches.
// - one CE backward on the fused logits;
// - each modality's share of the fused head, out_m = W_m f_m + b / 3 (NetworkOutput::modality_logits),
//   gives its score s_m = sum_i softmax(out_m)_i[y_i] and its discrepancy ratio against the mean of
//   the others, rho_m = s_m / mean_{j != m} s_j (with two modalities exactly the paper's s_a / s_v);
// - a dominant modality (rho_m > 1) gets the coefficient k_m = 1 - tanh(alpha rho_m) (the paper's
//   Eq. 10 and the reference code; option ogm_ge_coefficient = shifted: 1 - tanh(alpha relu(rho_m -
//   1))), the others k = 1;
// - the gradients of the modality's branch (NetworkImpl::branch_of == m; tensors of more than one
//   dimension, as the reference code modulates its encoders' weights and not biases or norms)
//   become g k_m + N(0, std(g)^2) (GE; std of the unmodulated gradient; noise on every branch);
//   shared parameters (blocks, head) are untouched: OGM-GE modulates modality encoders only;
// - within the first `ogm_ge_until` of the epochs.
#pragma once
#include <array>

#include "mmdg/train/strategy.h"

namespace mmdg::train {

// The discrepancy ratios rho_m and coefficients k_m from the scores s_m.
struct OGMCoefficients {
  std::array<double, 3> ratio{}, coefficient{1, 1, 1};
};
OGMCoefficients ogm_coefficients(const std::array<double, 3>& scores, double alpha, OGMCoefficient form);

class OGMGEStrategy : public Strategy {
 public:
  OGMGEStrategy(const TrainOptions& options, model::NetworkImpl& net, const StrategyContext& context);
  StepResult step(model::NetworkImpl& net, const TrainBatch& batch) override;
  bool changes_gradients_after_backward() const override { return true; }  // this slice's coefficients

 private:
  TrainOptions options_;
  BranchedTensors trainable_;
};

}  // namespace mmdg::train
