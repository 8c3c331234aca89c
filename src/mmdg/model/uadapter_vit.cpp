#include "mmdg/model/uadapter_vit.h"

#include <torch/torch.h>

namespace mmdg::model {

UAdapterViTImpl::UAdapterViTImpl(const NetworkOptions& o) : MultiBranchViTImpl(o, /*complete=*/false) {
  set_estimator(o.estimator);
  uncertainty_.samples = o.mc_samples;
  uncertainty_.drop_rate = o.mc_drop_rate;
  uncertainty_.rate = o.reliability_rate;
  const ViTOptions vit = o.vit();
  const auto adapter_options = UAdapterOptions()
                                   .hidden_dim(vit.hidden_dim())
                                   .adapter_dim(o.adapter_dim)
                                   .heads(o.adapter_heads)
                                   .grid_size(vit.grid_size())
                                   .use_cdc(o.use_cdc)
                                   .theta(o.cdc_theta)
                                   .dropout(o.adapter_dropout);
  const auto make_adapters = [&](const std::string& name, std::vector<UAdapter>& list) {
    auto holder = register_module(name, std::make_shared<torch::nn::Module>("Sequential"));
    for (std::int64_t i = 0; i < vit.num_layers(); ++i)
      list.push_back(holder->register_module(std::to_string(i), UAdapter(adapter_options)));
  };
  make_adapters("adapter_1_2_2", adapter_1_2);
  make_adapters("adapter_2_1_2", adapter_2_1);
  make_adapters("adapter_1_3_2", adapter_1_3);
  make_adapters("adapter_3_1_2", adapter_3_1);
  add_heads();
  apply_freeze_policy();
}

void UAdapterViTImpl::set_estimator(Estimator estimator) {
  MultiBranchViTImpl::set_estimator(estimator);
  uncertainty_.estimator = estimator;
}

torch::Tensor UAdapterViTImpl::block_step(std::size_t i, const torch::Tensor& h, torch::Tensor* token_reliability,
                                          std::vector<std::pair<std::string, torch::Tensor>>* attention) {
  auto& block = blocks.at(i);
  const auto attn = block->attention(h);                                  // (3B, L, C)
  const auto u_tokens = reliability(attn, uncertainty_).mean(-1);         // (3B, L), no grad (Eq. 4's U)
  if (token_reliability) *token_reliability = u_tokens;
  const auto x_a = h + attn;
  const auto y = block->ln_2(x_a);                                        // (3B, L, C)
  const auto mlp = block->mlp->forward(y);
  const auto ys = y.chunk(3, 0);
  const auto us = u_tokens.chunk(3, 0);                                   // (B, L) each
  const auto u = [&](int m) { return options_.adapter_uncertainty ? us[m] : torch::Tensor(); };
  std::array<torch::Tensor, 4> maps;
  const auto map = [&](int k) { return attention ? &maps[k] : nullptr; };
  const auto to_r = adapter_1_2[i](ys[kRGB], ys[kDepth], u(kDepth), map(0)) +
                    adapter_1_3[i](ys[kRGB], ys[kIR], u(kIR), map(1));     // R <- D, R <- I (Eq. 1's adapters)
  const auto to_d = adapter_2_1[i](ys[kDepth], ys[kRGB], u(kRGB), map(2));  // D <- R (Eq. 2)
  const auto to_i = adapter_3_1[i](ys[kIR], ys[kRGB], u(kRGB), map(3));     // I <- R (Eq. 3)
  if (attention) *attention = {{"1_2", maps[0]}, {"1_3", maps[1]}, {"2_1", maps[2]}, {"3_1", maps[3]}};
  return x_a + mlp + torch::cat({to_r, to_d, to_i}, 0);                    // Eq. 1-3: x^out_m, (3B, L, C)
}

}  // namespace mmdg::model
