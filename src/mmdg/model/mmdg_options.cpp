#include "mmdg/model/mmdg_options.h"

#include <map>

#include "mmdg/model/uncertainty.h"
#include "mmdg/util/error.h"

namespace mmdg::model {
namespace {

void require(bool ok, const std::string& option, const std::string& why) {
  if (!ok) throw Error("option " + option + ": " + why);
}

void require_one_of(const std::string& value, std::initializer_list<const char*> allowed, const std::string& option) {
  std::string list;
  for (const char* a : allowed) {
    if (value == a) return;
    list += (list.empty() ? "" : ", ") + std::string(a);
  }
  throw Error("option " + option + ": unknown value '" + value + "' (expected " + list + ")");
}

}  // namespace

ViTOptions MMDGOptions::vit() const {
  return ViTOptions().image_size(image_size).patch_size(patch_size).num_layers(num_layers).num_heads(num_heads)
      .hidden_dim(hidden_dim).mlp_dim(mlp_dim).dropout(dropout).num_classes(0);
}

void MMDGOptions::validate() const {
  vit().validate();
  require(adapter_dim > 0, "adapter_dim", "must be positive");
  require(adapter_heads > 0 && adapter_dim % adapter_heads == 0, "adapter_heads", "must divide adapter_dim");
  require(adapter_dropout >= 0 && adapter_dropout < 1, "adapter_dropout", "must be in [0, 1)");
  parse_estimator(estimator);
  require(mc_samples >= 2, "mc_samples", "must be at least 2 (a standard deviation needs two samples)");
  require(mc_drop_rate > 0 && mc_drop_rate < 1, "mc_drop_rate", "must be in (0, 1)");
  require(reliability_rate >= 0, "reliability_rate", "must be >= 0");
  require_one_of(method, {"mmdg", "vit"}, "method");
  require_one_of(pos_embedding_init, {"normal", "pretrained"}, "pos_embedding_init");
  require_one_of(freeze, {"last-block", "adapters-only"}, "freeze");
  require_one_of(head, {"concat", "per-modality"}, "head");
  require(num_classes >= 2, "num_classes", "must be at least 2");
  require(!(freeze == "adapters-only" && pos_embedding_init == "normal"), "freeze",
          "adapters-only freezes the position embeddings, so they must start from the pretrained ones "
          "(set pos_embedding_init = pretrained)");
}

MMDGOptions MMDGOptions::preset(const std::string& name) {
  MMDGOptions o;
  if (name == "mmdg_b16") return o;
  const auto from_vit = [&](const std::string& vit_name) {
    const ViTOptions v = vit_config(vit_name);
    o.image_size = v.image_size();
    o.patch_size = v.patch_size();
    o.num_layers = v.num_layers();
    o.num_heads = v.num_heads();
    o.hidden_dim = v.hidden_dim();
    o.mlp_dim = v.mlp_dim();
  };
  if (name == "mmdg_mini") {
    from_vit("vit_mini");
    return o;
  }
  if (name == "mmdg_tiny") {
    from_vit("vit_tiny");
    o.adapter_dim = 4;
    o.adapter_heads = 2;
    o.mc_samples = 4;
    return o;
  }
  std::string names;
  for (const auto& n : preset_names()) names += (names.empty() ? "" : ", ") + n;
  throw Error("unknown model config '" + name + "' (known: " + names + ", or a JSON file)");
}

std::vector<std::string> MMDGOptions::preset_names() { return {"mmdg_b16", "mmdg_mini", "mmdg_tiny"}; }

}  // namespace mmdg::model
