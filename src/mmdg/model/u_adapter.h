// U-Adapter (paper Eq. 4, released code's U_Adapter): feeds modality `own` from modality `other`
// at the MLP output of a block.
//   own_down   = QuickGELU(adapter_down_1(y_own))                          (B, L, d)
//   other_down = QuickGELU(adapter_down_2(y_other))                        (B, L, d)
//   cross      = softmax(U_other (row-wise) * q k^T / sqrt(d_h)) v, q from other, k/v from own
//   z          = ln_before(proj(cross) + own_down)
//   z          = CDC(z) on the patch grid; the class token through the same conv as a 1x1 image
//   out        = adapter_up(dropout(QuickGELU(z)))                          (B, L, C), zero at init
// Letters: B batch, L = 1 + N tokens, N = g*g patches, C hidden width, d adapter width,
// h heads, d_h = d / h.
#pragma once
#include <torch/nn.h>

#include "mmdg/model/cdc.h"

namespace mmdg::model {

struct UAdapterOptions {
  TORCH_ARG(std::int64_t, hidden_dim) = 768;
  TORCH_ARG(std::int64_t, adapter_dim) = 8;
  TORCH_ARG(std::int64_t, heads) = 8;
  TORCH_ARG(std::int64_t, grid_size) = 14;
  TORCH_ARG(bool, use_cdc) = true;
  TORCH_ARG(double, theta) = 0.5;
  TORCH_ARG(double, dropout) = 0.2;
};

// x * sigmoid(1.702 x)
torch::Tensor quick_gelu(const torch::Tensor& x);

// Multi-head attention in the adapter space (q/k/v without bias, proj with bias), with an
// optional per-query scaling of the scaled logits by a reliability.
class CrossAttentionImpl : public torch::nn::Module {
 public:
  CrossAttentionImpl(std::int64_t dim, std::int64_t heads);
  // query_input (B, L, d), kv_input (B, L, d), query_reliability (B, L) or undefined -> (B, L, d).
  // `weights`, when given, receives the attention maps (B, h, L, L).
  torch::Tensor forward(const torch::Tensor& query_input, const torch::Tensor& kv_input,
                        const torch::Tensor& query_reliability, torch::Tensor* weights = nullptr);

  torch::nn::Linear q_linear{nullptr}, k_linear{nullptr}, v_linear{nullptr}, proj{nullptr};

 private:
  std::int64_t heads_;
};
TORCH_MODULE(CrossAttention);

class UAdapterImpl : public torch::nn::Module {
 public:
  explicit UAdapterImpl(const UAdapterOptions& options);
  // own (B, L, C), other (B, L, C), other_reliability (B, L) token reliability of the other
  // modality (undefined: no uncertainty modulation) -> (B, L, C).
  torch::Tensor forward(const torch::Tensor& own, const torch::Tensor& other,
                        const torch::Tensor& other_reliability, torch::Tensor* attention = nullptr);

  torch::nn::Linear adapter_down_1{nullptr};  // own tokens C -> d
  torch::nn::Linear adapter_down_2{nullptr};  // other tokens C -> d
  CrossAttention cross_attention{nullptr};
  torch::nn::LayerNorm ln_before{nullptr};
  Conv2dCD adapter_conv{nullptr};
  torch::nn::Dropout dropout{nullptr};
  torch::nn::Linear adapter_up{nullptr};  // d -> C, zero-initialized

 private:
  UAdapterOptions options_;
};
TORCH_MODULE(UAdapter);

}  // namespace mmdg::model
