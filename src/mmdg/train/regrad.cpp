#include "mmdg/train/regrad.h"

#include <torch/torch.h>

#include "mmdg/util/error.h"

namespace mmdg::train {

torch::Tensor project(const torch::Tensor& a, const torch::Tensor& b, double eps) {
  const auto dot = (a * b).sum();
  return dot / (b.pow(2).sum() + eps) * b;
}

namespace {

// The kept part of `a` relative to `reference` (Eq. 5's two cases), scaled by w.
torch::Tensor kept_part(const torch::Tensor& a, const torch::Tensor& reference, double w, const ReGradOptions& o,
                        bool& conflict) {
  const double dot = (a * reference).sum().item<double>();
  conflict = !(dot > 0);
  const bool modulate = o.variant == ReGradVariant::Full ||
                        (o.variant == ReGradVariant::ConflictedOnly && conflict) ||
                        (o.variant == ReGradVariant::UnconflictedOnly && !conflict);
  if (!modulate) return a;
  const auto proj = project(a, reference, o.eps);
  const auto kept = conflict ? a - proj : proj;
  return o.uncertainty ? kept * w : kept;
}

}  // namespace

torch::Tensor regrad_slow(const torch::Tensor& g_i, const std::vector<std::pair<torch::Tensor, double>>& others,
                          const ReGradOptions& o, bool* conflict) {
  auto out = g_i.clone();
  bool any = false;
  for (const auto& [g_j, w_j] : others) {
    if (o.variant == ReGradVariant::None) {
      out += g_j;
      continue;
    }
    bool c = false;
    out += kept_part(g_j, g_i, w_j, o, c);
    any = any || c;
  }
  if (conflict) *conflict = any;
  return out;
}

torch::Tensor regrad_fast(const torch::Tensor& g_i, const torch::Tensor& g_o, double w_i, const ReGradOptions& o,
                          bool* conflict) {
  if (o.variant == ReGradVariant::None) {
    if (conflict) *conflict = false;
    return g_i + g_o;
  }
  bool c = false;
  auto out = kept_part(g_i, g_o, w_i, o, c) + g_o;
  if (conflict) *conflict = c;
  return out;
}

ReGradStats apply_regrad(std::vector<torch::Tensor>& parameters, const std::array<std::vector<torch::Tensor>, 3>& ssp_grads,
                         const std::vector<torch::Tensor>& ce_grads, const std::vector<int>& branches, int fast,
                         const std::array<double, 3>& reliability, const ReGradOptions& o) {
  torch::NoGradGuard no_grad;
  ReGradStats stats;
  stats.fast = fast;
  std::int64_t conflicts = 0;
  for (std::size_t p = 0; p < parameters.size(); ++p) {
    auto& param = parameters[p];
    const auto grad_or_zero = [&](const torch::Tensor& g) { return g.defined() ? g : torch::zeros_like(param); };
    std::array<torch::Tensor, 3> g;
    for (int m = 0; m < 3; ++m) g[m] = grad_or_zero(ssp_grads[m][p]);
    torch::Tensor combined;
    const int i = branches[p];
    if (i < 0) {
      combined = g[0] + g[1] + g[2];
      ++stats.shared;
    } else {
      bool conflict = false;
      if (i == fast) {
        torch::Tensor g_o = torch::zeros_like(param);
        for (int j = 0; j < 3; ++j)
          if (j != i) g_o += g[j];
        combined = regrad_fast(g[i], g_o, reliability[i], o, &conflict);
      } else {
        std::vector<std::pair<torch::Tensor, double>> others;
        for (int j = 0; j < 3; ++j)
          if (j != i) others.emplace_back(g[j], reliability[j]);
        combined = regrad_slow(g[i], others, o, &conflict);
      }
      ++stats.modulated;
      conflicts += conflict ? 1 : 0;
    }
    combined += grad_or_zero(ce_grads[p]);
    param.mutable_grad() = combined.detach();
  }
  stats.conflict_fraction = stats.modulated > 0 ? static_cast<double>(conflicts) / stats.modulated : 0.0;
  return stats;
}

ReGradStats regrad_backward(std::vector<torch::Tensor>& params, const std::vector<int>& branches,
                            const std::array<torch::Tensor, 3>& weighted_ssp, const torch::Tensor& ce, int fast,
                            const std::array<double, 3>& reliability, const ReGradOptions& options) {
  for (auto& p : params)
    if (p.grad().defined()) p.mutable_grad() = torch::Tensor();
  if (options.variant == ReGradVariant::None) {
    (ce + (weighted_ssp[0] + weighted_ssp[1] + weighted_ssp[2])).backward();
    ReGradStats stats;
    stats.fast = fast;
    for (int b : branches) (b < 0 ? stats.shared : stats.modulated)++;
    for (auto& p : params)
      if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
    return stats;
  }
  std::array<std::vector<torch::Tensor>, 3> ssp_grads;
  for (int m = 0; m < 3; ++m)
    ssp_grads[m] = torch::autograd::grad({weighted_ssp[m]}, params, {}, /*retain_graph=*/true, /*create_graph=*/false,
                                         /*allow_unused=*/true);
  const auto ce_grads = torch::autograd::grad({ce}, params, {}, /*retain_graph=*/false, /*create_graph=*/false,
                                              /*allow_unused=*/true);
  return apply_regrad(params, ssp_grads, ce_grads, branches, fast, reliability, options);
}

int FastModalityTracker::update(const std::array<double, 3>& ssp) {
  for (int m = 0; m < 3; ++m)
    running_[m] = std::isnan(running_[m]) ? ssp[m] : momentum_ * running_[m] + (1 - momentum_) * ssp[m];
  return static_cast<int>(std::min_element(running_.begin(), running_.end()) - running_.begin());
}

}  // namespace mmdg::train
