// What a resumed run needs besides its weights (last.safetensors): the loop's counters, the best
// validation result so far, the optimizer's moments, the CPU generator's state and the training
// strategy's own state. Saved in resume.pt, written atomically (a temporary file, then a rename).
#pragma once
#include <cstdint>
#include <string>

namespace torch::optim {
class Optimizer;
}

namespace mmdg::train {

class Strategy;

struct ResumeState {
  std::int64_t epoch = 0, step_in_epoch = 0;  // where the resumed run starts
  std::int64_t global_step = 0;
  std::int64_t best_epoch = -1;               // 1-based, -1 = none yet
  double best_hter = 2.0, best_auc = -1.0;

  void save(const std::string& path, const torch::optim::Optimizer& optimizer, const Strategy& strategy) const;
  // Restores the optimizer, the strategy and the CPU generator too. Errors name `path`.
  static ResumeState load(const std::string& path, torch::optim::Optimizer& optimizer, Strategy& strategy);
};

}  // namespace mmdg::train
