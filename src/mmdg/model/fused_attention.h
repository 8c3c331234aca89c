// The fused attention kernel of LibTorch >= 2.0 (at::scaled_dot_product_attention: flash or
// memory-efficient attention on CUDA, a fused loop on the CPU), used where no attention weights are
// requested (training, plain scoring); the explicit softmax(q k^T / sqrt(d)) v stays the path that
// captures the weights (maps, Fig. 7) and the only one with LibTorch 1.13 (Debian's), where this
// returns nothing.
#pragma once
#include <torch/types.h>

#include <optional>

namespace mmdg::model {

// q, k, v: (B, H, L, d) -> softmax(q k^T / sqrt(d)) v (B, H, L, d) with dropout p on the weights,
// when the fused kernel is available (LibTorch >= 2.0) and `weights_requested` is false; nullopt
// otherwise (the caller computes it explicitly).
std::optional<torch::Tensor> fused_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                             double dropout_p, bool weights_requested);

// Whether fused_attention can return a result in this build.
bool fused_attention_available();

}  // namespace mmdg::model
