#include "mmdg/model/vit_single.h"

#include <torch/torch.h>

namespace mmdg::model {

ViTSingleImpl::ViTSingleImpl(const NetworkOptions& o) : ViTNetworkImpl(o) {
  add_stem(0);
  add_encoder();
  fc_all = add_head("fc_all", feature_dim());
  apply_freeze_policy();
}

NetworkOutput ViTSingleImpl::forward_impl(const torch::Tensor& rgb, const torch::Tensor& depth, const torch::Tensor& ir,
                                          const ForwardOptions& fo) {
  const std::array<const torch::Tensor*, 3> images{&rgb, &depth, &ir};
  const int m = input_modality();
  check_input(*images[m], rgb.size(0), m);
  auto h = encoder_dropout(embed(0, fo.missing[m] ? torch::zeros_like(*images[m]) : *images[m]));  // (B, L, C)
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    h = blocks[i](h);
    if (fo.after_block) h = fo.after_block(i, h);
  }
  const auto cls = encoder_ln(h).select(1, 0);  // (B, C)
  NetworkOutput out;
  auto head = classify(fc_all, {cls});
  out.logits = head.logits;  // (B, K)
  out.embedding = head.embedding;
  out.features.fill(cls);
  return out;
}

}  // namespace mmdg::model
