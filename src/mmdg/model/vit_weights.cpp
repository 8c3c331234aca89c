#include "mmdg/model/vit_weights.h"

#include <regex>
#include <utility>
#include <vector>

#include "mmdg/util/error.h"

namespace mmdg::model {
namespace {

// (pattern, replacement) over whole keys; $1/$2 are the captured block index and suffix.
const std::vector<std::pair<std::regex, std::string>>& rename_table() {
  static const std::string block = "encoder.layers.encoder_layer_$1.";
  static const std::vector<std::pair<std::regex, std::string>> table = {
      // timm / Hugging Face
      {std::regex(R"(patch_embed\.proj\.(weight|bias))"), "conv_proj.$1"},
      {std::regex(R"(cls_token)"), "class_token"},
      {std::regex(R"(pos_embed)"), "encoder.pos_embedding"},
      {std::regex(R"(blocks\.(\d+)\.norm1\.(weight|bias))"), block + "ln_1.$2"},
      {std::regex(R"(blocks\.(\d+)\.attn\.qkv\.weight)"), block + "self_attention.in_proj_weight"},
      {std::regex(R"(blocks\.(\d+)\.attn\.qkv\.bias)"), block + "self_attention.in_proj_bias"},
      {std::regex(R"(blocks\.(\d+)\.attn\.proj\.(weight|bias))"), block + "self_attention.out_proj.$2"},
      {std::regex(R"(blocks\.(\d+)\.norm2\.(weight|bias))"), block + "ln_2.$2"},
      {std::regex(R"(blocks\.(\d+)\.mlp\.fc1\.(weight|bias))"), block + "mlp.0.$2"},
      {std::regex(R"(blocks\.(\d+)\.mlp\.fc2\.(weight|bias))"), block + "mlp.3.$2"},
      {std::regex(R"(norm\.(weight|bias))"), "encoder.ln.$1"},
      {std::regex(R"(head\.(weight|bias))"), "heads.head.$1"},
      // torchvision before MLPBlock version 2
      {std::regex(R"(encoder\.layers\.encoder_layer_(\d+)\.mlp\.linear_1\.(weight|bias))"), block + "mlp.0.$2"},
      {std::regex(R"(encoder\.layers\.encoder_layer_(\d+)\.mlp\.linear_2\.(weight|bias))"), block + "mlp.3.$2"},
  };
  return table;
}

}  // namespace

io::StateDict to_torchvision_vit_names(const io::StateDict& state) {
  io::StateDict out;
  for (const auto& item : state) {
    std::string name = item.key();
    for (const auto& [pattern, replacement] : rename_table()) {
      if (std::regex_match(name, pattern)) {
        name = std::regex_replace(name, pattern, replacement);
        break;
      }
    }
    if (out.contains(name))
      throw Error("weights hold two tensors for '" + name + "' (one under another naming scheme)");
    out.insert(name, item.value());
  }
  return out;
}

LoadReport load_vit_weights(VisionTransformerImpl& vit, const io::StateDict& state, bool strict,
                            const std::string& context) {
  return load_state_dict(vit, to_torchvision_vit_names(state), strict, context);
}

}  // namespace mmdg::model
