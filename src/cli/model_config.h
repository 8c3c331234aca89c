// Resolving the model options of a command: --config NAME|FILE.json (a preset or a JSON file of
// options), then every --option given on the command line.
#pragma once
#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "cli/settings_cli.h"
#include "mmdg/model/mmdg_options.h"

namespace mmdg::cli {

class ModelConfigOptions {
 public:
  ModelConfigOptions(CLI::App* app, const std::string& default_config);
  // The resolved options (validated).
  model::MMDGOptions resolve() const;
  // True when --config or any model option was given.
  bool given() const;

 private:
  std::shared_ptr<std::string> config_;
  CLI::Option* config_option_ = nullptr;
  std::shared_ptr<SettingsOptions<model::MMDGOptions>> fields_;
};

// A preset name or a JSON file of options.
model::MMDGOptions load_model_config(const std::string& name_or_file);

}  // namespace mmdg::cli
