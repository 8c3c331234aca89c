#include "mmdg/train/token_style.h"

#include <torch/torch.h>

namespace mmdg::train {

TokenStyle token_style(const torch::Tensor& h, double eps) {
  const auto patches = h.narrow(1, 1, h.size(1) - 1);  // (B, N, C)
  TokenStyle s;
  s.mean = patches.mean(1);                                                // (B, C)
  s.std = (patches.var(1, /*unbiased=*/false) + eps).sqrt();               // (B, C)
  return s;
}

torch::Tensor restyle_tokens(const torch::Tensor& h, const TokenStyle& style, bool detach_own, double eps) {
  TokenStyle own = token_style(h, eps);
  if (detach_own) own = {own.mean.detach(), own.std.detach()};
  const auto patches = h.narrow(1, 1, h.size(1) - 1);                                  // (B, N, C)
  const auto normalized = (patches - own.mean.unsqueeze(1)) / own.std.unsqueeze(1);    // (B, N, C)
  const auto styled = normalized * style.std.unsqueeze(1) + style.mean.unsqueeze(1);   // (B, N, C)
  return torch::cat({h.narrow(1, 0, 1), styled}, 1);                                   // (B, L, C)
}

}  // namespace mmdg::train
