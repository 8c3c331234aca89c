// `mmdg demo`: the main job on the embedded default: the synthetic benchmark, a synthetically
// pretrained small ViT, MMDG and the ViT baseline trained and tested on CPS->W, table and figures.
#include <CLI/CLI.hpp>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "mmdg/data/synth.h"
#include "mmdg/eval/protocol.h"
#include "mmdg/eval/report.h"
#include "mmdg/train/pretrain.h"
#include "mmdg/train/trainer.h"
#include "mmdg/viz/figures.h"
#include "mmdg/viz/overlay.h"

namespace mmdg::cli {
namespace fs = std::filesystem;

void add_demo_command(CLI::App& app) {
  auto out = std::make_shared<std::string>("demo_out");
  auto epochs = std::make_shared<std::int64_t>(5);
  auto* cmd = app.add_subcommand(
      "demo", "The embedded default end to end: synthetic benchmark, synthetic pretraining, MMDG and the ViT baseline on CPS->W");
  cmd->add_option("--out", *out, "output folder (reused: finished steps are skipped)")->capture_default_str();
  cmd->add_option("--epochs", *epochs, "training epochs per method")->capture_default_str();
  cmd->callback([=] {
    train::install_interrupt_handlers();
    const auto start = std::chrono::steady_clock::now();
    const fs::path root(*out);
    const std::string data_dir = (root / "data").string();
    // 1. the synthetic benchmark
    if (!fs::exists(fs::path(data_dir) / "W-test.txt")) {
      std::cout << "== 1/4 synthetic benchmark -> " << data_dir << "\n";
      const auto summary = data::write_synthetic_benchmark(data::SynthOptions(), data_dir);
      std::cout << summary.samples << " samples\n";
    }
    // 2. a small pretrained backbone
    const std::string weights = (root / "vit_mini_synthetic.pth").string();
    if (!fs::exists(weights)) {
      std::cout << "== 2/4 pretraining vit_mini on the synthetic proxy task -> " << weights << "\n";
      train::pretrain_vit(train::PretrainOptions(), weights);
    }
    // 3. MMDG and the ViT baseline on CPS -> W
    eval::ProtocolArgs args;
    args.protocol = 1;
    args.sub = "CPS->W";
    args.lists_dir = data_dir;
    args.data_root = data_dir;
    args.pretrained = weights;
    args.out = (root / "protocol").string();
    args.model = model::MMDGOptions::preset("mmdg_mini");
    args.model.estimator = "binomial";  // the exact fast sampler of the MC-dropout estimate
    args.train.epochs = *epochs;
    args.train.batch_size = 16;
    args.train.lr = 2e-4;
    args.train.log_every = 5;
    for (const char* method : {"mmdg", "vit"}) {
      std::cout << "== 3/4 training and testing " << method << " on CPS->W\n";
      args.model.method = method;
      args.method_name = method;
      eval::run_protocol(args);
    }
    // 4. figures
    std::cout << "== 4/4 figures\n";
    std::vector<std::pair<std::string, eval::Scores>> curves;
    for (const char* method : {"mmdg", "vit"})
      curves.emplace_back(method == std::string("mmdg") ? "MMDG" : "ViT",
                          eval::read_scores_csv(eval::scores_csv_path(args.out, method, 1, args.sub)));
    const std::string roc = (root / "roc_CPS-W.png").string(), balance = (root / "balance_mmdg_CPS-W.png").string();
    viz::write_png(roc, viz::roc_figure("CPS -> W (synthetic data)", curves));
    viz::write_png(balance, viz::balance_figure((fs::path(args.out) / "mmdg" / "CPS-W" / "log.jsonl").string()));
    const double minutes = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / 60;
    std::cout << "\nSynthetic data, not the real benchmark. Table: " << (fs::path(args.out) / "table_p1.md").string()
              << "\nFigures: " << roc << ", " << balance << "\nRuns: " << args.out << "\n"
              << "Total " << minutes << " min\n";
  });
}

}  // namespace mmdg::cli
