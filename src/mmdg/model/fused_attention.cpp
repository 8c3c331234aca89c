#include "mmdg/model/fused_attention.h"

#include <torch/torch.h>
#include <torch/version.h>

namespace mmdg::model {

bool fused_attention_available() {
#if TORCH_VERSION_MAJOR >= 2
  return true;
#else
  return false;
#endif
}

std::optional<torch::Tensor> fused_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                             double dropout_p, bool weights_requested) {
#if TORCH_VERSION_MAJOR >= 2
  if (weights_requested) return std::nullopt;
  // (query, key, value, attn_mask, dropout_p, is_causal): the signature of 2.0 and later
  return at::scaled_dot_product_attention(q, k, v, /*attn_mask=*/{}, dropout_p, /*is_causal=*/false);
#else
  (void)q, (void)k, (void)v, (void)dropout_p, (void)weights_requested;
  return std::nullopt;
#endif
}

}  // namespace mmdg::model
