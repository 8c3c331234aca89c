// Strategy `pmr`: Prototypical Modal Rebalance (Fan et al., CVPR 2023), extended to three
// modalities; needs a network with modality branches.
// - prototypes: per modality, the class centers (live, spoof) of the class-token features over a
//   random `pmr_subset` of the training batches (eval mode, no gradient), recomputed at every
//   epoch's start, c <- eps c_old + (1 - eps) c_new (Eq. 12);
// - prototype probabilities p_m = softmax(-|f_m - c_m|) (Eq. 7, Euclidean, no temperature) and the
//   prototypical cross-entropy PCE_m = CE(-|f_m - c_m|, y) (Eq. 9);
// - per step the modality scores s_m = sum_i p_m,i[y_i] and, against the mean of the others
//   r_m = mean_{j != m} s_j, the slow modality's boost beta_m = clip(r_m / s_m - 1, 0, 1) and the fast
//   one's entropy weight gamma_m = clip(s_m / r_m - 1, 0, 1). With two modalities these are exactly
//   the paper's beta = clip(1/rho - 1) and gamma = clip(rho - 1) (Eq. 11, 13, rho = s_0 / s_1);
// - L = CE + alpha sum_m beta_m PCE_m - mu sum_m gamma_m H(p_m)   (Eq. 13; PCE within `pmr_until`
//   of the epochs, the entropy term within `pmr_entropy_until`).
// This follows the paper's equations; the authors' released code instead switches a fixed alpha on
// the weak modality's PCE and has no entropy term.
#pragma once
#include <array>

#include "mmdg/train/strategy.h"

namespace mmdg::train {

// The per-modality rebalancing weights from the scores s_m: beta (PCE boost of slow modalities) and
// gamma (entropy weight of fast ones), as documented above.
struct PMRWeights {
  std::array<double, 3> beta{}, gamma{};
};
PMRWeights pmr_weights(const std::array<double, 3>& scores);

class PMRStrategy : public Strategy {
 public:
  PMRStrategy(const TrainOptions& options, model::NetworkImpl& net, const StrategyContext& context);
  void begin_epoch(model::NetworkImpl& net, const data::MultiDomainDataset* train_set, std::int64_t epoch) override;
  StepResult step(model::NetworkImpl& net, const TrainBatch& batch) override;
  void save(torch::serialize::OutputArchive& archive) const override;
  void load(torch::serialize::InputArchive& archive) override;

  const std::array<torch::Tensor, 3>& prototypes() const { return prototypes_; }

 private:
  TrainOptions options_;
  StrategyContext context_;
  std::vector<torch::Tensor> trainable_;
  std::array<torch::Tensor, 3> prototypes_;  // (2, C) per modality: row 0 spoof, row 1 live
  torch::Tensor valid_;                      // (3, 2) bool: the class had samples
  std::int64_t prototypes_epoch_ = -1;
};

}  // namespace mmdg::train
