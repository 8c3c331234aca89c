#include "mmdg/infer/checkpoint.h"

#include <torch/torch.h>

#include "mmdg/io/safetensors.h"
#include "mmdg/io/torch_checkpoint.h"
#include "mmdg/io/weights_file.h"
#include "mmdg/util/error.h"
#include "mmdg/util/json_text.h"
#include "mmdg/util/settings.h"

namespace mmdg::infer {
namespace {
constexpr const char* kFormatKey = "mmdg_format";
constexpr const char* kFormat = "mmdg-checkpoint-1";
constexpr const char* kOptionsKey = "mmdg_options";
constexpr const char* kDeploymentKey = "mmdg_deployment";

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
}  // namespace

void save_checkpoint(const std::string& path, const model::NetworkImpl& net, const std::optional<Deployment>& deployment,
                     const nlohmann::json& extra) {
  io::Metadata metadata;
  metadata[kFormatKey] = kFormat;
  metadata[kOptionsKey] = settings::to_json(net.options()).dump();
  if (deployment) metadata[kDeploymentKey] = deployment->to_json(net.options().backbone.image_size()).dump();
  for (const auto& [key, value] : extra.items()) metadata[key] = value.is_string() ? value.get<std::string>() : value.dump();
  io::write_safetensors(path, model::module_state_dict(net), metadata);
}

namespace {
std::optional<model::NetworkOptions> options_from_metadata(const io::Metadata& metadata, const std::string& path) {
  const auto it = metadata.find(kOptionsKey);
  if (it == metadata.end()) return std::nullopt;
  const nlohmann::json j = parse_json(it->second, path + ": corrupt mmdg_options metadata");
  return model::NetworkOptions::from_json(j, path + " (mmdg_options)");
}
}  // namespace

std::optional<model::NetworkOptions> read_checkpoint_options(const std::string& path) {
  if (io::detect_weights_format(path) != io::WeightsFormat::Safetensors) return std::nullopt;
  return options_from_metadata(io::read_safetensors_metadata(path), path);
}

Deployment read_deployment(const std::string& path, std::int64_t image_size) {
  Deployment d;
  d.recorded = false;
  if (io::detect_weights_format(path) != io::WeightsFormat::Safetensors) return d;
  const auto metadata = io::read_safetensors_metadata(path);
  const auto it = metadata.find(kDeploymentKey);
  if (it == metadata.end()) return d;
  return Deployment::from_json(parse_json(it->second, path + ": corrupt mmdg_deployment metadata"), image_size,
                               path + " (mmdg_deployment)");
}

model::Network load_checkpoint(const std::string& path, const std::optional<model::NetworkOptions>& fallback) {
  io::Metadata metadata;
  const bool safetensors = io::detect_weights_format(path) == io::WeightsFormat::Safetensors;
  const io::StateDict state = safetensors ? io::read_safetensors(path, &metadata) : io::read_torch_checkpoint(path);
  std::optional<model::NetworkOptions> options = options_from_metadata(metadata, path);
  if (!options) {
    if (!fallback)
      throw Error(path + ": a plain state dict without mmdg options (e.g. from the released PyTorch code). "
                         "HINT: say which model it is with --config NAME|FILE.json");
    options = fallback;
  }
  model::Network net = model::make_network(*options);
  model::load_state_dict(*net, model::from_released_layout(state), /*strict=*/true, path);
  net->eval();
  return net;
}

void export_released(const std::string& path, const model::NetworkImpl& net) {
  const io::StateDict state = model::module_state_dict(net);
  if (ends_with(path, ".safetensors")) io::write_safetensors(path, state);
  else io::write_torch_checkpoint(path, state);
}

}  // namespace mmdg::infer
