#include "mmdg/model/vit_ama.h"

#include <torch/torch.h>

#include <cmath>

#include "mmdg/model/u_adapter.h"  // quick_gelu

namespace mmdg::model {

MultimodalAdapterImpl::MultimodalAdapterImpl(std::int64_t C, std::int64_t d, double p) {
  down = register_module("down", torch::nn::Linear(C, d));
  fuse = register_module("fuse", torch::nn::Conv2d(torch::nn::Conv2dOptions(3 * d, d, 3).padding(1).bias(false)));
  weigh = register_module("weigh", torch::nn::Conv2d(torch::nn::Conv2dOptions(3 * d, 3, 1).bias(false)));
  dropout = register_module("dropout", torch::nn::Dropout(p));
  up = register_module("up", torch::nn::Linear(d, C));
  torch::NoGradGuard no_grad;
  torch::nn::init::xavier_uniform_(down->weight);
  down->bias.zero_();
  up->weight.zero_();  // the adapter starts as no change
  up->bias.zero_();
}

torch::Tensor MultimodalAdapterImpl::forward(const torch::Tensor& x, torch::Tensor* weights) {
  const auto B = x.size(0), N = (x.size(1) - 1) / 3, d = down->weight.size(0);
  const auto G = static_cast<std::int64_t>(std::lround(std::sqrt(static_cast<double>(N))));
  const auto z = quick_gelu(down(x));  // (B, 1 + 3N, d)
  const auto grids = z.slice(1, 1).reshape({B, 3, G, G, d}).permute({0, 1, 4, 2, 3}).reshape({B, 3 * d, G, G});  // (B, 3d, G, G)
  const auto fused = fuse(grids);                                                        // (B, d, G, G)
  const auto w = torch::sigmoid(weigh(grids.mean({2, 3}, /*keepdim=*/true))).view({B, 3});  // (B, 3)
  if (weights) *weights = w;
  const auto patches = (w.view({B, 3, 1, 1, 1}) * fused.unsqueeze(1))                    // (B, 3, d, G, G)
                           .permute({0, 1, 3, 4, 2})
                           .reshape({B, 3 * N, d});
  const auto cls = fuse(z.slice(1, 0, 1).repeat({1, 1, 3}).view({B, 3 * d, 1, 1})).view({B, 1, d});  // centre taps
  return up(dropout(quick_gelu(torch::cat({cls, patches}, 1))));                          // (B, 1 + 3N, C)
}

ViTAMAImpl::ViTAMAImpl(const NetworkOptions& o) : ViTNetworkImpl(o) {
  add_stem(0);
  add_encoder();
  const auto C = feature_dim(), d = adapter_width();
  auto attn = register_module("adapter_ama_attn", torch::nn::ModuleList());
  auto mlp = register_module("adapter_ama_mlp", torch::nn::ModuleList());
  for (std::int64_t i = 0; i < o.backbone.num_layers(); ++i) {
    adapter_ama_attn.push_back(MultimodalAdapter(C, d, 0.1));
    adapter_ama_mlp.push_back(MultimodalAdapter(C, d, 0.1));
    attn->push_back(adapter_ama_attn.back());
    mlp->push_back(adapter_ama_mlp.back());
  }
  fc_all = add_head("fc_all", C);
  apply_freeze_policy();
}

std::int64_t ViTAMAImpl::adapter_width() const {
  return options_.ama_adapter_dim > 0 ? options_.ama_adapter_dim : std::max<std::int64_t>(1, feature_dim() / 12);
}

NetworkOutput ViTAMAImpl::forward_impl(const torch::Tensor& rgb, const torch::Tensor& depth, const torch::Tensor& ir,
                                       const ForwardOptions& fo) {
  const auto inputs = checked_inputs(rgb, depth, ir, fo);
  auto h = encoder_dropout(modality_tokens(inputs));  // (B, 1 + 3N, C)
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    auto& block = blocks[i];
    const auto n1 = block->ln_1(h);
    h = h + block->dropout(block->self_attention(n1)) + adapter_ama_attn[i](n1);
    const auto n2 = block->ln_2(h);
    h = h + block->mlp->forward(n2) + adapter_ama_mlp[i](n2);
    if (fo.after_block) h = fo.after_block(i, h);
  }
  return classify_one_stream(h, fc_all);
}

}  // namespace mmdg::model
