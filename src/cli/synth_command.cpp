// `mmdg synth`: writes the synthetic benchmark (the embedded default) and its preview.
#include <CLI/CLI.hpp>
#include <chrono>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/settings_cli.h"
#include "mmdg/data/synth.h"
#include "mmdg/viz/overlay.h"
#include "mmdg/util/error.h"
#include "mmdg/util/log.h"

namespace mmdg::cli {

void add_synth_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("synth", "Write the synthetic multi-domain multi-modal benchmark (MMDG-Benchmark format)");
  auto out = std::make_shared<std::string>();
  auto preview = std::make_shared<std::string>();
  cmd->add_option("--out", *out, "folder to write images and {C,P,S,W}-{train,val,test}.txt lists into");
  cmd->add_option("--preview", *preview, "write a PNG grid (rows: domains; columns: live and each attack; RGB | depth | IR)");
  auto fields = std::make_shared<SettingsOptions<data::SynthOptions>>(cmd, "Synthetic data");
  cmd->callback([=] {
    if (out->empty() && preview->empty()) throw Error("mmdg synth: give --out DIR and/or --preview FILE.png");
    data::SynthOptions options;
    fields->apply(options);
    options.validate();
    const auto start = std::chrono::steady_clock::now();
    if (!out->empty()) {
      const auto summary = data::write_synthetic_benchmark(options, *out);
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::cout << "wrote " << summary.samples << " samples and " << summary.lists.size() << " lists to " << *out << " in "
                << seconds << " s\n";
    }
    if (!preview->empty()) {
      viz::write_png(*preview, data::synth_preview(options));
      log::info("wrote " + *preview);
    }
  });
}

}  // namespace mmdg::cli
