#include "mmdg/train/ssan_strategy.h"

#include <torch/torch.h>

#include <cmath>

#include "mmdg/train/token_style.h"

namespace mmdg::train {

std::size_t assembly_block(std::int64_t option, std::int64_t num_blocks, const std::string& option_name) {
  if (option == -1) return static_cast<std::size_t>(std::max<std::int64_t>(0, num_blocks - 2));
  if (option < 0 || option >= num_blocks)
    throw UsageError("option " + option_name + ": " + std::to_string(option) + " is not a block of the network (0.." +
                std::to_string(num_blocks - 1) + ", or -1)");
  return static_cast<std::size_t>(option);
}

torch::Tensor shuffled_contrastive_loss(const torch::Tensor& anchor, const torch::Tensor& shuffled, const torch::Tensor& same) {
  const auto y = torch::where(same, torch::ones_like(same, anchor.options()), -torch::ones_like(same, anchor.options()));
  const auto cosine = torch::nn::functional::cosine_similarity(anchor.detach(), shuffled,
                                                               torch::nn::functional::CosineSimilarityFuncOptions().dim(1));
  return (-y * cosine).mean();
}

SSANStrategy::SSANStrategy(const TrainOptions& o, model::NetworkImpl& net, const StrategyContext& c)
    : options_(o.ssan), block_(assembly_block(o.ssan.block, net.options().backbone.num_layers(), "ssan_block")) {
  discriminator_ = DomainDiscriminator(ssan_discriminator(net.embedding_dim(), std::max<std::int64_t>(c.num_sources, 2)));
  discriminator_->to(c.device);
  own(discriminator_.ptr());
  trainable_ = trainable_tensors(net, parameters());
}

StepResult SSANStrategy::step(model::NetworkImpl& net, const TrainBatch& batch) {
  discriminator_->train();
  const auto B = batch.labels.size(0);
  // Self assembly (the plain forward), keeping the content's class tokens at block k.
  torch::Tensor content;  // (nB, C)
  model::ForwardOptions self;
  self.after_block = [&](std::size_t i, const torch::Tensor& h) {
    if (i == block_) content = h.select(1, 0);
    return h;
  };
  const auto out = net.forward(batch.rgb, batch.depth, batch.ir, self);
  // Shuffled assembly: every stream's content with the style of sample pi(i) of the same stream.
  const auto perm = torch::randperm(B, torch::TensorOptions().dtype(torch::kLong).device(batch.labels.device()));
  model::ForwardOptions shuffled;
  shuffled.after_block = [&](std::size_t i, const torch::Tensor& h) {
    if (i != block_) return h;
    std::vector<torch::Tensor> streams;
    for (const auto& stream : h.split(B, 0)) {  // (B, L, C) each
      const TokenStyle style = token_style(stream);
      streams.push_back(restyle_tokens(stream, {style.mean.index_select(0, perm), style.std.index_select(0, perm)},
                                       /*detach_own=*/false));
    }
    return torch::cat(streams, 0);
  };
  const auto out_shuffled = net.forward(batch.rgb, batch.depth, batch.ir, shuffled);

  const auto ce = torch::nn::functional::cross_entropy(out.logits, batch.labels);
  const auto contrast = shuffled_contrastive_loss(out.embedding, out_shuffled.embedding,
                                                  batch.labels == batch.labels.index_select(0, perm));
  const auto content_features = torch::cat(content.split(B, 0), 1);  // (B, nC)
  const double coefficient = reversal_coefficient(batch.progress);
  const auto adversarial = torch::nn::functional::cross_entropy(
      discriminator_(reverse_gradient(content_features, coefficient)), batch.sources);
  const auto total = ce + options_.contrast_weight * contrast + options_.adversarial_weight * adversarial;
  return backward_step(total, trainable_,
                       LossParts{{"loss_ce", ce}, {"loss_contrast", contrast}, {"loss_adversarial", adversarial}},
                       {{"reversal_coefficient", coefficient}});
}

}  // namespace mmdg::train
