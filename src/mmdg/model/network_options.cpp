#include "mmdg/model/network_options.h"

#include <nlohmann/json.hpp>

#include "mmdg/model/network.h"
#include "mmdg/util/error.h"
#include "mmdg/util/settings.h"

namespace mmdg::model {
namespace {

void require(bool ok, const std::string& option, const std::string& why) {
  if (!ok) throw UsageError("option " + option + ": " + why);
}

}  // namespace

void NetworkOptions::validate() const {
  find_network(network);  // throws, listing the registered networks
  vit().validate();
  require(cdc_theta >= 0 && cdc_theta <= 1, "cdc_theta", "must be in [0, 1]");
  require(adapter_dim > 0 && adapter_dim <= 65536, "adapter_dim", "must be in [1, 65536]");
  require(adapter_heads > 0 && adapter_dim % adapter_heads == 0, "adapter_heads", "must divide adapter_dim");
  require(adapter_dropout >= 0 && adapter_dropout < 1, "adapter_dropout", "must be in [0, 1)");
  require(mc_samples >= 2 && mc_samples <= 1024, "mc_samples",
          "must be in [2, 1024] (a standard deviation needs two samples; the paper uses 20)");
  require(mc_drop_rate > 0 && mc_drop_rate < 1, "mc_drop_rate", "must be in (0, 1)");
  require(reliability_rate >= 0, "reliability_rate", "must be >= 0");
  require(num_classes >= 2 && num_classes <= 100000, "num_classes", "must be in [2, 100000]");
  require(vitaf_adapter_dim >= 0 && vitaf_adapter_dim <= 65536, "vitaf_adapter_dim", "must be in [0, 65536] (0: hidden_dim / 12)");
  require(vitaf_ensemble >= 1 && vitaf_ensemble <= 16, "vitaf_ensemble", "must be in [1, 16]");
  require(ama_adapter_dim >= 0 && ama_adapter_dim <= 65536, "ama_adapter_dim", "must be in [0, 65536] (0: hidden_dim / 12)");
  require(cdcn_width >= 1 && cdcn_width <= 4096, "cdcn_width", "must be in [1, 4096]");
  require(cdcn_theta >= 0 && cdcn_theta <= 1, "cdcn_theta", "must be in [0, 1]");
  require(vpfas_prompt_length >= 1 && vpfas_prompt_length <= 1024, "vpfas_prompt_length", "must be in [1, 1024]");
  require(vpfas_prompt_layers >= 1, "vpfas_prompt_layers", "must be >= 1");
  if (network == "vp-fas")
    require(vpfas_prompt_layers <= backbone.num_layers(), "vpfas_prompt_layers",
            "must be at most the backbone's num_layers (" + std::to_string(backbone.num_layers()) + ")");
  if (network == "mm-cdcn") {
    require(backbone.image_size() % 8 == 0, "image_size", "mm-cdcn needs a multiple of 8 (its map is image_size / 8 wide)");
    require(num_classes == 2, "num_classes", "mm-cdcn scores live vs spoof from its map: must be 2");
  }
  require(!(freeze == Freeze::AdaptersOnly && !pretrained_position_embeddings()), "freeze",
          "adapters-only freezes the position embeddings, so they must start from the pretrained ones "
          "(set pos_embedding_init = pretrained)");
  settings::check_finite(*this);  // the rest: e.g. reliability_rate inf passed ">= 0"
}

bool NetworkOptions::pretrained_position_embeddings() const {
  if (pos_embedding_init == PosEmbeddingInit::Auto) return !find_network(network).capabilities.modality_branches;
  return pos_embedding_init == PosEmbeddingInit::Pretrained;
}

NetworkOptions NetworkOptions::preset(const std::string& name) {
  NetworkOptions o;
  if (name == "mmdg_b16") return o;
  if (name == "mmdg_mini") {
    o.backbone = vit_config("vit_mini").num_classes(0);
    o.cdcn_width = 16;
    o.vpfas_prompt_layers = 3;
    return o;
  }
  if (name == "mmdg_tiny") {
    o.backbone = vit_config("vit_tiny").num_classes(0);
    o.adapter_dim = 4;
    o.adapter_heads = 2;
    o.mc_samples = 4;
    o.cdcn_width = 4;
    o.vpfas_prompt_length = 2;
    o.vpfas_prompt_layers = 1;
    return o;
  }
  throw Error("unknown model config '" + name + "' (known: " + join_names(preset_names()) + ", or a JSON file)");
}

std::vector<std::string> NetworkOptions::preset_names() { return {"mmdg_b16", "mmdg_mini", "mmdg_tiny"}; }

NetworkOptions NetworkOptions::from_json(const nlohmann::json& j, const std::string& context) {
  NetworkOptions options;
  if (j.is_object() && j.contains("method") && j.at("method").is_string()) {
    nlohmann::json migrated = j;
    migrated.erase("method");
    migrated["network"] = network_of_legacy_method(j.at("method").get<std::string>(), context);
    settings::from_json(options, migrated, context);
  } else {
    settings::from_json(options, j, context);
  }
  // Options from a file (config, checkpoint metadata, a run's config.json) are checked as read,
  // so that an out-of-range value is reported with the file that holds it.
  try {
    options.validate();
  } catch (const Error& e) {
    throw Error(context + ": " + e.what());
  }
  return options;
}

}  // namespace mmdg::model
