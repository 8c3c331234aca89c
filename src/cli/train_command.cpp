// `mmdg train`: trains a method (network + strategy; MMDG by default) on source-domain lists, or
// resumes a run.
#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/model_config.h"
#include "cli/settings_cli.h"
#include "mmdg/train/trainer.h"
#include "mmdg/util/error.h"
#include "mmdg/util/log.h"
#include "mmdg/util/process_group.h"

namespace mmdg::cli {

void add_train_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("train", "Train a method (MMDG by default) on source domains (or --resume an interrupted run)");
  auto out = std::make_shared<std::string>();
  auto resume = std::make_shared<std::string>();
  cmd->add_option("--out", *out, "run directory to create");
  cmd->add_option("--resume", *resume,
                  "continue the run in this directory with its saved options (--train / --val / --data-root may give new data locations)");
  auto data = std::make_shared<SettingsOptions<train::TrainData>>(cmd, "Data");
  auto config = std::make_shared<MethodConfigOptions>(cmd, "mmdg_b16");
  const auto report = [](const train::TrainResult& result, const std::string& run_dir) {
    if (!result.completed) throw Error("interrupted; continue with --resume " + run_dir);
    if (dist::environment().rank != 0) return;  // one line for a run of several processes
    std::cout << "done: best epoch " << result.best_epoch << ", val HTER " << 100 * result.best_hter << " %, AUC "
              << 100 * result.best_auc << " %\n";
  };
  cmd->callback([=] {
    train::install_interrupt_handlers();
    if (!resume->empty()) {
      if (!out->empty() || config->given())
        throw Error("--resume continues a run with its saved options; give no other options (but new data locations: --train, --val, --data-root)");
      report(train::Trainer::resume(*resume, [&](train::TrainData& moved) { data->apply(moved); }).run(), *resume);
      return;
    }
    if (out->empty()) throw UsageError("option --out: give the run directory to create (or --resume DIR)");
    train::TrainData lists;
    data->apply(lists);
    const auto resolved = config->resolve();
    log::info("method " + resolved.method_name + " (" + resolved.method_title + ") = network " + resolved.model.network +
              " + strategy " + resolved.train.strategy);
    report(train::Trainer(resolved.model, resolved.train, lists, *out).run(), *out);
  });
}

}  // namespace mmdg::cli
