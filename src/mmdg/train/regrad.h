// ReGrad: rebalanced modality gradient modulation (paper Eq. 5, Fig. 4).
//
// For a trainable tensor of modality branch i (it feeds modality i's stream), g_m is the gradient
// of lambda * L_ssp_m with respect to it, and w_m the modality's reliability (1 when uncertainty
// scaling is off). The fast modality is the one with the smallest running SSP loss.
//   slow branch i:  g_i + sum_{j != i} kept_j,  kept_j = w_j * (projection of g_j on g_i)   if g_i . g_j > 0
//                                                        w_j * (g_j minus that projection)   otherwise
//   fast branch i:  kept_i + g_o,  g_o = sum_{j != i} g_j,
//                   kept_i = w_i * (projection of g_i on g_o) if g_i . g_o > 0, else w_i * (g_i minus it)
// Projections of a on b are (a . b / (|b|^2 + eps)) b (eps 1e-8; a factor that is not finite
// counts as 0, as in the released code), so a zero b projects to zero and the orthogonal part of a
// is a itself. Shared tensors (last block, final LayerNorm, fused head) get the plain sum. The
// cross-entropy gradient of the fused head is added unmodulated everywhere. When no modality has
// the strictly smallest running SSP loss (a tie) there is no fast modality: every branch takes the
// slow rule.
// Variants (Table 4), as the released regrad.py's versions compute them, the reliability scaling
// the kept part in every case:
//   full               version 4: agreeing -> projection, conflicting -> orthogonal part (above)
//   conflicted-only    version 3: agreeing -> the gradient whole, conflicting -> orthogonal part
//   unconflicted-only  version 2: agreeing -> projection, conflicting -> dropped (zero)
//   none               the plain sum, no reliability scaling
#pragma once
#include <torch/types.h>

#include <array>
#include <functional>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "mmdg/util/enum_names.h"

