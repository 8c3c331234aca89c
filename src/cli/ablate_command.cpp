// `mmdg ablate`: the paper's ablation tables (Table 4, Table 5, Fig. 5) over Protocol 1.
#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/model_config.h"
#include "mmdg/experiment/ablation.h"
#include "mmdg/train/trainer.h"

namespace mmdg::cli {

void add_ablate_command(CLI::App& app) {
  auto a = std::make_shared<experiment::AblateArgs>();
  std::string tables;
  for (const auto& name : experiment::ablation_table_names()) tables += (tables.empty() ? "" : " | ") + name;
  auto* cmd = app.add_subcommand(
      "ablate",
      "Run an ablation table of the paper over Protocol 1 (each row a method in its own folder under --out, shared between "
      "tables; resumable) and write it in the paper's layout: average HTER / AUC, seeds, CIs against MMDG");
  cmd->add_option("--table", a->table, "which table: " + tables + " (4: ReGrad vs other strategies; 5: uncertainty; "
                  "fig5: ViT vs ViT + U-Adapter; pretrain: pretrained vs random backbone)")->required();
  cmd->add_option("--rows", a->rows, "run only these rows (their folder names, comma-separated; see --dry-run)")->delimiter(',');
  cmd->add_option("--sub", a->base.sub, "run one sub-protocol of Protocol 1 only, e.g. CPS->W (the average is then over it)");
  cmd->add_option("--lists", a->base.lists_dir, "folder of {C,P,S,W}-{train,val,test}.txt")->required();
  cmd->add_option("--data-root", a->base.data_root, "root of the lists' relative paths");
  cmd->add_option("--pretrained", a->base.pretrained, "ViT weights for the backbone");
  cmd->add_option("--out", a->base.out, "output folder (one sub-folder per row; ablation_<table>.md)")->required();
  cmd->add_option("--seeds", a->base.seeds, "training seeds, e.g. 0,1,2: one run per seed and row")->delimiter(',');
  cmd->add_flag("--dry-run", a->dry_run, "list the rows and their folders, write the table from what exists, train nothing");
  // the model size and training options of every row; the rows set network, strategy and the
  // options their table varies (regrad, regrad_uncertainty, adapter_uncertainty)
  auto config = std::make_shared<MethodConfigOptions>(cmd, "mmdg_b16", false);
  cmd->callback([=] {
    train::install_interrupt_handlers();
    const auto resolved = config->resolve();
    experiment::AblateArgs args = *a;
    args.base.protocol = 1;
    args.base.model = resolved.model;
    args.base.train = resolved.train;
    std::cout << experiment::run_ablation(args);
  });
}

}  // namespace mmdg::cli
