// Styles of ViT token sequences, for the style-assembly strategies (SSAN, IADG): a sequence's
// style is the per-channel mean and standard deviation of its patch tokens (the class token, index
// 0, is left alone), the token analogue of AdaIN's per-channel spatial statistics.
// Letters: B sequences, L = 1 + N tokens, C width.
#pragma once
#include <torch/types.h>

namespace mmdg::train {

struct TokenStyle {
  torch::Tensor mean, std;  // (B, C) each
};

// Statistics over the patch tokens of h (B, L, C); std = sqrt(var + eps) (biased variance).
TokenStyle token_style(const torch::Tensor& h, double eps = 1e-5);

// AdaIN on the patch tokens: (x - mean(x)) / std(x) * style.std + style.mean, with x's own
// statistics detached (as IADG does; SSAN keeps them in the graph: detach_own = false). The class
// token passes unchanged. h (B, L, C), style (B, C) each -> (B, L, C).
torch::Tensor restyle_tokens(const torch::Tensor& h, const TokenStyle& style, bool detach_own = true, double eps = 1e-5);

}  // namespace mmdg::train
