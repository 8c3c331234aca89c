// Resolving the options of a command: --config NAME|FILE.json (a preset, a JSON file of model
// options, or a run's config.json), then --method (a named network + strategy pair), then every
// --option given on the command line.
#pragma once
#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "cli/settings_cli.h"
#include "mmdg/infer/infer_options.h"
#include "mmdg/infer/predictor.h"
#include "mmdg/model/network_options.h"
#include "mmdg/train/train_options.h"

namespace mmdg::cli {

class ModelConfigOptions {
 public:
  ModelConfigOptions(CLI::App* app, const std::string& default_config);
  // The resolved options (validated); `before_fields` runs between the config and the options
  // given on the command line.
  model::NetworkOptions resolve(const std::function<void(model::NetworkOptions&)>& before_fields = {}) const;
  const std::string& config() const { return *config_; }
  // True when --config or any model option was given.
  bool given() const;

 private:
  std::shared_ptr<std::string> config_;
  CLI::Option* config_option_ = nullptr;
  std::shared_ptr<SettingsOptions<model::NetworkOptions>> fields_;
};

// A preset name or a JSON file of options (at the top level or under "model").
model::NetworkOptions load_model_config(const std::string& name_or_file);

// A scoring command's (predict, eval) options as the Predictor takes them: --config is the
// options of a plain released-layout state dict; `threshold` is predict's --threshold.
infer::PredictorOptions predictor_options(const infer::InferOptions& o, std::optional<double> threshold = std::nullopt);
// The checkpoint --checkpoint names, loaded for scoring; a run's last.safetensors is checked against
// the run's commit.json first (train::verify_committed_checkpoint).
infer::Predictor load_predictor(const infer::InferOptions& o, std::optional<double> threshold = std::nullopt);

// The model and training options of a training command (train, protocol): --config, --method,
// then the model and training options given.
class MethodConfigOptions {
 public:
  // with_method = false: no --method (a command whose methods are fixed, e.g. ablate's rows)
  MethodConfigOptions(CLI::App* app, const std::string& default_config, bool with_method = true);
  struct Resolved {
    model::NetworkOptions model;
    train::TrainOptions train;
    std::string method_name;   // the preset matching (network, strategy), or "network+strategy"
    std::string method_title;  // as the paper's tables print it
  };
  // The one method of the command line (an error when --method lists several).
  Resolved resolve() const;
  // Every method --method lists (comma-separated), each with the options given applied.
  std::vector<Resolved> resolve_methods() const;
  bool given() const;

 private:
  std::shared_ptr<ModelConfigOptions> model_;
  std::shared_ptr<std::string> method_;
  CLI::Option* method_option_ = nullptr;
  std::shared_ptr<SettingsOptions<train::TrainOptions>> train_fields_;
  Resolved resolve(const std::string& method) const;
};

}  // namespace mmdg::cli
