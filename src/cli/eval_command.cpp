// `mmdg eval`: every metric under every threshold policy, from a checkpoint and a list or from
// a scores CSV.
#include <torch/torch.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/model_config.h"
#include "mmdg/data/dataset.h"
#include "mmdg/eval/report.h"
#include "mmdg/infer/checkpoint.h"
#include "mmdg/util/error.h"

namespace mmdg::cli {
namespace {

struct EvalArgs {
  std::string scores, val_scores, checkpoint, config, list, val_list, data_root, missing, out_scores;
  std::string device = "cpu", estimator, normalization = "imagenet";
  double threshold = 0.5;
  int batch_size = 32, workers = 2;
  bool per_video = false, json = false;
};

eval::Scores score_list(model::MMDGNetImpl& net, const EvalArgs& a, const std::string& list, bool apply_missing,
                        std::vector<std::string>* keys) {
  const data::MultiDomainDataset ds({list}, a.data_root, net.options().image_size, data::parse_normalization(a.normalization),
                                    false, apply_missing ? parse_missing(a.missing) : std::array<bool, 3>{false, false, false});
  auto scores = eval::score_dataset(net, ds, a.batch_size, parse_device(a.device), a.workers);
  if (keys)
    for (std::size_t i = 0; i < ds.size(); ++i) keys->push_back(ds.entry(i).rgb);
  return scores;
}

void run_eval(const EvalArgs& a) {
  eval::Scores scores;
  std::optional<eval::Scores> val;
  if (!a.scores.empty()) {
    if (!a.checkpoint.empty() || !a.list.empty()) throw Error("give either --scores or --checkpoint with --list, not both");
    scores = eval::read_scores_csv(a.scores);
    if (!a.val_scores.empty()) val = eval::read_scores_csv(a.val_scores);
  } else {
    if (a.checkpoint.empty() || a.list.empty()) throw Error("give --scores CSV, or --checkpoint CKPT with --list LIST");
    std::optional<model::MMDGOptions> fallback;
    if (!a.config.empty()) fallback = load_model_config(a.config);
    auto net = infer::load_checkpoint(a.checkpoint, fallback);
    if (!a.estimator.empty()) net->set_estimator(a.estimator);
    net->to(parse_device(a.device));
    std::vector<std::string> keys;
    scores = score_list(*net, a, a.list, true, &keys);
    if (!a.out_scores.empty()) eval::write_scores_csv(a.out_scores, scores, {{{"path", keys}}, {}});
    if (a.per_video) {
      std::vector<std::string> videos;
      for (const auto& k : keys) videos.push_back(eval::video_key(k));
      scores = eval::average_by_video(scores, videos);
    }
    if (!a.val_list.empty()) val = score_list(*net, a, a.val_list, false, nullptr);
  }
  const auto report = eval::make_report(scores, val, a.threshold);
  if (a.json) std::cout << eval::report_json(report).dump(1) << "\n";
  else std::cout << eval::report_text(report);
}

}  // namespace

void add_eval_command(CLI::App& app) {
  auto a = std::make_shared<EvalArgs>();
  auto* cmd = app.add_subcommand(
      "eval", "AUC, EER, HTER, APCER, BPCER, ACER, TPR@FPR under every threshold policy (target-eer, source-val, fixed)");
  cmd->add_option("--scores", a->scores, "CSV with a header and columns score,label (others ignored)");
  cmd->add_option("--val-scores", a->val_scores, "source validation scores CSV for the source-val policy");
  cmd->add_option("--checkpoint", a->checkpoint, "mmdg checkpoint to score --list with");
  cmd->add_option("--config", a->config, "model config of a plain state dict (preset or JSON file)");
  cmd->add_option("--list", a->list, "benchmark list to evaluate");
  cmd->add_option("--val-list", a->val_list, "source validation list for the source-val policy");
  cmd->add_option("--data-root", a->data_root, "root of the lists' relative paths");
  cmd->add_option("--missing", a->missing, "modalities absent at test time, e.g. depth,ir (Protocol 2)");
  cmd->add_option("--out-scores", a->out_scores, "also write the per-frame scores to this CSV");
  cmd->add_option("--threshold", a->threshold, "threshold of the fixed policy")->capture_default_str();
  cmd->add_flag("--per-video", a->per_video, "average the frames of each video before the metrics");
  cmd->add_option("--batch-size", a->batch_size, "samples per forward")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--workers", a->workers, "data-loading threads")->capture_default_str();
  cmd->add_option("--device", a->device, "cpu, cuda or cuda:N")->capture_default_str();
  cmd->add_option("--estimator", a->estimator, "override the uncertainty estimator: mc | binomial | expected");
  cmd->add_option("--normalization", a->normalization, "imagenet | half")->capture_default_str();
  cmd->add_flag("--json", a->json, "machine-readable output");
  cmd->callback([a] { run_eval(*a); });
}

}  // namespace mmdg::cli
