// What a resumed run needs besides its weights (last.safetensors): the loop's counters, the best
// validation result so far, the optimizer's moments, the states of the random generators the run
// draws from (the CPU's, and the GPU's on a CUDA run: dropout and the uncertainty estimators draw
// there) and the training strategy's own state. Saved in resume.pt, written atomically (a
// temporary file, then a rename). Loaded onto the run's device (a map location): a run saved on
// cuda:1 or another machine resumes on cuda:0 or the CPU.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Generator.h>
#include <c10/core/Device.h>

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
  double best_val_loss = 1e300;             // --patience: the lowest validation loss so far
  std::int64_t best_val_loss_epoch = 0;     // 1-based, 0 = none yet

  // `device`: the run's device, whose generator is saved beside the CPU's.
  void save(const std::string& path, const torch::optim::Optimizer& optimizer, const Strategy& strategy,
            c10::Device device) const;
  // Restores the optimizer and the strategy (their tensors onto `device`) and the generators of
  // generators_of(device): a generator state the file lacks (a run saved on the CPU resumed on a
  // GPU) or holds for another kind of device is reported in the log, not an error. Errors name `path`.
  static ResumeState load(const std::string& path, torch::optim::Optimizer& optimizer, Strategy& strategy,
                          c10::Device device);
};

// The random generators a run on `device` draws from, with their names in resume.pt: ("rng", the
// CPU's) and, on a CUDA device, ("rng_cuda", that device's default generator).
std::vector<std::pair<std::string, at::Generator>> generators_of(c10::Device device);

}  // namespace mmdg::train
