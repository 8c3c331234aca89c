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
// into place: every process returns the scores of the whole set.
Scores score_dataset(model::NetworkImpl& net, const data::MultiDomainDataset& dataset, std::int64_t batch_size,
                     torch::Device device, int workers, const dist::ProcessGroup* group = nullptr);

struct Summary {
  double auc = 0, eer = 0, eer_threshold = 0, hter = 0;  // hter at the set's own EER threshold
};
Summary summarize(const Scores& scores);

}  // namespace mmdg::eval
