// `mmdg eval`: every metric under every threshold policy, from a checkpoint and a list or from
// a scores CSV.
#include <torch/torch.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/model_config.h"
#include "cli/settings_cli.h"
#include "mmdg/data/dataset.h"
#include "mmdg/eval/evaluate.h"
#include "mmdg/eval/report.h"
#include "mmdg/infer/checkpoint.h"
#include "mmdg/infer/infer_options.h"
#include "mmdg/util/error.h"

namespace mmdg::cli {
namespace {

struct EvalArgs {
  std::string scores, val_scores, list, val_list, out_scores;
  double threshold = 0.5;
  bool per_video = false, json = false;
};

eval::Scores score_list(model::NetworkImpl& net, const infer::InferOptions& o, const std::string& list, bool apply_missing,
                        std::vector<std::string>* keys) {
  const data::MultiDomainDataset ds({list}, o.data_root, net.options().backbone.image_size(), o.normalization, false,
                                    apply_missing ? o.missing_modalities() : std::array<bool, 3>{false, false, false});
  auto scores = eval::score_dataset(net, ds, o.batch_size, o.torch_device(), static_cast<int>(o.workers));
  if (keys)
    for (std::size_t i = 0; i < ds.size(); ++i) keys->push_back(ds.entry(i).rgb);
  return scores;
}

void run_eval(const EvalArgs& a, const infer::InferOptions& o) {
  eval::Scores scores;
  std::optional<eval::Scores> val;
  if (!a.scores.empty()) {
    if (!o.checkpoint.empty() || !a.list.empty()) throw Error("give either --scores or --checkpoint with --list, not both");
    scores = eval::read_scores_csv(a.scores);
    if (!a.val_scores.empty()) val = eval::read_scores_csv(a.val_scores);
  } else {
    if (o.checkpoint.empty() || a.list.empty()) throw Error("give --scores CSV, or --checkpoint CKPT with --list LIST");
    o.validate();
    std::optional<model::NetworkOptions> fallback;
    if (!o.config.empty()) fallback = load_model_config(o.config);
    auto net = infer::load_checkpoint(o.checkpoint, fallback);
    if (const auto estimator = o.estimator_override()) net->set_estimator(*estimator);
    net->to(o.torch_device());
    net->set_precision(o.precision);
    std::vector<std::string> keys;
    scores = score_list(*net, o, a.list, true, &keys);
    if (!a.out_scores.empty()) eval::write_scores_csv(a.out_scores, scores, {{{"path", keys}}, {}});
    if (a.per_video) {
      std::vector<std::string> videos;
      for (const auto& k : keys) videos.push_back(eval::video_key(k));
      scores = eval::average_by_video(scores, videos);
    }
    if (!a.val_list.empty()) val = score_list(*net, o, a.val_list, false, nullptr);
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
  cmd->add_option("--list", a->list, "benchmark list to evaluate (with --checkpoint)");
  cmd->add_option("--val-list", a->val_list, "source validation list for the source-val policy");
  cmd->add_option("--out-scores", a->out_scores, "also write the per-frame scores to this CSV");
  cmd->add_option("--threshold", a->threshold, "threshold of the fixed policy, in [0, 1]")
      ->check([](const std::string& text) {  // CLI::Range lets nan through (every comparison with it is false)
        char* end = nullptr;
        const double v = std::strtod(text.c_str(), &end);
        const bool ok = end != text.c_str() && *end == '\0' && v >= 0 && v <= 1;
        return ok ? std::string() : "must be a number in [0, 1], got '" + text + "'";
      })
      ->capture_default_str();
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
