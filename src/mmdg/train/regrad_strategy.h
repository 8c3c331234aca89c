// Strategy `regrad`, the paper's training (Sec. 3.3-3.4): the fused cross-entropy plus lambda times
// each modality's single-side prototypical loss (Eq. 6-7, ssp_loss.h), with the three SSP gradients
// combined by ReGrad (Eq. 5, regrad.h) around the fast modality and scaled by the modalities'
// reliabilities, and the CE gradient added unmodulated:  L = L_ce + lambda * sum_m L_ssp_m  (Eq. 8).
// Needs a network with modality branches; without an uncertainty module the reliabilities are 1.
#pragma once
#include <array>
#include <set>
#include <string>

#include "mmdg/train/regrad.h"
#include "mmdg/train/ssp_loss.h"
#include "mmdg/train/strategy.h"

namespace mmdg::train {

// The parameter names the released regrad.py's loop modulates (ReGradScope::AsReleased): the
// leading run of named_parameters that some SSP loss reaches, up to the first that none does.
std::set<std::string> released_regrad_reach(model::NetworkImpl& net);

class ReGradStrategy : public Strategy {
 public:
  ReGradStrategy(const TrainOptions& options, model::NetworkImpl& net, const StrategyContext& context);

  void begin_epoch(model::NetworkImpl& net, const data::MultiDomainDataset* train_set, std::int64_t epoch) override;
  StepResult step(model::NetworkImpl& net, const TrainBatch& batch) override;
  bool reduces_gradients() const override { return true; }  // the per-loss gradients, before Eq. 5
  void after_step() override;
  nlohmann::json end_epoch() override;
  void save(torch::serialize::OutputArchive& archive) const override;
  void load(torch::serialize::InputArchive& archive) override;

  const std::array<Prototypes, 3>& prototypes() const { return prototypes_; }

 private:
  TrainOptions options_;
  StrategyContext context_;
  ReGradOptions regrad_;
  bool uncertainty_;                       // the network has an uncertainty module
  std::vector<torch::Tensor> trainable_;   // the network's trainable tensors
  std::vector<int> branches_;              // their modality branch (-1 shared)
  std::array<Prototypes, 3> prototypes_;   // per modality, (1 + sources, C)
  std::int64_t prototypes_epoch_ = -1;     // the epoch whose prototypes prototypes_ holds
  FastModalityTracker tracker_;
  std::array<torch::Tensor, 3> last_features_;  // the last step's class tokens (B, C), for the ema update
  torch::Tensor last_domains_;                  // (B)
  std::array<double, 3> epoch_ssp_sum_{0, 0, 0};
  std::int64_t epoch_steps_ = 0;
};

}  // namespace mmdg::train
