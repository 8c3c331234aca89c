#include "mmdg/train/ce_strategy.h"

#include <torch/torch.h>

#include <cmath>

namespace mmdg::train {

CEStrategy::CEStrategy(model::NetworkImpl& net) : trainable_(trainable_tensors(net)) {}

StepResult CEStrategy::step(model::NetworkImpl& net, const TrainBatch& batch) {
  const auto out = net.forward(batch.rgb, batch.depth, batch.ir);
  const auto ce = torch::nn::functional::cross_entropy(out.logits, batch.labels);  // Eq. 8's L_ce
  return backward_step(ce, trainable_, LossParts{{"loss_ce", ce}});
}

}  // namespace mmdg::train
