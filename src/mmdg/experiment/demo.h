// The main job on the embedded default (`mmdg demo`): the synthetic benchmark, a synthetically
// pretrained small ViT, MMDG and the ViT baseline trained and tested on the synthetic CPS->W
// sub-protocol, their table, a ROC figure and MMDG's modality-balance figure. Finished steps in
// `out` are skipped, so an interrupted demo continues where it stopped.
#pragma once
#include <cstdint>
#include <string>

namespace mmdg::experiment {

struct DemoOptions {
  std::string out = "demo_out";
  std::int64_t epochs = 5;
};

struct DemoResult {
  std::string table, roc_figure, balance_figure, runs;
  double minutes = 0;
};

DemoResult run_demo(const DemoOptions& options);

}  // namespace mmdg::experiment
