#include "mmdg/train/ogm_ge_strategy.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>

namespace mmdg::train {

OGMCoefficients ogm_coefficients(const std::array<double, 3>& s, double alpha, OGMCoefficient form) {
  OGMCoefficients c;
  for (int m = 0; m < 3; ++m) {
    c.ratio[m] = s[m] / std::max(mean_of_others(s, m), 1e-12);
    if (c.ratio[m] > 1)
      c.coefficient[m] = 1 - std::tanh(alpha * (form == OGMCoefficient::Paper ? c.ratio[m] : c.ratio[m] - 1));
  }
  return c;
}

OGMGEStrategy::OGMGEStrategy(const TrainOptions& o, model::NetworkImpl& net, const StrategyContext&)
    : options_(o), trainable_(trainable_tensors_by_branch(net)) {}

StepResult OGMGEStrategy::step(model::NetworkImpl& net, const TrainBatch& batch) {
  const auto out = net.forward(batch.rgb, batch.depth, batch.ir);
  const auto ce = torch::nn::functional::cross_entropy(out.logits, batch.labels);
  std::vector<torch::Tensor> scores;  // each modality's summed probability of the true class
  for (int m = 0; m < 3; ++m)
    scores.push_back(torch::softmax(out.modality_logits[m].detach(), 1).gather(1, batch.labels.unsqueeze(1)).sum());
  // the loss and the scores in the step's one read
  StepResult result = backward_step(ce, trainable_.tensors, LossParts{{"loss_ce", ce}, {"scores", torch::stack(scores)}});
  const auto read = result.log["scores"].get<std::vector<double>>();
  const std::array<double, 3> score{read[0], read[1], read[2]};
  const OGMCoefficients c = ogm_coefficients(score, options_.ogm_ge.alpha, options_.ogm_ge.coefficient);
  const bool modulate = in_first_fraction(batch.epoch, options_.ogm_ge.until, options_.epochs);
  result.log.update({{"scores", score}, {"ratio", c.ratio}, {"coefficient", c.coefficient}, {"modulating", modulate}});
  if (modulate) {
    torch::NoGradGuard no_grad;
    for (std::size_t i = 0; i < trainable_.tensors.size(); ++i) {
      auto& g = trainable_.tensors[i].mutable_grad();
      const int branch = trainable_.branches[i];
      if (branch < 0 || g.dim() < 2) continue;
      // the unmodulated gradient's (unbiased) std, two-pass, on the device: LibTorch's std() of a
      // CPU tensor reduced to one number reads its result to the host, a sync per tensor
      const double dof = static_cast<double>(std::max<std::int64_t>(g.numel() - 1, 1));
      const auto spread = ((g - g.mean()).pow(2).sum() / dof).sqrt() + 1e-8;
      g.mul_(c.coefficient[static_cast<std::size_t>(branch)]);
      if (options_.ogm_ge.noise) g.add_(torch::randn_like(g) * spread);
    }
  }
  return result;
}

}  // namespace mmdg::train
