#include "mmdg/model/vitaf.h"

#include <torch/torch.h>

namespace mmdg::model {

EnsembleAdapterImpl::EnsembleAdapterImpl(std::int64_t width, std::int64_t bottleneck) {
  down = register_module("down", torch::nn::Linear(width, bottleneck));
  up = register_module("up", torch::nn::Linear(bottleneck, width));
  torch::NoGradGuard no_grad;
  for (auto* layer : {&down, &up}) {
    (*layer)->weight.normal_(0.0, 2e-4);
    (*layer)->bias.zero_();
  }
}

torch::Tensor EnsembleAdapterImpl::forward(const torch::Tensor& h) {
  return h + up(torch::gelu(down(h)));  // (B, L, C)
}

torch::Tensor feature_wise_transform(const torch::Tensor& x, const torch::Tensor& theta_gamma, const torch::Tensor& theta_beta) {
  const auto C = x.size(-1);
  const auto options = x.options();
  const auto scale = torch::softplus(theta_gamma, /*beta=*/100, /*threshold=*/20).view({1, 1, C});  // (1, 1, C)
  const auto shift = torch::softplus(theta_beta, /*beta=*/100, /*threshold=*/20).view({1, 1, C});
  const auto gamma = 1 + torch::randn({1, 1, C}, options) * scale;
  const auto beta = torch::randn({1, 1, C}, options) * shift;
  return gamma * x + beta;  // (B, L, C)
}

torch::Tensor ensemble_cosine(const std::vector<torch::Tensor>& outputs) {
  torch::Tensor total;
  std::int64_t pairs = 0;
  for (std::size_t a = 0; a < outputs.size(); ++a)
    for (std::size_t b = a + 1; b < outputs.size(); ++b) {
      const auto o = torch::cosine_similarity(outputs[a], outputs[b], /*dim=*/-1, /*eps=*/1e-8);  // (B, L)
      const auto term = o.pow(2).mean();
      total = total.defined() ? total + term : term;
      ++pairs;
    }
  return pairs == 0 ? torch::zeros({}, outputs.at(0).options()) : total / static_cast<double>(pairs);
}

ViTAFImpl::ViTAFImpl(const NetworkOptions& o) : ViTNetworkImpl(o) {
  fusion = add_mean_fusion();
  add_stem(0);
  add_encoder();
  const auto C = feature_dim(), A = adapter_width(), n = options_.backbone.num_layers();
  for (std::int64_t k = 1; k <= options_.vitaf_ensemble; ++k) {
    torch::nn::ModuleList attn, mlp;
    for (std::int64_t i = 0; i < n; ++i) {
      attn->push_back(EnsembleAdapter(C, A));
      mlp->push_back(EnsembleAdapter(C, A));
    }
    adapter_attn.push_back(register_module("adapter_attn" + std::to_string(k), attn));
    adapter_mlp.push_back(register_module("adapter_mlp" + std::to_string(k), mlp));
  }
  fwt_gamma = register_parameter("adapter_fwt_gamma", torch::full({n, C}, options_.vitaf_fwt_gamma));
  fwt_beta = register_parameter("adapter_fwt_beta", torch::full({n, C}, options_.vitaf_fwt_beta));
  fc_all = add_head("fc_all", C);
  apply_freeze_policy();
}

std::int64_t ViTAFImpl::adapter_width() const {
  return options_.vitaf_adapter_dim > 0 ? options_.vitaf_adapter_dim : std::max<std::int64_t>(1, feature_dim() / 12);
}

torch::Tensor ViTAFImpl::block_step(std::size_t i, const torch::Tensor& x, torch::Tensor& cosine) {
  auto& block = blocks.at(i);
  const auto ensemble = [&](std::vector<torch::nn::ModuleList>& adapters, const torch::Tensor& h) {
    std::vector<torch::Tensor> outputs;
    for (auto& list : adapters) outputs.push_back(list[i]->as<EnsembleAdapter>()->forward(h));  // (B, L, C) each
    cosine = cosine + ensemble_cosine(outputs);
    auto sum = outputs[0];
    for (std::size_t k = 1; k < outputs.size(); ++k) sum = sum + outputs[k];
    return sum;
  };
  auto h = x + ensemble(adapter_attn, block->attention(x));               // after the attention
  h = h + ensemble(adapter_mlp, block->mlp->forward(block->ln_2(h)));     // after the MLP
  if (is_training()) h = feature_wise_transform(h, fwt_gamma[static_cast<std::int64_t>(i)], fwt_beta[static_cast<std::int64_t>(i)]);
  return h;  // (B, L, C)
}

NetworkOutput ViTAFImpl::forward_impl(const torch::Tensor& rgb, const torch::Tensor& depth, const torch::Tensor& ir,
                                      const ForwardOptions& fo) {
  auto h = encoder_dropout(embed(0, fusion(concatenated_inputs(rgb, depth, ir, fo))));  // (B, L, C)
  auto cosine = torch::zeros({}, h.options().dtype(torch::kFloat));
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    h = block_step(i, h, cosine);
    if (fo.after_block) h = fo.after_block(i, h);
  }
  NetworkOutput out = classify_one_stream(h, fc_all);
  out.regularizer = cosine / static_cast<double>(2 * blocks.size());  // mean over blocks and the two positions
  return out;
}

}  // namespace mmdg::model
