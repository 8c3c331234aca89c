// One entry point for weights files of either format, detected from the first bytes:
// torch.save zip checkpoints (.pth/.pt/.bin) and safetensors.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "mmdg/io/state_dict.h"

namespace mmdg::io {

enum class WeightsFormat { TorchZip, Safetensors };

// Detects the format; throws Error for the legacy (pre-1.6) torch format, for files that are
// too short and for anything unrecognized.
WeightsFormat detect_weights_format(const std::string& path);

// Reads all tensors of a weights file.
StateDict read_weights(const std::string& path);

struct TensorInfo {
  std::string name;
  std::string dtype;  // Python-style, e.g. "float32"
  std::vector<std::int64_t> shape;
  double sum = 0;  // sum of all values in double precision
};

struct WeightsInfo {
  WeightsFormat format;
  std::vector<TensorInfo> tensors;
  std::vector<std::string> skipped;  // non-tensor entries of a torch checkpoint
  std::int64_t total_elements = 0;
};

WeightsInfo weights_info(const std::string& path);

// The sum of a tensor's values in double precision, in memory bounded by kSumChunk doubles (plus
// the tensor's distinct values): a file can declare a view of 2^27 elements over one stored value
// (stride 0) or over a small storage (overlapping strides), which a plain to(kDouble) would
// materialize in full.
constexpr std::int64_t kSumChunk = std::int64_t{1} << 20;
double element_sum(at::Tensor t);

}  // namespace mmdg::io
