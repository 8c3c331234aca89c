#include "cli/model_config.h"

#include <fstream>

#include "mmdg/io/file_util.h"
#include "mmdg/util/error.h"

namespace mmdg::cli {

model::MMDGOptions load_model_config(const std::string& name_or_file) {
  const bool is_file = name_or_file.size() > 5 && name_or_file.compare(name_or_file.size() - 5, 5, ".json") == 0;
  if (!is_file) return model::MMDGOptions::preset(name_or_file);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(io::read_file(name_or_file));
  } catch (const nlohmann::json::exception& e) {
    throw Error(name_or_file + ": not valid JSON: " + e.what());
  }
  model::MMDGOptions options;
  // A config file may hold the model options at the top level or under "model".
  settings::from_json(options, j.contains("model") ? j["model"] : j, name_or_file);
  return options;
}

ModelConfigOptions::ModelConfigOptions(CLI::App* app, const std::string& default_config)
    : config_(std::make_shared<std::string>(default_config)) {
  std::string presets;
  for (const auto& n : model::MMDGOptions::preset_names()) presets += (presets.empty() ? "" : ", ") + n;
  config_option_ = app->add_option("--config", *config_, "model config: a preset (" + presets + ") or a JSON file")
                       ->capture_default_str()
                       ->group("Model");
  fields_ = std::make_shared<SettingsOptions<model::MMDGOptions>>(app, "Model");
}

model::MMDGOptions ModelConfigOptions::resolve() const {
  model::MMDGOptions options = load_model_config(*config_);
  fields_->apply(options);
  options.validate();
  return options;
}

bool ModelConfigOptions::given() const { return config_option_->count() > 0 || fields_->any_given(); }

}  // namespace mmdg::cli
