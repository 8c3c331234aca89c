#include "mmdg/train/ama_strategy.h"

#include <torch/torch.h>

#include "mmdg/train/train_options.h"

namespace mmdg::train {

AMAStrategy::AMAStrategy(const TrainOptions& o, model::NetworkImpl& net)
    : drop_(o.ama.modality_drop), trainable_(trainable_tensors(net)) {}

StepResult AMAStrategy::step(model::NetworkImpl& net, const TrainBatch& batch) {
  const auto B = batch.rgb.size(0);
  const auto options = batch.rgb.options();
  // per sample, 1 keeps the modality and 0 zeroes its image: (B, 1, 1, 1) each
  const auto keep = [&] { return (torch::rand({B, 1, 1, 1}, options) >= drop_).to(batch.rgb.scalar_type()); };
  const auto keep_depth = keep(), keep_ir = keep();
  const auto out = net.forward(batch.rgb, batch.depth * keep_depth, batch.ir * keep_ir);
  const auto ce = torch::nn::functional::cross_entropy(out.logits, batch.labels);
  const auto present = torch::stack({keep_depth.mean(), keep_ir.mean()});  // (2): shares of the batch with depth, IR
  return backward_step(ce, trainable_, LossParts{{"loss_ce", ce}, {"present_depth_ir", present}});
}

}  // namespace mmdg::train
