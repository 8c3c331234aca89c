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
  const std::string expected = " (expected cpu, cuda or cuda:N)";
  torch::Device device(torch::kCPU);
  try {
    device = torch::Device(text);
  } catch (const c10::Error&) {
    throw UsageError("option --device: cannot parse '" + text + "'" + expected);
  }
  if (!device.is_cpu() && !device.is_cuda())
    throw UsageError("option --device " + text + ": mmdg runs on cpu or cuda devices only" + expected);
  if (device.is_cpu() && device.has_index() && device.index() != 0)
    throw UsageError("option --device " + text + ": the CPU has no device index" + expected);
  if (!device.is_cuda()) return device;
  if (!torch::cuda::is_available())
    throw UsageError("option --device " + text + ": CUDA is not available (this LibTorch is built without CUDA, or no " +
                     "GPU / driver is visible: check nvidia-smi and CUDA_VISIBLE_DEVICES)");
  const auto count = static_cast<int>(torch::cuda::device_count());
  if (device.has_index() && device.index() >= count)
    throw UsageError("option --device " + text + ": no such GPU (" + std::to_string(count) + " visible: cuda:0 to cuda:" +
                     std::to_string(count - 1) + ")");
  return device;
}

}  // namespace mmdg::infer
