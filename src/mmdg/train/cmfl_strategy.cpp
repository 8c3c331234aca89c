#include "mmdg/train/cmfl_strategy.h"

#include <torch/torch.h>

#include <cmath>

namespace mmdg::train {

std::array<torch::Tensor, 3> cross_modal_focal_terms(const std::array<torch::Tensor, 3>& ce, double gamma,
                                                    bool detach_other) {
  std::array<torch::Tensor, 3> p, terms;
  for (int m = 0; m < 3; ++m) p[m] = torch::exp(-ce[m]);  // probability of the true class
  for (int m = 0; m < 3; ++m) {
    auto q = mean_of_others(p, m);
    if (detach_other) q = q.detach();
    const auto w = q * 2 * p[m] * q / (p[m] + q + 1e-9);
    terms[m] = (1 - w).pow(gamma) * ce[m];
  }
  return terms;
}

CMFLStrategy::CMFLStrategy(const TrainOptions& o, model::NetworkImpl& net, const StrategyContext& c) : options_(o.cmfl) {
  heads_ = std::make_shared<torch::nn::Module>("CMFLHeads");
  for (int m = 0; m < 3; ++m)
    head_[m] = heads_->register_module(model::modality_name(m), torch::nn::Linear(net.feature_dim(), net.options().num_classes));
  heads_->to(c.device);
  own(heads_);
  trainable_ = trainable_tensors(net, parameters());
}

StepResult CMFLStrategy::step(model::NetworkImpl& net, const TrainBatch& batch) {
  const auto out = net.forward(batch.rgb, batch.depth, batch.ir);
  const auto joint = torch::nn::functional::cross_entropy(out.logits, batch.labels);
  std::array<torch::Tensor, 3> ce;
  namespace F = torch::nn::functional;
  for (int m = 0; m < 3; ++m)
    ce[m] = F::cross_entropy(head_[m](out.features[m]), batch.labels, F::CrossEntropyFuncOptions().reduction(torch::kNone));
  const auto terms = cross_modal_focal_terms(ce, options_.gamma, options_.detach_other);
  const auto cmfl = (terms[0].mean() + terms[1].mean() + terms[2].mean()) / 3.0;
  const auto total = (1 - options_.weight) * joint + options_.weight * cmfl;
  const auto modality_ce = torch::stack({ce[0].mean(), ce[1].mean(), ce[2].mean()});  // (3)
  return backward_step(total, trainable_, LossParts{{"loss_ce", joint}, {"loss_cmfl", cmfl}, {"modality_ce", modality_ce}});
}

}  // namespace mmdg::train
