// The MMDG trainer: balanced multi-source batches, Adam, SSP losses with prototypes, ReGrad,
// evaluation on a held-out list after each epoch with best-model selection, and a run directory:
//   config.json      resolved model / training / data options
//   log.jsonl        one JSON object per logged step and per epoch
//   last.safetensors, best.safetensors   checkpoints (weights + options), written atomically
//   resume.pt        optimizer state, RNG, prototypes, running losses, epoch and step
// `resume` continues exactly where an interrupted run stopped. SIGINT / SIGTERM save a resumable
// state before exiting; a NaN / inf loss stops the run and keeps the last good checkpoint.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "mmdg/model/mmdg_options.h"
#include "mmdg/train/train_options.h"

namespace mmdg::train {

struct TrainData {
  std::vector<std::string> train_lists;  // one per source domain
  std::vector<std::string> val_lists;    // held-out lists for model selection (none: the last epoch is kept)
  std::string data_root;
  std::string pretrained;                // ViT weights for the backbone ("" = random init)
};

struct TrainResult {
  bool completed = false;    // false: interrupted (resumable)
  std::int64_t epochs_done = 0;
  double best_hter = 1.0, best_auc = 0.0;
  std::int64_t best_epoch = -1;
  double last_loss = 0.0;
};

class Trainer {
 public:
  // A new run in `run_dir` (must not hold a run yet).
  Trainer(model::MMDGOptions model, TrainOptions options, TrainData data, std::string run_dir);
  // Continues the run in `run_dir` with its saved options.
  static Trainer resume(const std::string& run_dir);

  TrainResult run();

 private:
  Trainer() = default;
  model::MMDGOptions model_options_;
  TrainOptions options_;
  TrainData data_;
  std::string run_dir_;
  bool resuming_ = false;
};

// Installs SIGINT / SIGTERM handlers that ask a running trainer to save and stop.
void install_interrupt_handlers();

}  // namespace mmdg::train
