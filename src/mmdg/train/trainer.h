// The trainer: balanced multi-source batches, Adam, a training strategy (strategy.h: losses and
// gradient rule, e.g. SSP + ReGrad), evaluation on held-out lists after each epoch with
// best-model selection, and a run directory (run_dir.h). `resume` continues exactly where an
// interrupted run stopped. SIGINT / SIGTERM save a resumable state before exiting; a NaN / inf
// loss stops the run and keeps the last good checkpoint.
#pragma once
#include <nlohmann/json.hpp>
#include <functional>
#include <string>
#include <vector>

#include "mmdg/model/network_options.h"
#include "mmdg/train/train_options.h"

namespace mmdg::train {

// The data of a run, declared once (mmdg/util/settings.h): in config.json under "data" and on the
// command line as --train, --val, --data-root, --pretrained.
struct TrainData {
  std::vector<std::string> train_lists;  // one per source domain
  std::vector<std::string> val_lists;    // held-out lists for model selection (none: the last epoch is kept)
  std::string data_root;
  std::string pretrained;                // ViT weights for the backbone ("" = random init)

  template <class V>
  void visit(V&& v) {
    v("train", train_lists, "training lists, one per source domain");
    v("val", val_lists, "held-out lists for per-epoch evaluation and best-model selection");
    v("data_root", data_root, "root of the lists' relative paths");
    v("pretrained", pretrained, "ViT weights for the backbone (.pth or .safetensors)");
  }
};

struct TrainResult {
  bool completed = false;    // false: interrupted (resumable)
  std::int64_t epochs_done = 0;
  double best_hter = 1.0, best_auc = 0.0;
  std::int64_t best_epoch = -1;
  double last_loss = 0.0;
  bool stopped_early = false;  // --patience: the validation loss stopped improving before --epochs
};

// A JSON file of options (a config file, a run's config.json); errors name the file.
nlohmann::json read_config_json(const std::string& path);

// The training options under "train" of such a file's JSON (defaults where absent); in files of
// earlier versions, which have no `strategy`, the model's `method` names it. Errors name `context`.
TrainOptions train_options_from_config(const nlohmann::json& config, const std::string& context);

// A run's config.json: {"model": ..., "train": ..., "data": ...}. Reading accepts the files of
// earlier versions (their `method` names the network and strategy).
struct RunConfig {
  model::NetworkOptions model;
  TrainOptions train;
  TrainData data;
  nlohmann::json to_json() const;
  static RunConfig read(const std::string& path);
};

class Trainer {
 public:
  // A new run in `run_dir` (must not hold a run yet).
  Trainer(model::NetworkOptions model, TrainOptions options, TrainData data, std::string run_dir);
  // Continues the run in `run_dir` with its saved options. `relocate` may point the data to new
  // locations (lists, data root: not part of the model); the new ones are used, said, and saved.
  static Trainer resume(const std::string& run_dir, const std::function<void(TrainData&)>& relocate = {});

  TrainResult run();

 private:
  Trainer() = default;
  RunConfig config_;
  std::string run_dir_;
  bool continuing_ = false;  // made by resume(): recovers the committed state, or starts over when none was saved
};

// Installs SIGINT / SIGTERM handlers that ask a running trainer to save and stop, and clears an
// earlier request (one process may run several commands: a Python session).
void install_interrupt_handlers();
// True once SIGINT / SIGTERM arrived (after install_interrupt_handlers): long loops that cannot
// save a resumable state (pretraining) stop with an error.
bool interrupt_requested();

}  // namespace mmdg::train
