// Pretrained ViT weights onto the torchvision-named backbone: timm / Hugging Face names are
// renamed through one table (patch_embed.proj -> conv_proj, cls_token -> class_token,
// pos_embed -> encoder.pos_embedding, blocks.{i}.{norm1, attn.qkv, attn.proj, norm2, mlp.fc1,
// mlp.fc2} -> encoder.layers.encoder_layer_{i}.{ln_1, self_attention.in_proj_*,
// self_attention.out_proj, ln_2, mlp.0, mlp.3}, norm -> encoder.ln, head -> heads.head), and the
// legacy torchvision MLP names (mlp.linear_1 / mlp.linear_2) to the current ones (mlp.0 / mlp.3).
#pragma once
#include <string>

#include "mmdg/io/state_dict.h"
#include "mmdg/model/module_state.h"
#include "mmdg/model/vit.h"

namespace mmdg::model {

// Renames timm and legacy torchvision keys; torchvision keys and unknown keys pass unchanged
// (so a strict load reports unknown ones under their original names).
io::StateDict to_torchvision_vit_names(const io::StateDict& state);

// to_torchvision_vit_names + load_state_dict.
LoadReport load_vit_weights(VisionTransformerImpl& vit, const io::StateDict& state, bool strict,
                            const std::string& context);

}  // namespace mmdg::model
