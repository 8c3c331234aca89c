#include "mmdg/train/train_step.h"

#include <torch/torch.h>

namespace mmdg::train {

StepLosses compute_losses(model::MMDGNetImpl& net, const torch::Tensor& rgb, const torch::Tensor& depth,
                          const torch::Tensor& ir, const torch::Tensor& labels, const torch::Tensor& sources,
                          const std::array<Prototypes, 3>& prototypes) {
  const auto out = net.forward(rgb, depth, ir);
  StepLosses losses;
  losses.ce = torch::nn::functional::cross_entropy(out.logits, labels);
  const auto domains = ssp_domain(labels, sources);
  const bool baseline = net.options().method == "vit";  // the ViT baseline trains with CE only
  for (int m = 0; m < 3; ++m) {
    if (baseline) {
      losses.ssp[m] = torch::zeros({}, out.logits.options());
      losses.features[m] = out.features[m].detach();
      continue;
    }
    const auto device = out.features[m].device();
    losses.ssp[m] = ssp_loss(out.features[m], prototypes[m].values().to(device), prototypes[m].valid().to(device), domains);
    losses.reliability[m] = out.class_reliability[m].item<double>();
    losses.features[m] = out.features[m].detach();
  }
  losses.logits = out.logits.detach();
  losses.domains = domains;
  return losses;
}

ReGradStats backward(model::MMDGNetImpl& net, const StepLosses& losses, double ssp_weight, int fast,
                     const ReGradOptions& options) {
  std::vector<torch::Tensor> params;
  std::vector<int> branches;
  for (auto& p : net.named_parameters()) {
    if (!p.value().requires_grad()) continue;
    if (p.value().grad().defined()) p.value().mutable_grad() = torch::Tensor();
    params.push_back(p.value());
    branches.push_back(model::branch_of(p.key()));
  }
  if (options.variant == ReGradVariant::None || net.options().method == "vit") {
    auto total = losses.ce + ssp_weight * (losses.ssp[0] + losses.ssp[1] + losses.ssp[2]);
    total.backward();
    ReGradStats stats;
    stats.fast = fast;
    for (int b : branches) (b < 0 ? stats.shared : stats.modulated)++;
    for (auto& p : params)
      if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
    return stats;
  }
  std::array<std::vector<torch::Tensor>, 3> ssp_grads;
  for (int m = 0; m < 3; ++m)
    ssp_grads[m] = torch::autograd::grad({losses.ssp[m] * ssp_weight}, params, std::vector<torch::Tensor>{}, /*retain_graph=*/true,
                                         /*create_graph=*/false, /*allow_unused=*/true);
  const auto ce_grads = torch::autograd::grad({losses.ce}, params, std::vector<torch::Tensor>{}, /*retain_graph=*/false, false, true);
  return apply_regrad(params, ssp_grads, ce_grads, branches, fast, losses.reliability, options);
}

}  // namespace mmdg::train
