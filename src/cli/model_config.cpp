#include "cli/model_config.h"

#include <fstream>
#include <optional>

#include "mmdg/io/file_util.h"
#include "mmdg/train/state_commit.h"
#include "mmdg/train/strategy.h"
#include "mmdg/train/trainer.h"
#include "mmdg/util/error.h"
#include "mmdg/util/registry.h"

namespace mmdg::cli {

namespace {
// --config names a JSON file (else a preset).
bool is_config_file(const std::string& name_or_file) {
  return name_or_file.size() > 5 && name_or_file.compare(name_or_file.size() - 5, 5, ".json") == 0;
}
}  // namespace

model::NetworkOptions load_model_config(const std::string& name_or_file) {
  if (!is_config_file(name_or_file)) return model::NetworkOptions::preset(name_or_file);
  const nlohmann::json j = train::read_config_json(name_or_file);
  // A config file may hold the model options at the top level or under "model" (a run's config.json).
  return model::NetworkOptions::from_json(j.is_object() && j.contains("model") ? j["model"] : j, name_or_file);
}

infer::PredictorOptions predictor_options(const infer::InferOptions& o, std::optional<double> threshold) {
  infer::PredictorOptions po;
  po.device = o.torch_device();
  po.estimator = o.estimator_override();
  if (!o.config.empty()) po.fallback = load_model_config(o.config);
  po.precision = o.precision;
  po.normalization = o.normalization_override();
  po.threshold = threshold;
  po.draw_seed = static_cast<std::uint64_t>(o.seed);
  return po;
}

infer::Predictor load_predictor(const infer::InferOptions& o, std::optional<double> threshold) {
  train::verify_committed_checkpoint(o.checkpoint);
  return infer::Predictor(o.checkpoint, predictor_options(o, threshold));  // logs its notes
}

namespace {
// The training options of a run's config.json given as --config; defaults otherwise.
train::TrainOptions load_train_config(const std::string& name_or_file) {
  if (!is_config_file(name_or_file)) return {};
  auto options = train::train_options_from_config(train::read_config_json(name_or_file), name_or_file);
  options.interrupt_after_steps = 0;  // a testing aid of the run the file came from only
  return options;
}
}  // namespace

ModelConfigOptions::ModelConfigOptions(CLI::App* app, const std::string& default_config)
    : config_(std::make_shared<std::string>(default_config)) {
  config_option_ = app->add_option("--config", *config_,
                                   "model config: a preset (" + join_names(model::NetworkOptions::preset_names()) +
                                       "), a JSON file of options, or a run's config.json")
                       ->capture_default_str()
                       ->group("Model");
  fields_ = std::make_shared<SettingsOptions<model::NetworkOptions>>(app, "Model");
}

model::NetworkOptions ModelConfigOptions::resolve(const std::function<void(model::NetworkOptions&)>& before_fields) const {
  model::NetworkOptions options = load_model_config(*config_);
  if (before_fields) before_fields(options);
  fields_->apply(options);
  try {
    options.validate();
  } catch (const UsageError&) {
    throw;
  } catch (const Error& e) {  // the backbone's checks (ViTOptions) are Errors, also for a checkpoint's config
    throw UsageError(e.what());
  }
  return options;
}

bool ModelConfigOptions::given() const { return config_option_->count() > 0 || fields_->any_given(); }


MethodConfigOptions::MethodConfigOptions(CLI::App* app, const std::string& default_config, bool with_method)
    : model_(std::make_shared<ModelConfigOptions>(app, default_config)), method_(std::make_shared<std::string>()) {
  train_fields_ = std::make_shared<SettingsOptions<train::TrainOptions>>(app, "Training");
  if (!with_method) return;
  const auto names = registry_names(train::method_presets());
  method_option_ = app->add_option("--method", *method_,
                                   "a named network + strategy (" + join_names(names, " | ") +
                                       ", or network+strategy, e.g. vit-uadapter+ssdg; mmdg model list); "
                                       "--network / --strategy override it; protocol takes a comma-separated list")
                       ->group("Model");
}

MethodConfigOptions::Resolved MethodConfigOptions::resolve(const std::string& method) const {
  std::optional<train::MethodPreset> preset;
  if (!method.empty()) preset = train::resolve_method(method);
  Resolved r;
  r.model = model_->resolve([&](model::NetworkOptions& o) {
    if (preset) o.network = preset->network;
  });
  r.train = load_train_config(model_->config());
  if (preset) r.train.strategy = preset->strategy;
  train_fields_->apply(r.train);
  r.train.validate();
  r.method_name = train::method_name(r.model, r.train.strategy);
  r.method_title = train::method_title(r.model, r.train.strategy);
  return r;
}

MethodConfigOptions::Resolved MethodConfigOptions::resolve() const {
  if (method_->find(',') != std::string::npos)
    throw UsageError("option --method: this command trains one method (got '" + *method_ + "')");
  return resolve(*method_);
}

std::vector<MethodConfigOptions::Resolved> MethodConfigOptions::resolve_methods() const {
  std::vector<Resolved> all;
  std::string rest = *method_;
  do {
    const auto comma = rest.find(',');
    all.push_back(resolve(rest.substr(0, comma)));
    rest = comma == std::string::npos ? "" : rest.substr(comma + 1);
  } while (!rest.empty());
  return all;
}

bool MethodConfigOptions::given() const {
  return model_->given() || (method_option_ && method_option_->count() > 0) || train_fields_->any_given();
}

}  // namespace mmdg::cli
