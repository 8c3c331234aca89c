#include "mmdg/infer/infer_options.h"

#include <torch/torch.h>

#include <sstream>

#include "mmdg/util/error.h"

namespace mmdg::infer {

void InferOptions::validate() const {
  if (batch_size <= 0) throw UsageError("option batch_size: must be positive");
  if (workers < 0 || workers > 64) throw UsageError("option workers: must be in [0, 64]");
  torch_device();
  estimator_override();
  normalization_override();
  missing_modalities();
}

torch::Device InferOptions::torch_device() const { return parse_device(device); }

std::optional<model::Estimator> InferOptions::estimator_override() const {
  if (estimator.empty()) return std::nullopt;
  return parse_enum<model::Estimator>(estimator, "estimator");
}

std::optional<data::Normalization> InferOptions::normalization_override() const {
  if (normalization.empty()) return std::nullopt;
  return parse_enum<data::Normalization>(normalization, "normalization");
}

std::array<bool, 3> InferOptions::missing_modalities() const { return parse_missing(missing); }

std::array<bool, 3> parse_missing(const std::string& text) {
  std::array<bool, 3> missing{false, false, false};
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    if (item == "depth") missing[model::kDepth] = true;
    else if (item == "ir") missing[model::kIR] = true;
    else if (!item.empty())
      throw UsageError("option --missing: unknown modality '" + item + "' (expected depth and/or ir, comma-separated)");
  }
  return missing;
}

torch::Device parse_device(const std::string& text) {
  torch::Device device(torch::kCPU);
  try {
    device = torch::Device(text);
  } catch (const c10::Error&) {
    throw UsageError("option --device: cannot parse '" + text + "' (expected cpu, cuda or cuda:N)");
  }
  if (device.is_cuda() && !torch::cuda::is_available())
    throw UsageError("option --device " + text + ": CUDA is not available in this build / machine");
  return device;
}

}  // namespace mmdg::infer
