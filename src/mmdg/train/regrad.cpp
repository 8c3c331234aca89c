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

// The tensors' sizes and (on their device) lengths, for a FlatGradients of `params`.
FlatGradients flat_layout(const std::vector<torch::Tensor>& params) {
  FlatGradients g;
  g.sizes.resize(params.size());
  for (std::size_t p = 0; p < params.size(); ++p) g.sizes[p] = params[p].numel();
  // non_blocking: a small upload that need not wait for the device's queue
  if (!params.empty()) g.lengths = torch::tensor(g.sizes, torch::kLong).to(params[0].device(), /*non_blocking=*/true);
  return g;
}

// Per tensor g_m . g_n (P, 6), as segmented sums over the flattened gradients.
torch::Tensor gram_entries(const std::array<torch::Tensor, 3>& ssp, const torch::Tensor& lengths) {
  torch::NoGradGuard no_grad;
  // unsafe: skips the check of the lengths against the data, which reads two values to the host
  // (they are the parameters' sizes, right by construction)
  const auto segment_sum = [&](const torch::Tensor& x) {
    return torch::segment_reduce(x, "sum", lengths, /*indices=*/{}, /*offsets=*/{}, /*axis=*/0, /*unsafe=*/true);
  };  // (P)
  return torch::stack({segment_sum(ssp[0] * ssp[0]), segment_sum(ssp[0] * ssp[1]), segment_sum(ssp[0] * ssp[2]),
                       segment_sum(ssp[1] * ssp[1]), segment_sum(ssp[1] * ssp[2]), segment_sum(ssp[2] * ssp[2])},
                      1);
}

}  // namespace

FlatGradients regrad_gradients(const std::vector<torch::Tensor>& params, const std::array<torch::Tensor, 3>& weighted_ssp,
                               const torch::Tensor& ce, const ReGradOptions& o,
                               const std::function<void(FlatGradients&)>& before_gram) {
  FlatGradients g = flat_layout(params);
  if (params.empty()) return g;
  const auto grads_of = [&](const torch::Tensor& loss, bool retain) {
    return torch::autograd::grad({loss}, params, {}, retain, /*create_graph=*/false, /*allow_unused=*/true);
  };
  if (o.variant == ReGradVariant::None) {
    g.ce = flatten(grads_of(ce + (weighted_ssp[0] + weighted_ssp[1] + weighted_ssp[2]), false), params);
    if (before_gram) before_gram(g);
    return g;
  }
  for (int m = 0; m < 3; ++m) g.ssp[m] = flatten(grads_of(weighted_ssp[m], true), params);
  g.ce = flatten(grads_of(ce, false), params);
  if (before_gram) before_gram(g);
  g.gram = gram_entries(g.ssp, g.lengths);
  return g;
}

ReGradStats combine_regrad(std::vector<torch::Tensor>& parameters, const FlatGradients& g, const torch::Tensor& gram_host,
                           const std::vector<int>& branches, int fast, const std::array<double, 3>& reliability,
                           const ReGradOptions& o) {
  torch::NoGradGuard no_grad;
  ReGradStats stats;
  stats.fast = fast;
  const auto P = parameters.size();
  if (P == 0) return stats;
  const auto write_grads = [&](const torch::Tensor& combined) {
    const auto pieces = combined.split_with_sizes(g.sizes);
    for (std::size_t p = 0; p < P; ++p) parameters[p].mutable_grad() = pieces[p].view_as(parameters[p]);
  };
  if (o.variant == ReGradVariant::None) {
    for (int b : branches) (b < 0 ? stats.shared : stats.modulated)++;
    write_grads(g.ce);
    return stats;
  }
  // normally already CPU double (the caller's one read); a .to() here would count as another copy
  const auto gram = (gram_host.is_cpu() && gram_host.scalar_type() == torch::kDouble ? gram_host
                                                                                     : gram_host.to(torch::kCPU, torch::kDouble))
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
    if (i == kCEOnly) {  // past the released loop's stall: no SSP gradient
      for (int j = 0; j < 3; ++j) coef[row][j] = 0.0;
      ++stats.ce_only;
      continue;
    }
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
  const auto total = g.ce.numel();
  const auto per_element = coefficients.to(g.ce.options(), /*non_blocking=*/true)
                               .repeat_interleave(g.lengths, /*dim=*/0, /*output_size=*/total);  // (E, 3)
  auto combined = g.ce.clone();
  for (int m = 0; m < 3; ++m) combined.addcmul_(per_element.select(1, m), g.ssp[m]);
  write_grads(combined);
  return stats;
}

ReGradStats apply_regrad(std::vector<torch::Tensor>& parameters, const std::array<std::vector<torch::Tensor>, 3>& ssp_grads,
                         const std::vector<torch::Tensor>& ce_grads, const std::vector<int>& branches, int fast,
                         const std::array<double, 3>& reliability, const ReGradOptions& o) {
  torch::NoGradGuard no_grad;
  FlatGradients g = flat_layout(parameters);
  if (parameters.empty()) return combine_regrad(parameters, g, {}, branches, fast, reliability, o);
  g.ce = flatten(ce_grads, parameters);
  if (o.variant == ReGradVariant::None) {
    for (int m = 0; m < 3; ++m) g.ce = g.ce + flatten(ssp_grads[m], parameters);
    return combine_regrad(parameters, g, {}, branches, fast, reliability, o);
  }
  for (int m = 0; m < 3; ++m) g.ssp[m] = flatten(ssp_grads[m], parameters);
  g.gram = gram_entries(g.ssp, g.lengths);
  return combine_regrad(parameters, g, g.gram.to(torch::kCPU, torch::kDouble), branches, fast, reliability, o);
}

ReGradStats regrad_backward(std::vector<torch::Tensor>& params, const std::vector<int>& branches,
                            const std::array<torch::Tensor, 3>& weighted_ssp, const torch::Tensor& ce, int fast,
                            const std::array<double, 3>& reliability, const ReGradOptions& options) {
  using Clock = std::chrono::steady_clock;
  const auto seconds = [](Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); };
  const auto start = Clock::now();
  const FlatGradients g = regrad_gradients(params, weighted_ssp, ce, options);
  const auto backward_end = Clock::now();
  const auto gram_host = g.gram.defined() ? g.gram.to(torch::kCPU, torch::kDouble) : torch::Tensor();
  ReGradStats stats = combine_regrad(params, g, gram_host, branches, fast, reliability, options);
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
