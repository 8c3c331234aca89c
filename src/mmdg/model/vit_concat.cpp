#include "mmdg/model/vit_concat.h"

#include <torch/torch.h>

namespace mmdg::model {

ViTConcatImpl::ViTConcatImpl(const NetworkOptions& o) : ViTNetworkImpl(o) {
  fusion = add_mean_fusion();
  add_stem(0);
  add_encoder();
  fc_all = add_head("fc_all", feature_dim());
  apply_freeze_policy();
}

NetworkOutput ViTConcatImpl::forward_impl(const torch::Tensor& rgb, const torch::Tensor& depth, const torch::Tensor& ir,
                                     const ForwardOptions& fo) {
  const auto x = fusion(concatenated_inputs(rgb, depth, ir, fo));  // (B, 3, S, S)
  return encode_one_stream(encoder_dropout(embed(0, x)), fc_all, fo);
}

}  // namespace mmdg::model