namespace mmdg::train {

enum class ReGradVariant { Full, ConflictedOnly, UnconflictedOnly, None };

// Which tensors ReGrad modulates: all the branches' (the paper), or only those the released
// regrad.py reaches. Its loop skips a tensor without advancing its index when no SSP loss has a
// gradient for it, so the index stalls at the first such tensor (the first frozen patch
// embedding): only the tensors before it (the class tokens and position embeddings) are
// modulated, and every later one keeps the cross-entropy gradient alone (the SSP losses' never
// reach the adapters).
enum class ReGradScope { All, AsReleased };

// The branch value of a tensor that gets the cross-entropy gradient only (past the stall).
constexpr int kCEOnly = -2;

struct ReGradOptions {
  ReGradVariant variant = ReGradVariant::Full;
  bool uncertainty = true;
  double eps = 1e-8;  // the released code's
};

// a . b / (|b|^2 + eps) * b
torch::Tensor project(const torch::Tensor& a, const torch::Tensor& b, double eps);

// Slow branch i. others: the other modalities' gradients and reliabilities. `conflict` is set
// when any g_i . g_j <= 0.
torch::Tensor regrad_slow(const torch::Tensor& g_i, const std::vector<std::pair<torch::Tensor, double>>& others,
                          const ReGradOptions& options, bool* conflict = nullptr);

// Fast branch i: g_i, the sum of the others' gradients g_o and modality i's reliability.
torch::Tensor regrad_fast(const torch::Tensor& g_i, const torch::Tensor& g_o, double w_i, const ReGradOptions& options,
                          bool* conflict = nullptr);

struct ReGradStats {
  int fast = -1;
  double backward_seconds = 0;  // the backward passes (regrad_backward)
  double combine_seconds = 0;   // Eq. 5's combination (apply_regrad)
  std::int64_t modulated = 0;  // branch tensors that went through Eq. 5
  std::int64_t ce_only = 0;    // tensors given the cross-entropy gradient only (scope as-released)
  std::int64_t shared = 0;     // tensors given the plain sum
  double conflict_fraction = 0;  // of the modulated tensors
};

// One step's per-loss gradients, flattened (every trainable tensor's gradient concatenated; zeros
// where a loss does not reach it), with their per-tensor Gram entries, all on the gradients' device.
// Letters: P tensors, E elements in all.
struct FlatGradients {
  std::vector<std::int64_t> sizes;   // (P) numel of each tensor
  torch::Tensor lengths;             // (P) int64, on the device
  std::array<torch::Tensor, 3> ssp;  // (E) each: the gradients of lambda * L_ssp_m (undefined for `none`)
  torch::Tensor ce;                  // (E): the CE gradient (for `none`: the summed loss's gradient)
  torch::Tensor gram;                // (P, 6): g_m . g_n in the order 00 01 02 11 12 22 (undefined for `none`)
};

// The backward passes of one step, without reading anything to the host: three SSP passes and the CE
// pass over the same graph, flattened, and the Gram entries as segmented sums; for the `none`
// variant one pass of the summed loss. `before_gram` (several processes: averages the flat
// gradients over them) runs on the flat gradients before the Gram entries are taken.
FlatGradients regrad_gradients(const std::vector<torch::Tensor>& parameters, const std::array<torch::Tensor, 3>& weighted_ssp,
                               const torch::Tensor& ce, const ReGradOptions& options,
                               const std::function<void(FlatGradients&)>& before_gram = {});

// Eq. 5 on flattened gradients: each tensor's result is a combination of its three SSP gradients
// (plus the CE gradient) whose coefficients depend only on its Gram entries, so the coefficients are
// computed on the host from `gram_host` ((P, 6) double on the CPU: the caller reads g.gram in the
// step's one device-to-host copy), uploaded without blocking, and the combination runs on the device,
// split into each parameter's .grad. `none`: the summed gradient.
ReGradStats combine_regrad(std::vector<torch::Tensor>& parameters, const FlatGradients& g, const torch::Tensor& gram_host,
                           const std::vector<int>& branches, int fast, const std::array<double, 3>& reliability,
                           const ReGradOptions& options);

// Combines per-tensor gradients and writes them into each parameter's .grad.
// ssp_grads[m][p]: gradient of lambda * L_ssp_m w.r.t. parameter p (undefined = zero);
// ce_grads[p]: gradient of the fused CE loss; branches[p]: 0/1/2 or -1 (shared);
// reliability[m]: w_m; fast: the fast modality.
ReGradStats apply_regrad(std::vector<torch::Tensor>& parameters, const std::array<std::vector<torch::Tensor>, 3>& ssp_grads,
                         const std::vector<torch::Tensor>& ce_grads, const std::vector<int>& branches, int fast,
                         const std::array<double, 3>& reliability, const ReGradOptions& options);

// One step's gradients: g_m = d(weighted_ssp[m]) / d(parameters) for each modality and the CE
// gradient (four backward passes over the same graph), combined by apply_regrad. The `none`
// variant is one backward pass of the summed loss. Every parameter's .grad is replaced (zeros
// where a loss does not reach it). (regrad_gradients, a read of the Gram entries, combine_regrad.)
ReGradStats regrad_backward(std::vector<torch::Tensor>& parameters, const std::vector<int>& branches,
                            const std::array<torch::Tensor, 3>& weighted_ssp, const torch::Tensor& ce, int fast,
                            const std::array<double, 3>& reliability, const ReGradOptions& options);

// The fast modality of Eq. 5: the one whose running average of its SSP loss is smallest
// (running <- momentum * running + (1 - momentum) * loss; the first step takes the loss itself).
class FastModalityTracker {
 public:
  explicit FastModalityTracker(double momentum) : momentum_(momentum) {}
  // Adds one step's SSP losses; returns the fast modality: the strict minimum, or -1 on a tie.
  int update(const std::array<double, 3>& ssp_losses);
  const std::array<double, 3>& running() const { return running_; }
  void set_running(const std::array<double, 3>& running) { running_ = running; }

 private:
  double momentum_;
  std::array<double, 3> running_{NAN, NAN, NAN};
};

}  // namespace mmdg::train

namespace mmdg {
template <>
struct EnumNames<train::ReGradVariant> {
  static constexpr std::pair<train::ReGradVariant, const char*> values[] = {
      {train::ReGradVariant::Full, "full"},
      {train::ReGradVariant::ConflictedOnly, "conflicted-only"},
      {train::ReGradVariant::UnconflictedOnly, "unconflicted-only"},
      {train::ReGradVariant::None, "none"}};
};
template <>
struct EnumNames<train::ReGradScope> {
  static constexpr std::pair<train::ReGradScope, const char*> values[] = {{train::ReGradScope::All, "all"},
                                                                          {train::ReGradScope::AsReleased, "as-released"}};
};
}  // namespace mmdg
