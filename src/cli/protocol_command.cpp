// `mmdg protocol`: the paper's benchmark protocols.
#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/model_config.h"
#include "cli/settings_cli.h"
#include "mmdg/experiment/protocol.h"
#include "mmdg/io/file_util.h"
#include "mmdg/train/trainer.h"
#include "mmdg/util/error.h"

namespace mmdg::cli {
namespace fs = std::filesystem;

void add_protocol_command(CLI::App& app) {
  auto a = std::make_shared<experiment::ProtocolArgs>();
  auto* cmd = app.add_subcommand("protocol", "Run a benchmark protocol (1, 2 or 3) for one or more methods (network + strategy); resumable; writes tables");
  cmd->add_option("--protocol", a->protocol, "1: leave one out; 2: 1 with missing modalities; 3: CW->PS, PS->CW")->capture_default_str();
  cmd->add_option("--sub", a->sub, "run one sub-protocol only, e.g. CPS->W or CPS-W");
  cmd->add_option("--lists", a->lists_dir, "folder of {C,P,S,W}-{train,val,test}.txt")->required();
  cmd->add_option("--data-root", a->data_root, "root of the lists' relative paths");
  cmd->add_option("--pretrained", a->pretrained, "ViT weights for the backbone");
  cmd->add_option("--out", a->out, "output folder (one sub-folder per method; tables merge all methods)")->required();
  cmd->add_option("--seeds", a->seeds,
                  "several training seeds, e.g. 0,1,2: one run per seed (<out>/<method>/seed<k>/); tables show mean +- std "
                  "and paired bootstrap CIs of each method's HTER difference to MMDG")
      ->delimiter(',');
  auto config = std::make_shared<MethodConfigOptions>(cmd, "mmdg_b16");
  cmd->callback([=] {
    train::install_interrupt_handlers();
    for (const auto& resolved : config->resolve_methods()) {  // every method listed, in order; each resumes
      experiment::ProtocolArgs args = *a;
      args.model = resolved.model;
      args.train = resolved.train;
      args.method_name = resolved.method_name;
      experiment::run_protocol(args);
    }
    std::cout << io::read_file(experiment::tables_base(a->out, a->protocol) + ".md");  // every method run so far
  });
}

}  // namespace mmdg::cli
