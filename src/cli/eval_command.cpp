// `mmdg eval`: every metric under every threshold policy, from a checkpoint and a list or from
// a scores CSV.
#include <torch/torch.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <vector>

#include "cli/commands.h"
#include "cli/model_config.h"
#include "cli/settings_cli.h"
#include "mmdg/data/attack_type.h"
#include "mmdg/data/dataset.h"
#include "mmdg/eval/evaluate.h"
#include "mmdg/eval/report.h"
#include "mmdg/infer/infer_options.h"
#include "mmdg/util/error.h"

namespace mmdg::cli {
namespace {

struct EvalArgs {
  std::string scores, val_scores, list, val_list, out_scores;
  std::vector<std::string> attack_lists;
  double threshold = 0.5;
  bool per_video = false, json = false;
};

// Scores of a list; with `keys`, also each sample's path (into `keys`) and attack type.
eval::Scores score_list(model::NetworkImpl& net, const infer::InferOptions& o, data::Normalization normalization,
                        const std::string& list, bool apply_missing, std::vector<std::string>* keys,
                        const std::map<std::string, std::string>& attack_lists = {}) {
  const data::MultiDomainDataset ds({list}, o.data_root, net.options().backbone.image_size(), normalization, false,
                                    apply_missing ? o.missing_modalities() : std::array<bool, 3>{false, false, false});
  std::size_t live = 0;
  for (std::size_t i = 0; i < ds.size(); ++i) live += ds.label(i) == 1;
  if (live == 0 || live == ds.size())  // before scoring it: the metrics need both classes
    throw Error(list + ": " + std::to_string(live) + " live and " + std::to_string(ds.size() - live) +
                " spoof samples; the metrics need both live (1) and spoof (0) samples");
  auto scores = eval::score_dataset(net, ds, o.batch_size, o.torch_device(), static_cast<int>(o.workers), nullptr,
                                    static_cast<std::uint64_t>(o.seed));
  if (keys)
    for (std::size_t i = 0; i < ds.size(); ++i) {
      keys->push_back(ds.entry(i).rgb);
      scores.attacks.push_back(data::attack_type(ds.entry(i), attack_lists));
    }
  return scores;
}

void run_eval(const EvalArgs& a, const infer::InferOptions& o) {
  eval::Scores scores;
  std::optional<eval::Scores> val;
  std::optional<double> checkpoint_threshold;
  if (!a.scores.empty()) {
    if (!o.checkpoint.empty() || !a.list.empty()) throw UsageError("give either --scores or --checkpoint with --list, not both");
    if (!a.attack_lists.empty()) throw UsageError("option --attack-list works with --list; a scores CSV carries an attack column");
    scores = eval::read_scores_csv(a.scores);
    if (a.per_video) {
      if (scores.videos.empty())
        throw UsageError("option --per-video: " + a.scores + " has no 'video' or 'path' column to group the frames by");
      scores = eval::average_by_video(scores, scores.videos);
    }
    if (!a.val_scores.empty()) val = eval::read_scores_csv(a.val_scores);
  } else {
    if (o.checkpoint.empty() || a.list.empty()) throw UsageError("give --scores CSV, or --checkpoint CKPT with --list LIST");
    o.validate();
    infer::Predictor predictor = load_predictor(o);  // loads as predict does; logs its notes
    if (const auto& point = predictor.stored().operating_point) checkpoint_threshold = point->threshold;
    auto& net = predictor.network();
    const auto normalization = predictor.scoring().normalization;
    std::vector<std::string> keys;
    scores = score_list(net, o, normalization, a.list, true, &keys, data::read_attack_lists(a.attack_lists));
    if (!a.out_scores.empty()) eval::write_scores_csv(a.out_scores, scores, {{{"path", keys}, {"attack", scores.attacks}}, {}});
    if (a.per_video) {
      std::vector<std::string> videos;
      for (const auto& k : keys) videos.push_back(eval::video_key(k));
      scores = eval::average_by_video(scores, videos);
    }
    if (!a.val_list.empty()) val = score_list(net, o, normalization, a.val_list, false, nullptr);
  }
  const auto report = eval::make_report(scores, val, a.threshold, checkpoint_threshold);
  if (a.json) std::cout << eval::report_json(report).dump(1) << "\n";
  else std::cout << eval::report_text(report);
}

}  // namespace

void add_eval_command(CLI::App& app) {
  auto a = std::make_shared<EvalArgs>();
  auto* cmd = app.add_subcommand(
      "eval",
      "AUC, EER, HTER, APCER, BPCER, ACER, TPR@FPR under every threshold policy (target-eer, source-val, checkpoint, fixed)");
  cmd->add_option("--scores", a->scores, "CSV with a header and columns score,label (others ignored)");
  cmd->add_option("--val-scores", a->val_scores, "source validation scores CSV for the source-val policy");
  cmd->add_option("--list", a->list, "benchmark list to evaluate (with --checkpoint)");
  cmd->add_option("--val-list", a->val_list, "source validation list for the source-val policy");
  cmd->add_option("--out-scores", a->out_scores, "also write the per-frame scores to this CSV (- for standard output)");
  cmd->add_option("--threshold", a->threshold, "threshold of the fixed policy, in [0, 1]")
      ->check(unit_interval())
      ->capture_default_str();
  cmd->add_option("--attack-list", a->attack_lists,
                  "TYPE=LIST: the samples of LIST are of attack type TYPE (e.g. Flex-Modal's WMCA_test_fakehead.txt); "
                  "repeatable. Otherwise attack types come from the list's attack field or the dataset's path convention");
  cmd->add_flag("--per-video", a->per_video, "average the frames of each video before the metrics");
  cmd->add_flag("--json", a->json, "machine-readable output");
  auto infer = std::make_shared<SettingsOptions<infer::InferOptions>>(cmd, "Scoring");
  cmd->callback([a, infer] {
    infer::InferOptions o;
    infer->apply(o);
    run_eval(*a, o);
  });
}

}  // namespace mmdg::cli
