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
  return encode_one_stream(encoder_dropout(embed(0, fo.missing[m] ? torch::zeros_like(*images[m]) : *images[m])), fc_all, fo);
}

}  // namespace mmdg::model
