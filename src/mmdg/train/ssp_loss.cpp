#include "mmdg/train/ssp_loss.h"

#include <torch/torch.h>

#include "mmdg/data/dataset.h"
#include "mmdg/model/network.h"
#include "mmdg/util/error.h"

namespace mmdg::train {

torch::Tensor ssp_domain(const torch::Tensor& labels, const torch::Tensor& sources) {
  return torch::where(labels == 1, torch::zeros_like(sources), sources + 1);
}

torch::Tensor ssp_loss(const torch::Tensor& features, const torch::Tensor& prototypes, const torch::Tensor& valid,
                       const torch::Tensor& domains) {
  const auto protos = prototypes.detach().to(features.dtype());
  // Euclidean distances (B, D); a small epsilon keeps the gradient finite at zero distance.
  const auto diff = features.unsqueeze(1) - protos.unsqueeze(0);
  const auto dist = (diff.pow(2).sum(-1) + 1e-12).sqrt();
  const auto logits = (-dist).masked_fill(valid.logical_not().unsqueeze(0), -INFINITY);
  const auto keep = valid.index_select(0, domains);  // samples whose domain has a prototype
  if (!keep.any().item<bool>()) return (features * 0).sum();
  const auto log_p = torch::log_softmax(logits, 1);
  const auto picked = log_p.gather(1, domains.unsqueeze(1)).squeeze(1);  // (B)
  return -picked.masked_select(keep).mean();
}

Prototypes::Prototypes(std::int64_t num_domains, std::int64_t dim, PrototypeUpdate update, double momentum)
    : values_(torch::zeros({num_domains, dim})), valid_(torch::zeros({num_domains}, torch::kBool)),
      update_(update), momentum_(momentum) {
  if (momentum < 0 || momentum >= 1) throw UsageError("option prototype_momentum: must be in [0, 1)");
}

void Prototypes::set_from_sums(const torch::Tensor& sums, const torch::Tensor& counts) {
  torch::NoGradGuard no_grad;
  const auto c = counts.to(torch::kFloat).unsqueeze(1);
  valid_ = (counts > 0).to(torch::kCPU);
  values_ = torch::where(c > 0, sums.to(torch::kFloat) / c.clamp_min(1), values_.to(sums.device())).to(torch::kCPU);
}

void Prototypes::update_from_batch(const torch::Tensor& features, const torch::Tensor& domains) {
  torch::NoGradGuard no_grad;
  const auto f = features.detach().to(torch::kCPU, torch::kFloat);
  const auto d = domains.to(torch::kCPU);
  for (std::int64_t k = 0; k < values_.size(0); ++k) {
    const auto mask = d == k;
    if (!mask.any().item<bool>()) continue;  // empty domain in this batch: unchanged
    const auto mean = f.index({mask}).mean(0);
    if (valid_[k].item<bool>()) values_[k] = momentum_ * values_[k] + (1 - momentum_) * mean;
    else values_[k] = mean;
    valid_[k] = true;
  }
}

void Prototypes::load(const torch::Tensor& values, const torch::Tensor& valid) {
  if (values.sizes() != values_.sizes() || valid.sizes() != valid_.sizes())
    throw Error("prototypes: stored shape " + c10::str(values.sizes()) + " does not match " + c10::str(values_.sizes()));
  values_ = values.to(torch::kCPU, torch::kFloat).clone();
  valid_ = valid.to(torch::kCPU, torch::kBool).clone();
}

FeatureSums sum_features_by_group(model::NetworkImpl& net, const data::MultiDomainDataset& train_set,
                                  const std::vector<std::vector<std::size_t>>& batches, std::int64_t num_groups,
                                  const std::function<torch::Tensor(const torch::Tensor&, const torch::Tensor&)>& group,
                                  torch::Device device, int workers) {
  torch::NoGradGuard no_grad;
  net.eval();
  FeatureSums result;
  for (auto& s : result.sums) s = torch::zeros({num_groups, net.feature_dim()});
  result.counts = torch::zeros({num_groups}, torch::kLong);
  data::DataLoader loader(train_set, batches, workers);
  while (auto batch = loader.next()) {
    const auto out = net.forward(batch->rgb.to(device), batch->depth.to(device), batch->ir.to(device));
    const auto groups = group(batch->label, batch->domain);
    for (int m = 0; m < 3; ++m) result.sums[m].index_add_(0, groups, out.features[m].to(torch::kCPU));
    result.counts.index_add_(0, groups, torch::ones_like(groups));
  }
  return result;
}

void compute_prototypes(model::NetworkImpl& net, const data::MultiDomainDataset& train_set, std::int64_t batch_size,
                        torch::Device device, int workers, std::array<Prototypes, 3>& prototypes) {
  const auto batches = data::ShuffledSampler(train_set.size(), static_cast<std::size_t>(batch_size), false).epoch(0);
  const auto sums = sum_features_by_group(net, train_set, batches, prototypes[0].values().size(0), ssp_domain, device, workers);
  for (int m = 0; m < 3; ++m) prototypes[m].set_from_sums(sums.sums[m], sums.counts);
}

}  // namespace mmdg::train
