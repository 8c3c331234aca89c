// `mmdg stress`: trained detectors under one failing modality (mmdg/experiment/stress.h).
#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "mmdg/data/corruption.h"
#include "mmdg/experiment/stress.h"
#include "mmdg/io/file_util.h"
#include "mmdg/model/network.h"
#include "mmdg/train/trainer.h"

namespace mmdg::cli {

void add_stress_command(CLI::App& app) {
  auto a = std::make_shared<experiment::StressArgs>();
  auto list_corruptions = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand(
      "stress",
      "How trained detectors degrade when one modality fails: corruptions at increasing severity, HTER at the deployed "
      "threshold and at the target EER, AUC, per-attack APCER, degradation areas and their differences with bootstrap "
      "CIs, and whether the uncertainty sees the corrupted patches; resumable");
  cmd->add_option("--checkpoint", a->checkpoints,
                  "a model: PATH or NAME=PATH (repeat; one NAME several times: its seeds, averaged)");
  cmd->add_option("--protocol-dir", a->protocol_dir,
                  "instead of --checkpoint: every method of an mmdg protocol output folder (<dir>/<method>[/seed<k>]/<sub>/)");
  cmd->add_option("--sub", a->sub, "with --protocol-dir: the sub-protocol folder, e.g. CPS-W");
  cmd->add_option("--list", a->list, "test list");
  cmd->add_option("--data-root", a->data_root, "root of the list's relative paths");
  cmd->add_option("--out", a->out, "output folder (scores kept per corruption, severity and checkpoint: a run resumes, and a model stressed before joins a later comparison without scoring it again)");
  cmd->add_option("--corruption", a->corruptions, "corruptions, comma-separated (--list-corruptions)")->delimiter(',');
  cmd->add_option("--severities", a->severities, "severities in [0, 1], increasing, comma-separated")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--batch-size", a->batch_size, "samples per forward")->capture_default_str();
  cmd->add_option("--device", a->device, "cpu, cuda or cuda:N")->capture_default_str();
  cmd->add_option("--seed", a->seed, "seed of the corruption and uncertainty draws")->capture_default_str();
  cmd->add_option("--resamples", a->resamples, "bootstrap draws")->capture_default_str();
  cmd->add_flag("--list-corruptions", *list_corruptions, "print the corruptions and what their severity means, and exit");
  cmd->callback([=] {
    if (*list_corruptions) {
      for (const auto& c : data::corruptions())
        std::cout << c.name << " (" << model::modality_name(c.modality) << (c.local ? ", local" : "") << "): " << c.severity
                  << "\n";
      return;
    }
    train::install_interrupt_handlers();
    experiment::run_stress(*a);
    std::cout << io::read_file(a->out + "/stress.md") << "\nWrote " << a->out << "/stress.json, stress.csv, stress.md and one "
              << "figure per corruption (stress_<corruption>.png, .svg, .pdf, .csv)\n";
  });
}

}  // namespace mmdg::cli
