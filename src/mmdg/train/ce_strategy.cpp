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
  backward_replacing_grads(ce, trainable_);
  StepResult result;
  result.loss = loss;
  result.log = {{"loss_ce", loss}};
  return result;
}

}  // namespace mmdg::train
