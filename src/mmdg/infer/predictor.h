// Inference: load a checkpoint once, then score batches of (RGB, depth, IR) samples with the
// checkpoint's own input pipeline and decision threshold (deployment.h).
//
//   mmdg::infer::Predictor predictor("best.safetensors");
//   auto p = predictor.predict_images({{rgb_mat, depth_mat, ir_mat}});   // cv::Mat as cv::imread gives
//   bool live = p.live[0];  double score = p.live_probability[0].item<double>();
#pragma once
#include <torch/types.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "mmdg/infer/deployment.h"
#include "mmdg/model/network.h"

#ifdef MMDG_HAVE_OPENCV
namespace cv {
class Mat;
}
#endif

namespace mmdg::infer {

struct Prediction {
  torch::Tensor live_probability;                 // (B): softmax of the head, class 1 = live
  std::vector<bool> live;                         // (B): live_probability >= the threshold
  std::array<torch::Tensor, 3> reliability_maps;  // (B, g, g): last block's patch-token reliability (networks with uncertainty)
  std::array<torch::Tensor, 3> mean_reliability;  // (B): mean over the patch tokens (NaN without uncertainty)
  std::vector<std::pair<std::string, torch::Tensor>> attention;  // on request: (B, h, L, L) per adapter
};

struct PredictorOptions {
  torch::Device device = torch::kCPU;
  std::optional<model::Estimator> estimator;          // overrides the checkpoint's (e.g. expected: deterministic)
  std::optional<model::NetworkOptions> fallback;      // the options of a plain released-layout state dict
  model::Precision precision = model::Precision::Float32;
  std::optional<data::Normalization> normalization;  // overrides the checkpoint's (a warning says so)
  std::optional<double> threshold;                   // overrides the checkpoint's (a warning says so)
  std::uint64_t draw_seed = 0;  // the uncertainty estimator's draws: per sample, keyed by its content
};

class Predictor {
 public:
  explicit Predictor(const std::string& checkpoint, const PredictorOptions& options = {});

  // Normalized inputs (B, 3, S, S) as the data pipeline makes them; missing modalities are
  // replaced by zeros. The estimator's draws for a sample are keyed by its content and the
  // options' draw_seed: the same input always gets the same score, in any batch.
  Prediction predict(const torch::Tensor& rgb, const torch::Tensor& depth, const torch::Tensor& ir,
                     const std::array<bool, 3>& missing = {false, false, false}, bool attention_maps = false);

  // Face crops as tensors (3, H, W) in [0, 1], RGB order (any size; single-channel depth / IR
  // replicated to 3), one triple per sample: resized and normalized as the checkpoint says, then
  // scored. Missing modalities may be undefined tensors.
  Prediction predict_crops(const std::vector<std::array<torch::Tensor, 3>>& samples,
                           const std::array<bool, 3>& missing = {false, false, false});
#ifdef MMDG_HAVE_OPENCV
  // The same from cv::Mat face crops as cv::imread gives them (8- or 16-bit; 1 channel, BGR or BGRA).
  Prediction predict_images(const std::vector<std::array<cv::Mat, 3>>& samples,
                            const std::array<bool, 3>& missing = {false, false, false});
#endif

  // One normalized input (3, S, S) from a crop (3, H, W) in [0, 1].
  torch::Tensor prepare(const torch::Tensor& crop) const;

  const model::NetworkOptions& options() const { return net_->options(); }
  const model::NetworkImpl& network() const { return *net_; }
  model::NetworkImpl& network() { return *net_; }  // e.g. to score a dataset (eval::score_dataset)
  torch::Device device() const { return device_; }
  const Deployment& stored() const { return stored_; }        // what the checkpoint records
  const ScoringChoice& scoring() const { return scoring_; }    // what is used (stored or overridden)
  const std::vector<std::string>& notes() const { return notes_; }  // overrides and defaults, to print

 private:
  model::Network net_;
  torch::Device device_;
  std::uint64_t draw_seed_;
  Deployment stored_;
  ScoringChoice scoring_;
  std::vector<std::string> notes_;
};

// Sample i of a prediction as `mmdg predict --json` prints it and `mmdg serve` answers it:
// live_probability, decision, threshold, threshold_source, normalization, mean_reliability
// (per modality), estimator.
nlohmann::json prediction_json(const Predictor& predictor, const Prediction& p, std::int64_t i);

// Fig. 7's map of adapter a <- b (a's tokens query b's) for sample i: the attention each of b's
// patches receives, averaged over heads and a's tokens, min-max scaled to [0, 1] (the contrast
// between patches). weights (B, h, L, L) with L = 1 + g * g -> (g, g).
torch::Tensor received_attention(const torch::Tensor& weights, std::int64_t i);

}  // namespace mmdg::infer
