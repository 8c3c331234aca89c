#include "mmdg/train/vpfas_strategy.h"

#include <torch/torch.h>

#include "mmdg/train/train_options.h"

namespace mmdg::train {

VPFASStrategy::VPFASStrategy(const TrainOptions& o, model::NetworkImpl& net)
    : consistency_weight_(o.vpfas.consistency_weight), trainable_(trainable_tensors(net)) {}

StepResult VPFASStrategy::step(model::NetworkImpl& net, const TrainBatch& batch) {
  namespace F = torch::nn::functional;
  const auto B = batch.rgb.size(0);
  const auto full = net.forward(batch.rgb, batch.depth, batch.ir);
  // the missing case per sample: 0 = depth missing, 1 = IR missing, 2 = both
  const auto cases = torch::randint(0, 3, {B}, torch::TensorOptions(batch.rgb.device()).dtype(torch::kLong));
  const auto keep_depth = (cases == 1).to(batch.rgb.scalar_type()), keep_ir = (cases == 0).to(batch.rgb.scalar_type());
  model::ForwardOptions missing_view;
  missing_view.present = torch::stack({torch::ones_like(keep_depth), keep_depth, keep_ir}, 1);  // (B, 3)
  const auto missing = net.forward(batch.rgb, batch.depth * keep_depth.view({B, 1, 1, 1}),
                                   batch.ir * keep_ir.view({B, 1, 1, 1}), missing_view);
  const auto ce_full = F::cross_entropy(full.logits, batch.labels);
  const auto ce_missing = F::cross_entropy(missing.logits, batch.labels);
  const auto consistency =
      (1 - F::cosine_similarity(missing.features[0], full.features[0].detach(), F::CosineSimilarityFuncOptions().dim(1))).mean();
  const auto total = ce_full + ce_missing + consistency_weight_ * consistency;
  return backward_step(total, trainable_,
                       LossParts{{"loss_ce", ce_full}, {"loss_ce_missing", ce_missing}, {"loss_consistency", consistency}});
}

}  // namespace mmdg::train
