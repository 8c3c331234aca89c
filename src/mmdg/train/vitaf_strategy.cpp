#include "mmdg/train/vitaf_strategy.h"

#include <torch/torch.h>

#include "mmdg/train/train_options.h"
#include "mmdg/util/error.h"

namespace mmdg::train {

ViTAFStrategy::ViTAFStrategy(const TrainOptions& o, model::NetworkImpl& net)
    : cosine_weight_(o.vitaf.cosine_weight), trainable_(trainable_tensors(net)) {
  if (net.options().network != "vitaf")
    throw UsageError("strategy vitaf trains network vitaf (its ensemble adapters' diversity term), not " + net.options().network);
}

StepResult ViTAFStrategy::step(model::NetworkImpl& net, const TrainBatch& batch) {
  const auto out = net.forward(batch.rgb, batch.depth, batch.ir);
  const auto ce = torch::nn::functional::cross_entropy(out.logits, batch.labels);
  const auto total = ce + cosine_weight_ * out.regularizer;
  return backward_step(total, trainable_, LossParts{{"loss_ce", ce}, {"loss_cosine", out.regularizer}});
}

}  // namespace mmdg::train
