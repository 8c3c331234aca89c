// The options every command that scores samples with a trained network shares (`mmdg eval`,
// `mmdg predict`), declared once (mmdg/util/settings.h), with their parsing.
#pragma once
#include <torch/types.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "mmdg/data/image.h"
#include "mmdg/model/network.h"

namespace mmdg::infer {

struct InferOptions {
  std::string checkpoint;
  std::string config;     // model options of a plain state dict (a preset or a JSON file)
  std::string data_root;
  std::string device = "cpu";
  std::string estimator;  // "" = the checkpoint's
  model::Precision precision = model::Precision::Float32;
  std::string normalization;  // "" = the checkpoint's
  std::int64_t batch_size = 32;
  std::int64_t workers = 2;
  std::string missing;    // e.g. "depth,ir"
  std::int64_t seed = 0;

  template <class V>
  void visit(V&& v) {
    v("checkpoint", checkpoint, "mmdg checkpoint (or a released-layout state dict with --config)");
    v("config", config, "model config of a plain state dict (preset or JSON file)");
    v("data_root", data_root, "root of the lists' relative paths");
    v("device", device, "cpu, cuda or cuda:N");
    v("estimator", estimator, "override the uncertainty estimator: mc | binomial | expected (default: the checkpoint's)");
    v("precision", precision, "forward arithmetic: fp32, or bf16 (autocast)");
    v("normalization", normalization, "override the checkpoint's input normalization: imagenet | half (default: the checkpoint's)");
    v("batch_size", batch_size, "samples per forward");
    v("workers", workers, "data-loading threads");
    v("missing", missing, "modalities absent at test time, e.g. depth,ir (fed as zeros; Protocol 2)");
    v("seed", seed, "seed of the uncertainty estimator's draws (drawn per sample: a score depends on the sample and this seed only)");
  }
  // Throws mmdg::Error naming the option.
  void validate() const;
  torch::Device torch_device() const;                  // parse_device(device)
  std::optional<model::Estimator> estimator_override() const;
  std::optional<data::Normalization> normalization_override() const;
  std::array<bool, 3> missing_modalities() const;     // parse_missing(missing)
};

// "depth,ir" -> {false, true, true}; errors name the option.
std::array<bool, 3> parse_missing(const std::string& text);

// The one parser of --device: "cpu", "cuda" (the current GPU), "cuda:N". A UsageError naming the
// option for text LibTorch cannot parse, other device kinds, a missing CUDA and a GPU index beyond
// the visible ones.
torch::Device parse_device(const std::string& text);

}  // namespace mmdg::infer
