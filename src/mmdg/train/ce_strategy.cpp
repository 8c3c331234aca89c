#include "mmdg/train/ce_strategy.h"

#include <torch/torch.h>

#include <cmath>

namespace mmdg::train {

CEStrategy::CEStrategy(model::NetworkImpl& net) {
  for (auto& p : net.parameters())
    if (p.requires_grad()) trainable_.push_back(p);
}

StepResult CEStrategy::step(model::NetworkImpl& net, const TrainBatch& batch) {
  const auto out = net.forward(batch.rgb, batch.depth, batch.ir);
  const auto ce = torch::nn::functional::cross_entropy(out.logits, batch.labels);  // Eq. 8's L_ce
  const double loss = ce.item<double>();
  if (!std::isfinite(loss)) throw NonFiniteLoss("the loss is not finite (ce " + std::to_string(loss) + ")");
  for (auto& p : trainable_)
    if (p.grad().defined()) p.mutable_grad() = torch::Tensor();
  ce.backward();
  for (auto& p : trainable_)  // a tensor CE does not reach still gets Adam's weight decay, as with a zero gradient
    if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
  StepResult result;
  result.loss = loss;
  result.log = {{"loss_ce", loss}};
  return result;
}

}  // namespace mmdg::train
