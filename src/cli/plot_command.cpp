// `mmdg plot roc | balance`: figures as PNG, SVG, PDF and CSV (PLplot), no Python needed.
#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "mmdg/eval/report.h"
#include "mmdg/util/error.h"
#include "mmdg/viz/figures.h"
#include "mmdg/util/log.h"

namespace mmdg::cli {

void add_plot_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("plot", "Figures: ROC curves, the modality balance plot (Fig. 6)");
  cmd->require_subcommand(1);
  {
    auto* roc = cmd->add_subcommand("roc", "ROC curves, one per scores CSV (columns score,label)");
    auto scores = std::make_shared<std::vector<std::string>>();
    auto out = std::make_shared<std::string>();
    auto title = std::make_shared<std::string>("ROC");
    roc->add_option("--scores", *scores, "CSV files, each as FILE or NAME=FILE")->required();
    roc->add_option("--out", *out, "figure to write: FILE.png and, beside it, .svg, .pdf and .csv (its numbers)")->required();
    roc->add_option("--title", *title, "figure title")->capture_default_str();
    roc->callback([=] {
      std::vector<std::pair<std::string, eval::Scores>> methods;
      for (const auto& item : *scores) {
        const auto eq = item.find('=');
        const std::string file = eq == std::string::npos ? item : item.substr(eq + 1);
        const std::string name = eq == std::string::npos ? std::filesystem::path(file).stem().string() : item.substr(0, eq);
        methods.emplace_back(name, eval::read_scores_csv(file));
      }
      for (const auto& file : viz::write_figure(*out, viz::roc_figure(*title, methods))) log::info("wrote " + file);
    });
  }
  {
    auto* balance = cmd->add_subcommand("balance", "Each modality's SSP loss per epoch and their variance, from a run (Fig. 6)");
    auto run = std::make_shared<std::string>();
    auto out = std::make_shared<std::string>();
    balance->add_option("--run", *run, "run directory (its log.jsonl)")->required();
    balance->add_option("--out", *out, "figure to write: FILE.png and, beside it, .svg, .pdf and .csv (its numbers)")->required();
    balance->callback([=] {
      for (const auto& file : viz::write_figure(*out, viz::balance_figure((std::filesystem::path(*run) / "log.jsonl").string())))
        log::info("wrote " + file);
    });
  }
}

}  // namespace mmdg::cli
