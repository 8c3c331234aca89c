// `mmdg train`: trains a method (network + strategy; MMDG by default) on source-domain lists, or
// resumes a run.
#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>
#include <sstream>

#include "cli/commands.h"
#include "cli/model_config.h"
#include "cli/settings_cli.h"
#include "mmdg/train/trainer.h"
#include "mmdg/util/error.h"

namespace mmdg::cli {
namespace {

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

}  // namespace

void add_train_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("train", "Train a method (MMDG by default) on source domains (or --resume an interrupted run)");
  auto train_lists = std::make_shared<std::string>();
  auto val_lists = std::make_shared<std::string>();
  auto data = std::make_shared<train::TrainData>();
  auto out = std::make_shared<std::string>();
  auto resume = std::make_shared<std::string>();
  cmd->add_option("--train", *train_lists, "training lists, comma-separated, one per source domain");
  cmd->add_option("--val", *val_lists, "held-out lists (comma-separated) for per-epoch evaluation and best-model selection");
  cmd->add_option("--data-root", data->data_root, "root of the lists' relative paths");
  cmd->add_option("--pretrained", data->pretrained, "ViT weights for the backbone (.pth or .safetensors)");
  cmd->add_option("--out", *out, "run directory to create");
  cmd->add_option("--resume", *resume, "continue the run in this directory with its saved options");
  auto config = std::make_shared<MethodConfigOptions>(cmd, "mmdg_b16");
  const auto report = [](const train::TrainResult& result, const std::string& run_dir) {
    if (!result.completed) throw Error("interrupted; continue with --resume " + run_dir);
    std::cout << "done: best epoch " << result.best_epoch << ", val HTER " << 100 * result.best_hter << " %, AUC "
              << 100 * result.best_auc << " %\n";
  };
  cmd->callback([=] {
    train::install_interrupt_handlers();
    if (!resume->empty()) {
      if (!out->empty() || !train_lists->empty() || !val_lists->empty() || config->given())
        throw Error("--resume continues a run with its saved options; give no other options");
      report(train::Trainer::resume(*resume).run(), *resume);
      return;
    }
    if (out->empty()) throw Error("option --out: give the run directory to create (or --resume DIR)");
    data->train_lists = split_commas(*train_lists);
    data->val_lists = split_commas(*val_lists);
    const auto resolved = config->resolve();
    std::cout << "method " << resolved.method_name << " = network " << resolved.model.network << " + strategy "
              << resolved.train.strategy << "\n";
    report(train::Trainer(resolved.model, resolved.train, *data, *out).run(), *out);
  });
}

}  // namespace mmdg::cli
