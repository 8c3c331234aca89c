// All metrics of a set of scores under every threshold policy, because the field mixes them and
// a number means little without its policy:
//   target-eer  threshold at the EER point of the evaluated set itself (SSDG-style DG-FAS papers;
//               HTER there equals the EER; comparable with the paper's tables) — the default
//   source-val  the EER threshold of the source validation scores, applied to the target (the
//               deployable number)
//   checkpoint  the threshold the checkpoint records (the source-val EER threshold of its best
//               epoch, chosen at training time: what a deployed detector uses)
//   fixed       a given threshold (default 0.5)
#pragma once
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "mmdg/eval/attack_metrics.h"
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
  std::vector<PolicyResult> policies;  // target-eer, [source-val], [checkpoint], fixed
  // With attack types (Scores::attacks): per-species APCER, APCER_PAIS, BPCER and ACER under each
  // policy (aligned with `policies`), and the BPCER at APCER_PAIS <= 1 %, 5 %, 10 %.
  struct PerAttack {
    std::vector<AttackMetrics> policies;
    double bpcer_at_apcer_1 = 0, bpcer_at_apcer_5 = 0, bpcer_at_apcer_10 = 0;
  };
  std::optional<PerAttack> per_attack;
};

Report make_report(const Scores& scores, const std::optional<Scores>& source_val, double fixed_threshold,
                   const std::optional<double>& checkpoint_threshold = std::nullopt);

nlohmann::json report_json(const Report& report);
std::string report_text(const Report& report);

// Reads a CSV with a header holding at least the columns `score` and `label` (a `video` column
// fills Scores::videos, else a `path` column through video_key; an `attack` column
// Scores::attacks; others ignored; a score that is not a finite number is an error naming the line; cells may be quoted as in RFC 4180). Errors name the file
// and line.
Scores read_scores_csv(const std::string& path);

// Extra columns of a scores CSV, one cell per score: text columns (e.g. "path") are written before
// `label,score`, number columns (e.g. "rel_rgb") after them.
struct TextColumn {
  std::string name;
  std::vector<std::string> cells;
};
struct NumberColumn {
  std::string name;
  std::vector<double> values;
};
struct ScoresCsvColumns {
  std::vector<TextColumn> text;
  std::vector<NumberColumn> numbers;
};

// One CSV cell (RFC 4180): quoted when it holds a comma or a quote, or starts or ends with a space.
std::string csv_cell(const std::string& text);

// Writes the scores CSV that read_scores_csv reads, atomically (path "-": standard output): the header, then one row per score
// `[text..,]label,score[,numbers..]`, numbers with 8 significant digits, LF line ends; a cell
// holding a comma or a double quote is quoted (RFC 4180). Throws Error naming the file for
// columns whose length differs from the scores', names that are empty, repeated or "label" /
// "score", and cells holding a line break.
void write_scores_csv(const std::string& path, const Scores& scores, const ScoresCsvColumns& extra = {});

// Averages the scores of frames of the same video (`keys[i]`: the video of sample i); attack types
// (when given) follow their video.
Scores average_by_video(const Scores& scores, const std::vector<std::string>& keys);

// The video of a list path: the folder above the modality folder ("a/b/video/rgb/0001.jpg" ->
// "a/b/video"); a path without two folders, or a .npz file (PADISI-style: one sample per file), is
// its own video.
std::string video_key(const std::string& path);

}  // namespace mmdg::eval
