#include "mmdg/experiment/demo.h"

#include <chrono>
#include <filesystem>

#include "mmdg/data/synth.h"
#include "mmdg/experiment/stress.h"
#include "mmdg/eval/report.h"
#include "mmdg/experiment/protocol.h"
#include "mmdg/train/pretrain.h"
#include "mmdg/train/run_dir.h"
#include "mmdg/train/strategy.h"
#include "mmdg/util/error.h"
#include "mmdg/util/log.h"
#include "mmdg/viz/figures.h"

namespace mmdg::experiment {
namespace fs = std::filesystem;

DemoResult run_demo(const DemoOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  if (options.seeds.empty()) throw Error("demo: give at least one seed");
  DemoResult result;
  const fs::path root(options.out);
  const std::string data_dir = (root / "data").string();
  // 1. the synthetic benchmark
  if (!fs::exists(fs::path(data_dir) / "W-test.txt")) {
    log::info("== 1/5 synthetic benchmark -> " + data_dir);
    data::SynthOptions synth;
    synth.subjects = options.subjects;
    const auto summary = data::write_synthetic_benchmark(synth, data_dir);
    log::info(std::to_string(summary.samples) + " samples");
  }
  // 2. a small pretrained backbone
  const std::string weights = (root / "vit_mini_synthetic.pth").string();
  if (!fs::exists(weights)) {
    log::info("== 2/5 pretraining vit_mini on the synthetic proxy task -> " + weights);
    const auto pretrained = train::pretrain_vit(train::PretrainOptions(), weights);
    result.pretrain_held_out_accuracy = pretrained.held_out_accuracy;
    result.pretrain_chance = pretrained.chance;
  }
  // 3. MMDG and the ViT baseline on CPS -> W
  ProtocolArgs args;
  args.protocol = 1;
  args.sub = "CPS->W";
  args.lists_dir = data_dir;
  args.data_root = data_dir;
  args.pretrained = weights;
  args.out = (root / "protocol").string();
  args.model = model::NetworkOptions::preset("mmdg_mini");
  args.model.estimator = model::Estimator::Binomial;  // the exact fast sampler of the MC-dropout estimate
  args.train.epochs = options.epochs;
  args.train.steps_per_epoch = options.steps_per_epoch;
  args.seeds = options.seeds;
  args.train.batch_size = 16;
  args.train.lr = 2e-4;
  args.train.log_every = 5;
  // named extras (the paper trains without augmentation): the small synthetic training set gets
  // flips and brightness / gamma jitter
  args.train.augment.hflip = true;
  args.train.augment.brightness = 0.2;
  args.train.augment.gamma = 0.2;
  const std::pair<const char*, const char*> methods[] = {{train::kPaperMethod, "MMDG"}, {train::kViTBaselineMethod, "ViT"}};
  for (const auto& [method, label] : methods) {
    log::info(std::string("== 3/5 training and testing ") + label + " on CPS->W");
    const auto preset = train::resolve_method(method);
    args.model.network = preset.network;
    args.train.strategy = preset.strategy;
    args.method_name = preset.name;
    run_protocol(args);
  }
  // 4. figures
  log::info("== 4/5 figures");
  std::vector<std::pair<std::string, eval::Scores>> curves;
  const std::string first_seed = "seed" + std::to_string(options.seeds.front());
  for (const auto& [method, label] : methods)  // the first seed's curves
    curves.emplace_back(label, eval::read_scores_csv(scores_csv_path(args.out, std::string(method) + "/" + first_seed, 1, args.sub)));
  result.roc_figure = (root / "roc_CPS-W.png").string();
  result.balance_figure = (root / "balance_mmdg_CPS-W.png").string();
  result.table = (fs::path(args.out) / "table_p1.md").string();
  result.runs = args.out;
  viz::write_figure(result.roc_figure, viz::roc_figure("CPS -> W (synthetic data, " + first_seed + ")", curves));
  viz::write_figure(result.balance_figure,
                 viz::balance_figure(train::RunDir((fs::path(args.out) / train::kPaperMethod / first_seed / "CPS-W").string()).log()));
  // 5. one stress curve: depth dropping out, the first seed of each method
  log::info("== 5/5 stress: depth dropout on the W test set");
  StressArgs stress;
  for (const auto& [method, label] : methods)
    stress.checkpoints.push_back(std::string(label) + "=" +
                                 (fs::path(args.out) / method / first_seed / "CPS-W" / "best.safetensors").string());
  stress.list = (fs::path(data_dir) / "W-test.txt").string();
  stress.data_root = data_dir;
  stress.out = (root / "stress").string();
  stress.corruptions = {"depth_dropout"};
  stress.severities = {0, 0.5, 1};
  run_stress(stress);
  result.stress_table = (root / "stress" / "stress.md").string();
  result.stress_figure = (root / "stress" / "stress_depth_dropout.png").string();
  result.minutes = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / 60;
  return result;
}

}  // namespace mmdg::experiment
