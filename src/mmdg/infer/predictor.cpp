#include "mmdg/infer/predictor.h"

#include <torch/torch.h>

#include "mmdg/infer/checkpoint.h"
#include "mmdg/util/error.h"

namespace mmdg::infer {

Predictor::Predictor(const std::string& checkpoint, torch::Device device, const std::optional<model::Estimator>& estimator,
                     const std::optional<model::NetworkOptions>& fallback, model::Precision precision)
    : device_(device) {
  net_ = load_checkpoint(checkpoint, fallback);
  net_->set_precision(precision);
  if (estimator) net_->set_estimator(*estimator);
  net_->to(device_);
  net_->eval();
}

Prediction Predictor::predict(const torch::Tensor& rgb, const torch::Tensor& depth, const torch::Tensor& ir,
                              const std::array<bool, 3>& missing, bool attention_maps) {
  torch::NoGradGuard no_grad;
  model::ForwardOptions fo;
  fo.missing = missing;
  fo.attention_maps = attention_maps;
  const auto out = net_->forward(rgb.to(device_), depth.to(device_), ir.to(device_), fo);
  Prediction p;
  p.live_probability = torch::softmax(out.logits, -1).select(1, 1).to(torch::kCPU);
  const auto g = net_->options().vit().grid_size();
  for (int m = 0; m < model::kNumModalities; ++m) {
    if (!out.reliability[m].defined()) {  // a network without an uncertainty module
      p.mean_reliability[m] = torch::full({out.logits.size(0)}, NAN);
      continue;
    }
    const auto patches = out.reliability[m].slice(1, 1).to(torch::kCPU);  // (B, g*g)
    p.reliability_maps[m] = patches.view({patches.size(0), g, g});
    p.mean_reliability[m] = patches.mean(1);
  }
  for (const auto& [name, map] : out.attention) p.attention.emplace_back(name, map.to(torch::kCPU));
  return p;
}

}  // namespace mmdg::infer
