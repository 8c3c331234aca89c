#include "mmdg/model/vp_fas.h"

#include <torch/torch.h>

#include <cmath>

#include "mmdg/util/error.h"

namespace mmdg::model {

VPFASImpl::VPFASImpl(const NetworkOptions& o) : ViTNetworkImpl(o) {
  add_stem(0);
  add_encoder();
  const auto C = feature_dim(), P = o.vpfas_prompt_length, T = o.vpfas_prompt_layers;
  prompt_shared = register_parameter("prompt_shared", torch::empty({T, P, C}));
  prompt_missing = register_parameter("prompt_missing", torch::empty({T, kNumModalities, P, C}));
  {
    torch::NoGradGuard no_grad;  // VPT's initialization scale: uniform in +-sqrt(6 / (3 * 16 * 16 + C))
    const double bound = std::sqrt(6.0 / static_cast<double>(3 * 16 * 16 + C));
    prompt_shared.uniform_(-bound, bound);
    prompt_missing.uniform_(-bound, bound);
  }
  fc_all = add_head("fc_all", C);
  apply_freeze_policy();
}

std::string VPFASImpl::group_of(const std::string& name) const {
  if (name.rfind("prompt_", 0) == 0) return "adapters";
  return ViTNetworkImpl::group_of(name);
}

torch::Tensor VPFASImpl::presence_of(const ForwardOptions& fo, std::int64_t B, torch::Device device, torch::ScalarType dtype) {
  if (fo.present.defined()) {  // a dtype-only conversion when it is on the device already (no copy named)
    const auto on_device = fo.present.device() == device ? fo.present : fo.present.to(device);
    return on_device.to(dtype).view({B, kNumModalities});
  }
  auto s = torch::ones({B, kNumModalities}, torch::TensorOptions(device).dtype(dtype));  // filled on the device: no copy
  for (int m = 0; m < kNumModalities; ++m)
    if (fo.missing[m]) s.select(1, m).zero_();
  return s;
}

torch::Tensor VPFASImpl::prompts(std::int64_t i, const torch::Tensor& presence) const {
  const auto missing = (1 - presence).to(prompt_missing.scalar_type());  // (B, 3)
  const auto relevant = torch::einsum("bm,mpc->bpc", {missing, prompt_missing[i]});  // (B, P, C)
  return prompt_shared[i].unsqueeze(0) + relevant;
}

NetworkOutput VPFASImpl::forward_impl(const torch::Tensor& rgb, const torch::Tensor& depth, const torch::Tensor& ir,
                                      const ForwardOptions& fo) {
  const auto inputs = checked_inputs(rgb, depth, ir, fo);
  const auto B = rgb.size(0), P = options_.vpfas_prompt_length, T = options_.vpfas_prompt_layers;
  if (fo.present.defined() && (fo.present.dim() != 2 || fo.present.size(0) != B || fo.present.size(1) != kNumModalities))
    throw Error("vp-fas: the presence mask must be (" + std::to_string(B) + ", 3), got " + c10::str(fo.present.sizes()));
  const auto presence = presence_of(fo, B, prompt_shared.device(), prompt_shared.scalar_type());  // (B, 3)
  const auto tokens = encoder_dropout(modality_tokens(inputs));        // (B, 1 + 3N, C)
  // [CLS, prompts, patches]: the prompt tokens sit at positions 1 .. P
  auto h = torch::cat({tokens.slice(1, 0, 1), prompts(0, presence).to(tokens.scalar_type()), tokens.slice(1, 1)}, 1);
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    const auto k = static_cast<std::int64_t>(i);
    if (k > 0 && k < T) {  // residual contextual prompts: the previous block's prompt outputs + prompt_i
      const auto contextual = h.slice(1, 1, 1 + P) + prompts(k, presence).to(h.scalar_type());
      h = torch::cat({h.slice(1, 0, 1), contextual, h.slice(1, 1 + P)}, 1);
    }
    h = blocks[i](h);
    if (fo.after_block) h = fo.after_block(i, h);
  }
  return classify_one_stream(h, fc_all);
}

}  // namespace mmdg::model
