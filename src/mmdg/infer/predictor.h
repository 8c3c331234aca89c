// Inference: load a checkpoint once, then score batches of (RGB, depth, IR) inputs.
#pragma once
#include <torch/types.h>

#include <array>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "mmdg/model/network.h"

namespace mmdg::infer {

struct Prediction {
  torch::Tensor live_probability;                 // (B): softmax of the head, class 1 = live
  std::array<torch::Tensor, 3> reliability_maps;  // (B, g, g): last block's patch-token reliability (networks with uncertainty)
  std::array<torch::Tensor, 3> mean_reliability;  // (B): mean over the patch tokens (NaN without uncertainty)
  std::vector<std::pair<std::string, torch::Tensor>> attention;  // on request: (B, h, L, L) per adapter
};

class Predictor {
 public:
  // `estimator` overrides the checkpoint's uncertainty estimator (e.g. "expected" for
  // deterministic scores); `fallback` gives the options of a plain released-layout state dict.
  Predictor(const std::string& checkpoint, torch::Device device, const std::optional<model::Estimator>& estimator = std::nullopt,
            const std::optional<model::NetworkOptions>& fallback = std::nullopt,
            model::Precision precision = model::Precision::Float32);

  // Inputs (B, 3, S, S), normalized; missing modalities are replaced by zeros.
  Prediction predict(const torch::Tensor& rgb, const torch::Tensor& depth, const torch::Tensor& ir,
                     const std::array<bool, 3>& missing = {false, false, false}, bool attention_maps = false);

  const model::NetworkOptions& options() const { return net_->options(); }
  const model::NetworkImpl& network() const { return *net_; }
  torch::Device device() const { return device_; }

 private:
  model::Network net_;
  torch::Device device_;
};

}  // namespace mmdg::infer
