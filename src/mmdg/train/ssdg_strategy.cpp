#include "mmdg/train/ssdg_strategy.h"

#include <torch/torch.h>

#include <cmath>

namespace mmdg::train {

torch::Tensor batch_all_triplet_loss(const torch::Tensor& embedding, const torch::Tensor& classes, double margin) {
  const auto B = embedding.size(0);
  // Euclidean distances (B, B); the small floor keeps the gradient of sqrt finite at 0.
  const auto diff = embedding.unsqueeze(1) - embedding.unsqueeze(0);        // (B, B, D)
  const auto distance = (diff.pow(2).sum(2) + 1e-16).sqrt();                // (B, B)
  const auto same = classes.unsqueeze(1) == classes.unsqueeze(0);           // (B, B)
  const auto not_self = torch::eye(B, torch::TensorOptions().dtype(torch::kBool).device(embedding.device())).logical_not();
  const auto positive = (same & not_self).unsqueeze(2);                     // (a, p, 1)
  const auto negative = same.logical_not().unsqueeze(1);                    // (a, 1, n)
  const auto valid = positive & negative;                                    // (a, p, n)
  const auto loss = torch::relu(distance.unsqueeze(2) - distance.unsqueeze(1) + margin) * valid;  // (a, p, n)
  const auto active = (loss > 1e-16).sum().to(loss.dtype());
  return loss.sum() / (active + 1e-16);
}

torch::Tensor single_side_classes(const torch::Tensor& labels, const torch::Tensor& sources) {
  return torch::where(labels == 1, torch::zeros_like(sources), sources + 1);
}

SSDGStrategy::SSDGStrategy(const TrainOptions& o, model::NetworkImpl& net, const StrategyContext& c) : options_(o.ssdg) {
  if (!net.options().normalized_head)
    throw Error("strategy ssdg: the network must have normalized_head = true (SSDG's normalized classifier)");
  discriminator_ = DomainDiscriminator(ssdg_discriminator(net.embedding_dim(), std::max<std::int64_t>(c.num_sources, 2)));
  discriminator_->to(c.device);
  own(discriminator_.ptr());
  trainable_ = trainable_tensors(net, parameters());
}

StepResult SSDGStrategy::step(model::NetworkImpl& net, const TrainBatch& batch) {
  discriminator_->train();
  const auto out = net.forward(batch.rgb, batch.depth, batch.ir);
  const auto ce = torch::nn::functional::cross_entropy(out.logits, batch.labels);
  const auto triplet = batch_all_triplet_loss(out.embedding, single_side_classes(batch.labels, batch.sources),
                                              options_.triplet_margin);
  const auto live = (batch.labels == 1).nonzero().squeeze(1);
  const double coefficient = reversal_coefficient(batch.progress);
  torch::Tensor adversarial = torch::zeros({}, out.logits.options());
  if (live.numel() > 0) {  // single side: only live faces are aligned across domains
    const auto domain_logits = discriminator_(reverse_gradient(out.embedding.index_select(0, live), coefficient));
    adversarial = torch::nn::functional::cross_entropy(domain_logits, batch.sources.index_select(0, live));
  }
  const auto total = ce + options_.triplet_weight * triplet + options_.adversarial_weight * adversarial;
  return backward_step(total, trainable_, LossParts{{"loss_ce", ce}, {"loss_triplet", triplet}, {"loss_adversarial", adversarial}},
                       {{"reversal_coefficient", coefficient}});
}

}  // namespace mmdg::train
