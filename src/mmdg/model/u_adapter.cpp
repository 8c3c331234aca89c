#include "mmdg/model/u_adapter.h"

#include <torch/torch.h>

#include <cmath>

#include "mmdg/model/fused_attention.h"
#include "mmdg/util/error.h"

namespace mmdg::model {

torch::Tensor quick_gelu(const torch::Tensor& x) { return x * torch::sigmoid(1.702 * x); }

CrossAttentionImpl::CrossAttentionImpl(std::int64_t dim, std::int64_t heads) : heads_(heads) {
  if (heads <= 0 || dim % heads != 0)
    throw UsageError("option adapter_heads: " + std::to_string(heads) + " does not divide adapter_dim " +
                std::to_string(dim));
  q_linear = register_module("q_linear", torch::nn::Linear(torch::nn::LinearOptions(dim, dim).bias(false)));
  k_linear = register_module("k_linear", torch::nn::Linear(torch::nn::LinearOptions(dim, dim).bias(false)));
  v_linear = register_module("v_linear", torch::nn::Linear(torch::nn::LinearOptions(dim, dim).bias(false)));
  proj = register_module("proj", torch::nn::Linear(dim, dim));
}

torch::Tensor CrossAttentionImpl::forward(const torch::Tensor& query_input, const torch::Tensor& kv_input,
                                          const torch::Tensor& query_reliability, torch::Tensor* weights) {
  const auto B = query_input.size(0), L = query_input.size(1), d = query_input.size(2), dh = d / heads_;
  const auto split = [&](const torch::Tensor& t) { return t.view({B, L, heads_, dh}).transpose(1, 2); };
  const auto q = split(q_linear(query_input));  // (B, h, L, d_h)
  const auto k = split(k_linear(kv_input));
  const auto v = split(v_linear(kv_input));
  // LibTorch >= 2.0: the fused kernel; scaling row i of the logits by U_i is scaling query i by U_i
  if (fused_attention_available() && weights == nullptr) {
    const auto scaled_q = query_reliability.defined() ? q * query_reliability.view({B, 1, L, 1}).to(q.dtype()) : q;
    return proj(fused_attention(scaled_q, k, v, 0.0, false)->transpose(1, 2).reshape({B, L, d}));
  }
  auto logits = torch::matmul(q, k.transpose(-2, -1)) * (1.0 / std::sqrt(static_cast<double>(dh)));  // (B, h, L, L)
  if (query_reliability.defined()) logits = logits * query_reliability.view({B, 1, L, 1});  // row i scaled by U_i
  const auto attn = torch::softmax(logits, -1);
  if (weights) *weights = attn;
  const auto out = torch::matmul(attn, v).transpose(1, 2).reshape({B, L, d});  // (B, L, d)
  return proj(out);
}

UAdapterImpl::UAdapterImpl(const UAdapterOptions& o) : options_(o) {
  const auto C = o.hidden_dim(), d = o.adapter_dim();
  adapter_down_1 = register_module("adapter_down_1", torch::nn::Linear(C, d));
  adapter_down_2 = register_module("adapter_down_2", torch::nn::Linear(C, d));
  cross_attention = register_module("cross_attention", CrossAttention(d, o.heads()));
  ln_before = register_module("ln_before", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d})));
  adapter_conv = register_module("adapter_conv", Conv2dCD(d, o.use_cdc() ? o.theta() : 0.0));
  dropout = register_module("dropout", torch::nn::Dropout(o.dropout()));
  adapter_up = register_module("adapter_up", torch::nn::Linear(d, C));
  torch::NoGradGuard no_grad;
  for (auto& down : {adapter_down_1, adapter_down_2}) {
    torch::nn::init::xavier_uniform_(down->weight);
    down->bias.zero_();
  }
  adapter_up->weight.zero_();
  adapter_up->bias.zero_();
}

torch::Tensor UAdapterImpl::forward(const torch::Tensor& own, const torch::Tensor& other,
                                    const torch::Tensor& other_reliability, torch::Tensor* attention) {
  const auto B = own.size(0), L = own.size(1), d = options_.adapter_dim(), g = options_.grid_size();
  if (L != 1 + g * g)
    throw Error("U-Adapter: got " + std::to_string(L) + " tokens, expected 1 + " + std::to_string(g) + "^2");
  const auto own_down = quick_gelu(adapter_down_1(own));      // (B, L, d)
  const auto other_down = quick_gelu(adapter_down_2(other));  // (B, L, d)
  const auto cross = cross_attention(other_down, own_down, other_reliability, attention);  // (B, L, d)
  // LayerNorm's kernel needs its input in the weights' dtype (bfloat16 under bf16 autocast)
  const auto z = ln_before((cross + own_down).to(ln_before->weight.scalar_type()));  // (B, L, d)
  const auto patches = z.slice(1, 1).reshape({B, g, g, d}).permute({0, 3, 1, 2});  // (B, d, g, g)
  const auto patches_out = adapter_conv(patches).permute({0, 2, 3, 1}).reshape({B, g * g, d});
  const auto cls_out = adapter_conv(z.slice(1, 0, 1).reshape({B, 1, 1, d}).permute({0, 3, 1, 2}))
                           .reshape({B, 1, d});                // (B, 1, d)
  const auto mixed = torch::cat({cls_out, patches_out}, 1);   // (B, L, d)
  return adapter_up(dropout(quick_gelu(mixed)));              // (B, L, C)
}

}  // namespace mmdg::model
