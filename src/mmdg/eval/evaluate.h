// Scoring a dataset with a network and summarizing the scores.
#pragma once
#include <torch/types.h>

#include <string>
#include <vector>

#include "mmdg/data/dataset.h"
#include "mmdg/model/network.h"

namespace mmdg::dist {
class ProcessGroup;
}

namespace mmdg::eval {

struct Scores {
  std::vector<double> live_probability;
  std::vector<int> labels;
  std::vector<std::string> videos;  // optional: the video of each sample (report.h's video_key)
  std::vector<std::string> attacks;  // optional: the attack type of each sample (data/attack_type.h)
};

// Live probabilities of every example, in dataset order (eval mode, no gradient). With `group`
// (several processes) each process scores every group->size()-th batch and the scores are summed
// into place: every process returns the scores of the whole set. The uncertainty estimators'
// draws are seeded per sample (model::KeyedDraws, keyed by the list entry's paths, `draw_seed`
// picks the draw): a sample's score does not depend on the batch size, the worker or thread
// count or the process count.
Scores score_dataset(model::NetworkImpl& net, const data::MultiDomainDataset& dataset, std::int64_t batch_size,
                     torch::Device device, int workers, const dist::ProcessGroup* group = nullptr,
                     std::uint64_t draw_seed = 0);

// The mean cross-entropy of the scores: -log p(true class), p clamped to [1e-12, 1].
double cross_entropy(const Scores& scores);

// The draw key of a list entry (its paths).
std::uint64_t sample_draw_key(const data::ListEntry& entry);

struct Summary {
  double auc = 0, eer = 0, eer_threshold = 0, hter = 0;  // hter at the set's own EER threshold
};
Summary summarize(const Scores& scores);

}  // namespace mmdg::eval
