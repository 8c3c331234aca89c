#include "mmdg/train/cdcn_strategy.h"

#include <torch/torch.h>

#include "mmdg/train/train_options.h"

namespace mmdg::train {

torch::Tensor contrast_depth(const torch::Tensor& maps) {
  // kernel k: -1 at the centre (1, 1), +1 at the k-th of the eight neighbours
  static const int neighbours[8][2] = {{0, 0}, {0, 1}, {0, 2}, {1, 0}, {1, 2}, {2, 0}, {2, 1}, {2, 2}};
  auto kernels = torch::zeros({8, 1, 3, 3}, maps.options());
  for (int k = 0; k < 8; ++k) {
    kernels[k][0][1][1] = -1.0;
    kernels[k][0][neighbours[k][0]][neighbours[k][1]] = 1.0;
  }
  const auto x = maps.unsqueeze(1).expand({-1, 8, -1, -1});  // (B, 8, M, M)
  return torch::nn::functional::conv2d(x, kernels, torch::nn::functional::Conv2dFuncOptions().groups(8));
}

torch::Tensor contrast_depth_loss(const torch::Tensor& prediction, const torch::Tensor& target) {
  return torch::mse_loss(contrast_depth(prediction), contrast_depth(target));
}

torch::Tensor binary_target_maps(const torch::Tensor& labels, std::int64_t M, torch::ScalarType dtype) {
  return labels.to(dtype).view({-1, 1, 1}).expand({-1, M, M});
}

CDCNStrategy::CDCNStrategy(const TrainOptions& o, model::NetworkImpl& net)
    : contrast_weight_(o.cdcn.contrast_weight), trainable_(trainable_tensors(net)) {}

StepResult CDCNStrategy::step(model::NetworkImpl& net, const TrainBatch& batch) {
  const auto out = net.forward(batch.rgb, batch.depth, batch.ir);
  const auto target = binary_target_maps(batch.labels, out.map.size(1), out.map.scalar_type());
  const auto absolute = torch::mse_loss(out.map, target);
  const auto contrast = contrast_depth_loss(out.map, target);
  const auto total = absolute + contrast_weight_ * contrast;
  return backward_step(total, trainable_, LossParts{{"loss_map", absolute}, {"loss_contrast", contrast}});
}

}  // namespace mmdg::train
