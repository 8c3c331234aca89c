#include "mmdg/train/regrad.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>

#include "mmdg/train/strategy.h"
#include "mmdg/util/error.h"

namespace mmdg::train {

torch::Tensor project(const torch::Tensor& a, const torch::Tensor& b, double eps) {
  const double factor = (a * b).sum().item<double>() / (b.pow(2).sum().item<double>() + eps);
  return (std::isfinite(factor) ? factor : 0.0) * b;
}

namespace {

// The kept part of `a` relative to `reference` (Eq. 5's two cases, per variant), scaled by w.
torch::Tensor kept_part(const torch::Tensor& a, const torch::Tensor& reference, double w, const ReGradOptions& o,
                        bool& conflict) {
  const double dot = (a * reference).sum().item<double>();
  conflict = !(dot > 0);
  torch::Tensor kept;
  if (conflict)
    kept = o.variant == ReGradVariant::UnconflictedOnly ? torch::zeros_like(a) : a - project(a, reference, o.eps);
  else
    kept = o.variant == ReGradVariant::ConflictedOnly ? a : project(a, reference, o.eps);
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

namespace {

// Eq. 5's kept part of a relative to a reference r, written as alpha * a + beta * r (per tensor):
// agreeing (a . r > 0): w * proj_r(a) = 0 * a + w c r; conflicting: w (a - proj_r(a)) = w a - w c r,
// with c = a . r / (|r|^2 + eps); the variants' other readings (regrad.h) likewise.
struct Kept {
  double alpha = 1, beta = 0;
  bool conflict = false;
};

Kept kept_coefficients(double dot, double reference_sq, double w, const ReGradOptions& o) {
  Kept k;
  if (o.variant == ReGradVariant::None) return k;
  k.conflict = !(dot > 0);
  double c = dot / (reference_sq + o.eps);
  if (!std::isfinite(c)) c = 0;  // the released code's NaN guard
  const double scale = o.uncertainty ? w : 1.0;
  if (k.conflict) {  // orthogonal part w (a - c r); unconflicted-only drops it
    const bool keep = o.variant != ReGradVariant::UnconflictedOnly;
    k.alpha = keep ? scale : 0.0;
    k.beta = keep ? -scale * c : 0.0;
  } else {  // projection w c r; conflicted-only keeps w a
    const bool whole = o.variant == ReGradVariant::ConflictedOnly;
    k.alpha = whole ? scale : 0.0;
    k.beta = whole ? 0.0 : scale * c;
  }
  return k;
}

// Concatenates one gradient per parameter into one flat buffer (undefined = zeros).
torch::Tensor flatten(const std::vector<torch::Tensor>& grads, const std::vector<torch::Tensor>& params) {
  std::vector<torch::Tensor> parts;
  parts.reserve(params.size());
  for (std::size_t p = 0; p < params.size(); ++p)
    parts.push_back(grads[p].defined() ? grads[p].reshape(-1) : torch::zeros({params[p].numel()}, params[p].options()));
  return torch::cat(parts);
}

}  // namespace

// Every tensor's result is a combination coef_0 g_0 + coef_1 g_1 + coef_2 g_2 of the three SSP
// gradients (plus the CE gradient), whose coefficients depend only on the tensor's Gram matrix
// g_m . g_n. So the gradients are flattened into one buffer per loss, the six per-tensor dot
// products are segmented sums over that buffer, the coefficients are computed on the host from
// one copy of the (P, 6) Gram entries (one device sync per step, not one per tensor), and the
// result is one fused combination split back into the parameters' .grad.
ReGradStats apply_regrad(std::vector<torch::Tensor>& parameters, const std::array<std::vector<torch::Tensor>, 3>& ssp_grads,
                         const std::vector<torch::Tensor>& ce_grads, const std::vector<int>& branches, int fast,
                         const std::array<double, 3>& reliability, const ReGradOptions& o) {
  torch::NoGradGuard no_grad;
  ReGradStats stats;
  stats.fast = fast;
  const auto P = parameters.size();
  if (P == 0) return stats;
  std::vector<std::int64_t> sizes(P);
  for (std::size_t p = 0; p < P; ++p) sizes[p] = parameters[p].numel();
  std::array<torch::Tensor, 3> g;  // (E) each: every parameter's gradient, concatenated
  for (int m = 0; m < 3; ++m) g[m] = flatten(ssp_grads[m], parameters);
  const auto lengths = torch::tensor(sizes, torch::kLong).to(g[0].device());
  const auto segment_sum = [&](const torch::Tensor& x) { return torch::segment_reduce(x, "sum", lengths); };  // (P)
  // Gram entries per tensor, in the order 00 01 02 11 12 22: (P, 6) on the host, double
  const auto gram = torch::stack({segment_sum(g[0] * g[0]), segment_sum(g[0] * g[1]), segment_sum(g[0] * g[2]),
                                  segment_sum(g[1] * g[1]), segment_sum(g[1] * g[2]), segment_sum(g[2] * g[2])}, 1)
                        .to(torch::kCPU, torch::kDouble)
                        .contiguous();
  const auto G = gram.accessor<double, 2>();
  const auto dot = [&](std::size_t p, int m, int n) {
    static const int index[3][3] = {{0, 1, 2}, {1, 3, 4}, {2, 4, 5}};
    return G[static_cast<std::int64_t>(p)][index[m][n]];
  };
  auto coefficients = torch::ones({static_cast<std::int64_t>(P), 3}, torch::kDouble);  // shared tensors: plain sum
  auto coef = coefficients.accessor<double, 2>();
  std::int64_t conflicts = 0;
  for (std::size_t p = 0; p < P; ++p) {
    const int i = branches[p];
    const auto row = static_cast<std::int64_t>(p);
    if (i < 0) {
      ++stats.shared;
      continue;
    }
    ++stats.modulated;
    bool conflict = false;
    if (i == fast) {  // kept_i + g_o, kept relative to g_o = sum of the others
      double dot_io = 0, o_sq = 0;
      for (int j = 0; j < 3; ++j) {
        if (j == i) continue;
        dot_io += dot(p, i, j);
        for (int k = 0; k < 3; ++k)
          if (k != i) o_sq += dot(p, j, k);
      }
      const Kept k = kept_coefficients(dot_io, o_sq, reliability[i], o);
      conflict = k.conflict;
      for (int j = 0; j < 3; ++j) coef[row][j] = j == i ? k.alpha : k.beta + 1.0;
    } else {  // g_i + sum_j kept_j, each kept relative to g_i
      coef[row][i] = 1.0;
      for (int j = 0; j < 3; ++j) {
        if (j == i) continue;
        const Kept k = kept_coefficients(dot(p, j, i), dot(p, i, i), reliability[j], o);
        conflict = conflict || k.conflict;
        coef[row][j] = k.alpha;
        coef[row][i] += k.beta;
      }
    }
    conflicts += conflict ? 1 : 0;
  }
  stats.conflict_fraction = stats.modulated > 0 ? static_cast<double>(conflicts) / static_cast<double>(stats.modulated) : 0.0;
  const auto per_element = coefficients.to(g[0].options()).repeat_interleave(lengths, 0);  // (E, 3)
  auto combined = flatten(ce_grads, parameters);
  for (int m = 0; m < 3; ++m) combined.addcmul_(per_element.select(1, m), g[m]);
  const auto pieces = combined.split_with_sizes(sizes);
  for (std::size_t p = 0; p < P; ++p) parameters[p].mutable_grad() = pieces[p].view_as(parameters[p]);
  return stats;
}

ReGradStats regrad_backward(std::vector<torch::Tensor>& params, const std::vector<int>& branches,
                            const std::array<torch::Tensor, 3>& weighted_ssp, const torch::Tensor& ce, int fast,
                            const std::array<double, 3>& reliability, const ReGradOptions& options) {
  using Clock = std::chrono::steady_clock;
  const auto seconds = [](Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); };
  const auto start = Clock::now();
  if (options.variant == ReGradVariant::None) {
    backward_replacing_grads(ce + (weighted_ssp[0] + weighted_ssp[1] + weighted_ssp[2]), params);
    ReGradStats stats;
    stats.fast = fast;
    for (int b : branches) (b < 0 ? stats.shared : stats.modulated)++;
    stats.backward_seconds = seconds(start, Clock::now());
    return stats;
  }
  std::array<std::vector<torch::Tensor>, 3> ssp_grads;
  for (int m = 0; m < 3; ++m)
    ssp_grads[m] = torch::autograd::grad({weighted_ssp[m]}, params, {}, /*retain_graph=*/true, /*create_graph=*/false,
                                         /*allow_unused=*/true);
  const auto ce_grads = torch::autograd::grad({ce}, params, {}, /*retain_graph=*/false, /*create_graph=*/false,
                                              /*allow_unused=*/true);
  const auto backward_end = Clock::now();
  ReGradStats stats = apply_regrad(params, ssp_grads, ce_grads, branches, fast, reliability, options);
  stats.backward_seconds = seconds(start, backward_end);
  stats.combine_seconds = seconds(backward_end, Clock::now());
  return stats;
}

int FastModalityTracker::update(const std::array<double, 3>& ssp) {
  for (int m = 0; m < 3; ++m)
    running_[m] = std::isnan(running_[m]) ? ssp[m] : momentum_ * running_[m] + (1 - momentum_) * ssp[m];
  const int fast = static_cast<int>(std::min_element(running_.begin(), running_.end()) - running_.begin());
  for (int m = 0; m < 3; ++m)
    if (m != fast && running_[m] == running_[fast]) return -1;  // a tie: no fast modality
  return fast;
}

}  // namespace mmdg::train
