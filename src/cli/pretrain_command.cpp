// `mmdg pretrain`: a small ViT pretrained on the synthetic proxy task, in torchvision's layout.
#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/settings_cli.h"
#include "mmdg/train/pretrain.h"
#include "mmdg/train/trainer.h"

namespace mmdg::cli {

void add_pretrain_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("pretrain", "Pretrain a small ViT on a synthetic proxy task (writes torchvision-layout .pth)");
  auto out = std::make_shared<std::string>();
  cmd->add_option("--out", *out, "weights file to write (.pth)")->required();
  auto fields = std::make_shared<SettingsOptions<train::PretrainOptions>>(cmd, "Pretraining");
  cmd->callback([=] {
    train::install_interrupt_handlers();
    train::PretrainOptions options;
    fields->apply(options);
    const auto r = train::pretrain_vit(options, *out);
    std::cout << "wrote " << *out << " (and " << *out << ".json): proxy-task loss " << r.first_epoch_loss << " -> "
              << r.last_epoch_loss << ", train accuracy " << 100 * r.train_accuracy << " %, held-out accuracy "
              << 100 * r.held_out_accuracy << " % (chance " << 100 * r.chance << " %), " << r.seconds << " s\n";
  });
}

}  // namespace mmdg::cli
