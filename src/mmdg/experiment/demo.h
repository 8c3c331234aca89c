// The main job on the embedded default (`mmdg demo`): the synthetic benchmark, a synthetically
// pretrained small ViT, MMDG and the ViT baseline trained and tested on the synthetic CPS->W
// sub-protocol over several seeds, their table (mean +- std, test-set counts, the paired
// bootstrap CI of the ViT's HTER difference to MMDG), a ROC figure and MMDG's modality-balance
// figure, and one stress curve (mmdg stress: depth dropout at severities 0, 0.5 and 1 on the first
// seed of each method). Finished steps in `out` are skipped, so an interrupted demo continues
// where it stopped. Its training settings are saved in every run's config.json, so later commands
// can reuse them with --config <out>/protocol/mmdg/seed0/CPS-W/config.json.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace mmdg::experiment {

struct DemoOptions {
  std::string out = "demo_out";
  std::int64_t epochs = 4;
  std::int64_t steps_per_epoch = 12;
  std::vector<std::int64_t> seeds{0, 1, 2};
  std::int64_t subjects = 60;  // per domain: a subset of the benchmark's 100, to fit the demo in 15 minutes
};

struct DemoResult {
  std::string table, roc_figure, balance_figure, runs;
  std::string stress_table, stress_figure;
  double pretrain_held_out_accuracy = -1, pretrain_chance = 0;  // -1: pretrained earlier (see the weights' .json)
  double minutes = 0;
};

DemoResult run_demo(const DemoOptions& options);

}  // namespace mmdg::experiment
