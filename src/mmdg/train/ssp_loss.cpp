#include "mmdg/train/ssp_loss.h"

#include <torch/torch.h>

#include "mmdg/data/dataset.h"
#include "mmdg/model/network.h"
#include "mmdg/util/error.h"
#include "mmdg/util/process_group.h"

namespace mmdg::train {
namespace {
// (B, K) bool: row b is true at column index[b]. A comparison, not one_hot, which reads the
// indices' min and max to the host on the CPU (a device sync per call the counter would see).
torch::Tensor membership(const torch::Tensor& index, std::int64_t K) {
  return index.unsqueeze(1) == torch::arange(K, index.options());
}
}  // namespace

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
  const auto keep = valid.index_select(0, domains);  // (B) samples whose domain has a prototype
  const auto log_p = torch::log_softmax(logits, 1);
  // each sample's own domain, picked by a mask (a gather's backward is not deterministic on CUDA);
  // samples without a valid domain count 0 and are left out of the mean: no data-dependent shape,
  // so nothing is read to the host
  const auto own = membership(domains, logits.size(1));  // (B, D)
  const auto picked = torch::where(own & keep.unsqueeze(1), log_p, torch::zeros_like(log_p)).sum(1);  // (B)
  return -picked.sum() / keep.sum().clamp_min(1).to(picked.dtype());
}

Prototypes::Prototypes(std::int64_t num_domains, std::int64_t dim, PrototypeUpdate update, double momentum,
                       torch::Device device)
    : values_(torch::zeros({num_domains, dim}, torch::TensorOptions(device))),
      valid_(torch::zeros({num_domains}, torch::TensorOptions(device).dtype(torch::kBool))),
      update_(update), momentum_(momentum) {
  if (momentum < 0 || momentum >= 1) throw UsageError("option prototype_momentum: must be in [0, 1)");
}

void Prototypes::set_from_sums(const torch::Tensor& sums, const torch::Tensor& counts) {
  torch::NoGradGuard no_grad;
  const auto device = values_.device();
  const auto c = counts.to(device, torch::kFloat).unsqueeze(1);
  valid_ = (c.squeeze(1) > 0);
  values_ = torch::where(c > 0, sums.to(device, torch::kFloat) / c.clamp_min(1), values_);
}

void Prototypes::update_from_batch(const torch::Tensor& features, const torch::Tensor& domains,
                                   const dist::ProcessGroup* group) {
  torch::NoGradGuard no_grad;
  const auto device = values_.device();
  const auto f = features.detach().to(device, torch::kFloat);                                           // (B, C)
  const auto in_domain = membership(domains.to(device), values_.size(0)).to(torch::kFloat);  // (B, D)
  const auto counts = in_domain.sum(0);                                                                  // (D)
  const auto sums = in_domain.t().matmul(f);                                                             // (D, C)
  if (group) group->sum({sums, counts});
  const auto mean = sums / counts.clamp_min(1).unsqueeze(1);                                             // (D, C)
  const auto present = (counts > 0).unsqueeze(1);
  // a domain seen before moves towards its batch mean; one seen for the first time takes it; a
  // domain absent from the batch is unchanged
  const auto moved = torch::where(valid_.unsqueeze(1), momentum_ * values_ + (1 - momentum_) * mean, mean);
  values_ = torch::where(present, moved, values_);
  valid_ = valid_ | present.squeeze(1);
}

void Prototypes::load(const torch::Tensor& values, const torch::Tensor& valid) {
  if (values.sizes() != values_.sizes() || valid.sizes() != valid_.sizes())
    throw Error("prototypes: stored shape " + c10::str(values.sizes()) + " does not match " + c10::str(values_.sizes()));
  values_ = values.to(values_.device(), torch::kFloat).clone();
  valid_ = valid.to(valid_.device(), torch::kBool).clone();
}

FeatureSums sum_features_by_group(model::NetworkImpl& net, const data::MultiDomainDataset& train_set,
                                  const std::vector<std::vector<std::size_t>>& batches, std::int64_t num_groups,
                                  const std::function<torch::Tensor(const torch::Tensor&, const torch::Tensor&)>& group,
                                  torch::Device device, int workers, const dist::ProcessGroup* processes) {
  torch::NoGradGuard no_grad;
  net.eval();
  FeatureSums result;  // accumulated on the device: no copy to the host per batch
  for (auto& s : result.sums) s = torch::zeros({num_groups, net.feature_dim()}, torch::TensorOptions(device));
  result.counts = torch::zeros({num_groups}, torch::TensorOptions(device).dtype(torch::kLong));
  data::DataLoader loader(train_set, processes ? processes->share_of(batches) : batches, workers, std::nullopt, 0, 4, 0, /*pin_memory=*/device.is_cuda());
  const bool async = device.is_cuda();
  while (auto batch = loader.next()) {
    const auto out = net.forward(batch->rgb.to(device, async), batch->depth.to(device, async), batch->ir.to(device, async));
    // group membership as a one-hot matrix: the sums are a matrix product, deterministic on every
    // device (index_add_ is not on CUDA)
    const auto groups = group(batch->label, batch->domain).to(device, async);
    const auto member = membership(groups, num_groups);  // (B, G)
    const auto weights = member.to(torch::kFloat).t();   // (G, B)
    for (int m = 0; m < 3; ++m) result.sums[m].add_(weights.matmul(out.features[m].to(torch::kFloat)));
    result.counts.add_(member.sum(0));
  }
  if (processes) processes->sum({result.sums[0], result.sums[1], result.sums[2], result.counts});
  return result;
}

void compute_prototypes(model::NetworkImpl& net, const data::MultiDomainDataset& train_set, std::int64_t batch_size,
                        torch::Device device, int workers, std::array<Prototypes, 3>& prototypes,
                        const dist::ProcessGroup* group) {
  const auto batches = data::ShuffledSampler(train_set.size(), static_cast<std::size_t>(batch_size), false).epoch(0);
  const auto sums =
      sum_features_by_group(net, train_set, batches, prototypes[0].values().size(0), ssp_domain, device, workers, group);
  for (int m = 0; m < 3; ++m) prototypes[m].set_from_sums(sums.sums[m], sums.counts);
}

}  // namespace mmdg::train
