#include "mmdg/infer/predictor.h"

#include <torch/torch.h>

#include <cmath>

#ifdef MMDG_HAVE_OPENCV
#include <opencv2/core.hpp>
#endif

#include "mmdg/infer/checkpoint.h"
#include "mmdg/model/uncertainty.h"
#include "mmdg/util/enum_names.h"
#include "mmdg/util/error.h"

namespace mmdg::infer {

Predictor::Predictor(const std::string& checkpoint, const PredictorOptions& o) : device_(o.device), draw_seed_(o.draw_seed) {
  net_ = load_checkpoint(checkpoint, o.fallback);
  stored_ = read_deployment(checkpoint, net_->options().backbone.image_size());
  scoring_ = choose_scoring(stored_, o.normalization, o.threshold, notes_);
  net_->set_precision(o.precision);
  if (o.estimator) net_->set_estimator(*o.estimator);
  net_->to(device_);
  net_->eval();
}

Prediction Predictor::predict(const torch::Tensor& rgb, const torch::Tensor& depth, const torch::Tensor& ir,
                              const std::array<bool, 3>& missing, bool attention_maps) {
  torch::NoGradGuard no_grad;
  model::ForwardOptions fo;
  fo.missing = missing;
  fo.attention_maps = attention_maps;
  std::vector<std::uint64_t> keys;
  for (std::int64_t i = 0; i < rgb.size(0); ++i)
    keys.push_back(model::draw_key(torch::stack({rgb[i], depth[i], ir[i]})));
  const model::KeyedDraws draws(draw_seed_, keys);
  const auto out = net_->forward(rgb.to(device_), depth.to(device_), ir.to(device_), fo);
  Prediction p;
  p.live_probability = torch::softmax(out.logits, -1).select(1, 1).to(torch::kCPU).contiguous();
  const auto* probability = p.live_probability.data_ptr<float>();
  for (std::int64_t i = 0; i < p.live_probability.size(0); ++i) p.live.push_back(probability[i] >= scoring_.threshold);
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

torch::Tensor Predictor::prepare(const torch::Tensor& crop) const {
  if (crop.dim() != 3 || crop.size(0) != 3)
    throw Error("a face crop must be a (3, H, W) tensor, got " + std::to_string(crop.dim()) + " dimensions");
  return data::prepare(crop.to(torch::kFloat), net_->options().backbone.image_size(), scoring_.normalization);
}

Prediction Predictor::predict_crops(const std::vector<std::array<torch::Tensor, 3>>& samples,
                                    const std::array<bool, 3>& missing) {
  if (samples.empty()) throw Error("predict: no samples");
  const auto S = net_->options().backbone.image_size();
  std::array<std::vector<torch::Tensor>, 3> batch;
  for (std::size_t i = 0; i < samples.size(); ++i)
    for (int m = 0; m < 3; ++m) {
      if (missing[m]) batch[m].push_back(torch::zeros({3, S, S}));
      else if (!samples[i][m].defined())
        throw Error("sample " + std::to_string(i) + ": no " + model::modality_name(m) + " image (or mark it missing)");
      else batch[m].push_back(prepare(samples[i][m]));
    }
  return predict(torch::stack(batch[0]), torch::stack(batch[1]), torch::stack(batch[2]), missing);
}

#ifdef MMDG_HAVE_OPENCV
Prediction Predictor::predict_images(const std::vector<std::array<cv::Mat, 3>>& samples, const std::array<bool, 3>& missing) {
  std::vector<std::array<torch::Tensor, 3>> crops(samples.size());
  for (std::size_t i = 0; i < samples.size(); ++i)
    for (int m = 0; m < 3; ++m)
      if (!missing[m])
        crops[i][m] = data::image_from_mat(&samples[i][m], "sample " + std::to_string(i) + " " + model::modality_name(m));
  return predict_crops(crops, missing);
}
#endif

nlohmann::json prediction_json(const Predictor& predictor, const Prediction& p, std::int64_t i) {
  nlohmann::json reliability = nlohmann::json::object();
  for (int m = 0; m < model::kNumModalities; ++m)
    reliability[model::modality_name(m)] = p.mean_reliability[m][i].item<double>();
  return {{"live_probability", p.live_probability[i].item<double>()},
          {"decision", p.live.at(static_cast<std::size_t>(i)) ? "live" : "spoof"},
          {"threshold", predictor.scoring().threshold},
          {"threshold_source", predictor.scoring().threshold_source},
          {"normalization", enum_name(predictor.scoring().normalization)},
          {"mean_reliability", reliability},
          {"estimator", enum_name(predictor.options().estimator)}};
}

torch::Tensor received_attention(const torch::Tensor& weights, std::int64_t i) {
  const auto received = weights[i].mean(0).mean(0);  // (L)
  const auto patches = received.narrow(0, 1, received.size(0) - 1);
  const auto g = static_cast<std::int64_t>(std::lround(std::sqrt(static_cast<double>(patches.size(0)))));
  const auto low = patches.min(), range = (patches.max() - low).clamp_min(1e-12);
  return ((patches - low) / range).view({g, g});
}

}  // namespace mmdg::infer
