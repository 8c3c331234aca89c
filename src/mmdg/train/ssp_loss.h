// Single-side prototypical (SSP) loss, paper Eq. 6-7.
// Domains: 0 = live (live faces of every source), 1 + k = spoof faces of source k. Per modality,
// the prototype of a domain is the mean class-token feature of its samples, and
//   L_ssp = -log softmax_d(-||c - p_d||_2)[d_gt]   (averaged over the batch).
// Prototypes carry no gradient. Updates (one option): `epoch` recomputes them from the whole
// training set at the start of every epoch (as PMR does); `ema` moves them towards each batch's
// domain means with a momentum (for very large data). Domains without any sample yet are left
// out of the softmax, and samples of such domains out of the loss.
#pragma once
#include <c10/core/Device.h>
#include <torch/types.h>

#include <array>
#include <functional>
#include <string>
#include <vector>
#include <utility>

#include "mmdg/util/enum_names.h"

namespace mmdg::dist {
class ProcessGroup;
}
namespace mmdg::data {
class MultiDomainDataset;
}
namespace mmdg::model {
class NetworkImpl;
}

namespace mmdg::train {

enum class PrototypeUpdate { Epoch, Ema };

// Domain of each sample: 0 for live, 1 + source for spoof. labels, sources: (B) int64.
torch::Tensor ssp_domain(const torch::Tensor& labels, const torch::Tensor& sources);

// features (B, C), prototypes (D, C), valid (D) bool, domains (B) int64 -> scalar mean loss
// (0 when no sample has a valid domain).
torch::Tensor ssp_loss(const torch::Tensor& features, const torch::Tensor& prototypes, const torch::Tensor& valid,
                       const torch::Tensor& domains);

class Prototypes {
 public:
  // num_domains = 1 + number of source domains; dim = feature width. The prototypes live on
  // `device` (the network's): the loss reads them there, the updates run there, nothing is read
  // to the host.
  Prototypes(std::int64_t num_domains, std::int64_t dim, PrototypeUpdate update = PrototypeUpdate::Epoch,
             double momentum = 0.9, torch::Device device = torch::kCPU);

  // `epoch` strategy: sets prototypes from the summed features and counts of a pass over the
  // training set: sums (D, C), counts (D).
  void set_from_sums(const torch::Tensor& sums, const torch::Tensor& counts);
  // `ema` strategy: p <- m p + (1 - m) batch_mean for domains present in the batch (a domain
  // seen for the first time takes its batch mean). With `group`, the batch is the global one: the
  // per-domain sums and counts of every process's slice are summed first.
  void update_from_batch(const torch::Tensor& features, const torch::Tensor& domains,
                         const dist::ProcessGroup* group = nullptr);

  const torch::Tensor& values() const { return values_; }  // (D, C)
  const torch::Tensor& valid() const { return valid_; }    // (D) bool
  PrototypeUpdate update() const { return update_; }
  void load(const torch::Tensor& values, const torch::Tensor& valid);

 private:
  torch::Tensor values_, valid_;
  PrototypeUpdate update_;
  double momentum_;
};

// Per modality, the sums of the class-token features (G, C) of `batches` of the training set grouped
// by group(labels, sources) -> (B) int64 in [0, G), and the group counts (G): eval mode, no gradient;
// on `device`. With `processes` (several) each process runs every processes->size()-th batch and
// the sums and counts are summed over the processes: all return those of every batch.
struct FeatureSums {
  std::array<torch::Tensor, 3> sums;
  torch::Tensor counts;
};
FeatureSums sum_features_by_group(model::NetworkImpl& net, const data::MultiDomainDataset& train_set,
                                  const std::vector<std::vector<std::size_t>>& batches, std::int64_t num_groups,
                                  const std::function<torch::Tensor(const torch::Tensor&, const torch::Tensor&)>& group,
                                  torch::Device device, int workers, const dist::ProcessGroup* processes = nullptr);

// Eq. 7's prototypes of every modality from one pass over the training set (the `epoch` update):
// per SSP domain, the mean class-token feature (eval mode, no gradient, batches in dataset order).
void compute_prototypes(model::NetworkImpl& net, const data::MultiDomainDataset& train_set, std::int64_t batch_size,
                        torch::Device device, int workers, std::array<Prototypes, 3>& prototypes,
                        const dist::ProcessGroup* group = nullptr);

}  // namespace mmdg::train

namespace mmdg {
template <>
struct EnumNames<train::PrototypeUpdate> {
  static constexpr std::pair<train::PrototypeUpdate, const char*> values[] = {{train::PrototypeUpdate::Epoch, "epoch"},
                                                                             {train::PrototypeUpdate::Ema, "ema"}};
};
}  // namespace mmdg
