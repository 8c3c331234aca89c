// `mmdg demo`: the main job on the embedded default (mmdg/experiment/demo.h).
#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "mmdg/io/file_util.h"
#include "mmdg/experiment/demo.h"
#include "mmdg/train/trainer.h"

namespace mmdg::cli {

void add_demo_command(CLI::App& app) {
  auto options = std::make_shared<experiment::DemoOptions>();
  auto* cmd = app.add_subcommand(
      "demo", "The embedded default end to end: synthetic benchmark, synthetic pretraining, MMDG and the ViT baseline on CPS->W");
  cmd->add_option("--out", options->out, "output folder (reused: finished steps are skipped)")->capture_default_str();
  cmd->add_option("--epochs", options->epochs, "training epochs per method and seed")->capture_default_str();
  cmd->add_option("--steps-per-epoch", options->steps_per_epoch, "training steps per epoch (batch 16)")->capture_default_str();
  cmd->add_option("--seeds", options->seeds, "training seeds (comma-separated)")->delimiter(',')->capture_default_str();
  cmd->add_option("--subjects", options->subjects, "synthetic subjects per domain (the benchmark's default: 100)")
      ->capture_default_str();
  cmd->callback([=] {
    train::install_interrupt_handlers();
    const auto r = experiment::run_demo(*options);
    if (r.pretrain_held_out_accuracy >= 0)
      std::cout << "\nPretrained backbone: held-out proxy accuracy " << 100 * r.pretrain_held_out_accuracy << " % (chance "
                << 100 * r.pretrain_chance << " %)";
    std::cout << "\n\n" << io::read_file(r.table)
              << "\nSynthetic data (generator version 2), not the real benchmark; a short training budget ("
              << options->epochs << " epochs of " << options->steps_per_epoch
              << " steps of 16 samples; scripts/reproduce_synthetic.sh trains to convergence). A difference whose 95 % "
                 "interval contains 0 is one this test set cannot tell from noise.\nTable: "
              << r.table
              << "\n\nStress (depth dropout, seed " << options->seeds.front() << " of each method):\n"
              << io::read_file(r.stress_table) << "\nFigures: " << r.roc_figure << ", " << r.balance_figure << ", " << r.stress_figure << " (each also .svg, .pdf and its data as .csv)"
              << "\nRuns: " << r.runs << "\nTotal " << r.minutes << " min\n";
  });
}

}  // namespace mmdg::cli
