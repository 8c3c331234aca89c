#include "mmdg/train/pmr_strategy.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "mmdg/data/dataset.h"
#include "mmdg/train/ssp_loss.h"

namespace mmdg::train {

PMRWeights pmr_weights(const std::array<double, 3>& s) {
  PMRWeights w;
  for (int m = 0; m < 3; ++m) {
    const double others = mean_of_others(s, m);
    w.beta[m] = std::clamp(others / std::max(s[m], 1e-12) - 1.0, 0.0, 1.0);
    w.gamma[m] = std::clamp(s[m] / std::max(others, 1e-12) - 1.0, 0.0, 1.0);
  }
  return w;
}

PMRStrategy::PMRStrategy(const TrainOptions& o, model::NetworkImpl& net, const StrategyContext& c)
    : options_(o), context_(c), trainable_(trainable_tensors(net)) {
  for (auto& p : prototypes_) p = torch::zeros({2, net.feature_dim()});
  valid_ = torch::zeros({3, 2}, torch::kBool);
}

void PMRStrategy::begin_epoch(model::NetworkImpl& net, const data::MultiDomainDataset* train_set, std::int64_t epoch) {
  if (prototypes_epoch_ == epoch) return;
  if (!train_set)
    throw Error("strategy pmr: begin_epoch needs the training set (the class prototypes are recomputed from a pass over it "
                "at each epoch's start)");
  auto batches = data::ShuffledSampler(train_set->size(), static_cast<std::size_t>(options_.eval_batch_size))
                     .epoch(static_cast<std::uint64_t>(options_.seed) * 7919ull + static_cast<std::uint64_t>(epoch));
  const auto keep = std::max<std::size_t>(1, static_cast<std::size_t>(std::ceil(options_.pmr.subset * static_cast<double>(batches.size()))));
  batches.resize(std::min(keep, batches.size()));
  const auto by_class = [](const torch::Tensor& labels, const torch::Tensor&) { return labels; };
  const auto sums = sum_features_by_group(net, *train_set, batches, 2, by_class, context_.device,
                                          static_cast<int>(context_.workers), context_.group);
  const double eps = options_.pmr.prototype_momentum;
  for (int m = 0; m < 3; ++m)
    for (int k = 0; k < 2; ++k) {
      const auto n = sums.counts[k].item<std::int64_t>();
      if (n == 0) continue;  // no sample of the class in the subset: keep the old center
      const auto center = sums.sums[m][k] / static_cast<double>(n);
      const bool had = valid_[m][k].item<bool>();
      prototypes_[m][k].copy_(had ? eps * prototypes_[m][k] + (1 - eps) * center : center);
      valid_[m][k] = true;
    }
  prototypes_epoch_ = epoch;
}

StepResult PMRStrategy::step(model::NetworkImpl& net, const TrainBatch& batch) {
  const auto out = net.forward(batch.rgb, batch.depth, batch.ir);
  const auto ce = torch::nn::functional::cross_entropy(out.logits, batch.labels);
  const bool rebalance = in_first_fraction(batch.epoch, options_.pmr.until, options_.epochs) &&
                         valid_.all().item<bool>();
  const bool regularize = rebalance && in_first_fraction(batch.epoch, options_.pmr.entropy_until, options_.epochs);
  std::array<torch::Tensor, 3> pce, entropy;
  std::array<double, 3> score{};
  for (int m = 0; m < 3; ++m) {
    const auto centers = prototypes_[m].to(out.features[m].device());                       // (2, C)
    const auto log_p = torch::log_softmax(-torch::cdist(out.features[m], centers), 1);      // (B, 2), Eq. 7
    pce[m] = torch::nn::functional::nll_loss(log_p, batch.labels);                           // Eq. 9
    entropy[m] = -(log_p.exp() * log_p).sum(1).mean();
    score[m] = log_p.gather(1, batch.labels.unsqueeze(1)).exp().sum().item<double>();       // Eq. 8's sums
  }
  const PMRWeights w = pmr_weights(score);
  auto total = ce;
  for (int m = 0; m < 3; ++m) {
    if (rebalance && w.beta[m] > 0) total = total + options_.pmr.pce_weight * w.beta[m] * pce[m];
    if (regularize && w.gamma[m] > 0) total = total - options_.pmr.entropy_weight * w.gamma[m] * entropy[m];
  }
  std::array<double, 3> pce_value{};
  for (int m = 0; m < 3; ++m) pce_value[m] = pce[m].item<double>();
  return backward_step(total, trainable_,
                       {{"loss_ce", ce.item<double>()}, {"loss_pce", pce_value}, {"prototype_scores", score},
                        {"beta", w.beta}, {"gamma", w.gamma}, {"rebalancing", rebalance}});
}

void PMRStrategy::save(torch::serialize::OutputArchive& archive) const {
  for (int m = 0; m < 3; ++m) archive.write("pmr_prototypes_" + std::to_string(m), prototypes_[m]);
  archive.write("pmr_valid", valid_);
  archive.write("pmr_prototypes_epoch", torch::tensor({prototypes_epoch_}, torch::kLong));
}

void PMRStrategy::load(torch::serialize::InputArchive& archive) {
  torch::Tensor epoch;
  for (int m = 0; m < 3; ++m) archive.read("pmr_prototypes_" + std::to_string(m), prototypes_[m]);
  archive.read("pmr_valid", valid_);
  archive.read("pmr_prototypes_epoch", epoch);
  prototypes_epoch_ = epoch[0].item<std::int64_t>();
}

}  // namespace mmdg::train
