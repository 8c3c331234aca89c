// `mmdg stress`: how trained detectors degrade when one modality fails. For each model (one or
// several checkpoints: seeds), corruption (data/corruption.h) and severity, every sample of a test
// list is corrupted (the same draw for every model) and scored; then, with 95 % bootstrap
// intervals over the test videos (the same draws for every model, seeds averaged inside each
// draw): the HTER at each model's deployed threshold (the one its checkpoint records) and at the
// target's EER, the AUC, the APCER of each attack type; the area under each degradation curve
// (the mean HTER over the severities, trapezoids); for every pair of models the difference of
// their areas; and, for networks with an uncertainty module and local corruptions, the AUROC of
// 1 - U at ranking the corrupted modality's corrupted patches above its clean face patches.
// Scores are kept per corruption, severity and checkpoint (<out>/scores/<corruption>/s<severity>/
// <hash of the weights>.json), so an interrupted run resumes and a model joins a later comparison
// without scoring it again; <out>/checkpoints.json records each checkpoint's threshold and input,
// so a finished run whose weights are gone (an archive without weights) still joins it.
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace mmdg::experiment {

struct StressArgs {
  std::vector<std::string> checkpoints;  // "PATH" or "NAME=PATH"; one NAME given several times: its seeds
  std::string protocol_dir;              // or: <dir>/<method>[/seed<k>]/<sub>/best.safetensors of every method
  std::string sub;                       // with protocol_dir: the sub-protocol folder, e.g. CPS-W
  std::string list, data_root, out;
  std::vector<std::string> corruptions;
  std::vector<double> severities{0, 0.25, 0.5, 0.75, 1};
  std::int64_t batch_size = 32;
  std::string device = "cpu";
  std::int64_t seed = 0;        // the corruption draws and the estimators' draws
  std::int64_t resamples = 1000;  // bootstrap draws (AUROC intervals use a fifth of them)
};

// The models a StressArgs names: title -> checkpoint paths (seeds), in order. A checkpoint that is
// missing is accepted where <out>/checkpoints.json records it (for a run: with the same
// done.json). Errors name the option.
std::vector<std::pair<std::string, std::vector<std::string>>> stress_models(const StressArgs& args);

// Runs (or resumes) and writes <out>/stress.json, stress.csv, stress.md and one figure per
// corruption (<out>/stress_<corruption>.png with .svg, .pdf, .csv); returns the JSON.
nlohmann::json run_stress(const StressArgs& args);

}  // namespace mmdg::experiment
