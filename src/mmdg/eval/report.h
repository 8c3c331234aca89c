// All metrics of a set of scores under every threshold policy, because the field mixes them and
// a number means little without its policy:
//   target-eer  threshold at the EER point of the evaluated set itself (SSDG-style DG-FAS papers;
//               HTER there equals the EER; comparable with the paper's tables) — the default
//   source-val  the EER threshold of the source validation scores, applied to the target (the
//               deployable number)
//   fixed       a given threshold (default 0.5)
#pragma once
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "mmdg/eval/evaluate.h"
#include "mmdg/eval/metrics.h"

namespace mmdg::eval {

struct PolicyResult {
  std::string policy;
  ThresholdMetrics metrics;
};

struct Report {
  std::size_t live = 0, spoof = 0;
  double auc = 0, eer = 0;
  double tpr_at_fpr_01 = 0, tpr_at_fpr_1 = 0, tpr_at_fpr_5 = 0;  // at FPR 0.1 %, 1 %, 5 %
  std::vector<PolicyResult> policies;  // target-eer, [source-val], fixed
};

Report make_report(const Scores& scores, const std::optional<Scores>& source_val, double fixed_threshold);

nlohmann::json report_json(const Report& report);
std::string report_text(const Report& report);

// Reads a CSV with a header holding at least the columns `score` and `label` (others ignored).
// Errors name the file and line.
Scores read_scores_csv(const std::string& path);

// Averages the scores of frames of the same video (`keys[i]`: the video of sample i).
Scores average_by_video(const Scores& scores, const std::vector<std::string>& keys);

// The video of a list path: the folder above the modality folder ("a/b/video/rgb/0001.jpg" ->
// "a/b/video"); a path without two folders is its own video.
std::string video_key(const std::string& path);

}  // namespace mmdg::eval
