// The arithmetic precision of a network's forward. `bf16` runs the matrix products and
// convolutions in bfloat16 through LibTorch's autocast (CPU: oneDNN, with AVX-512 BF16 where the
// CPU has it; CUDA: the GPU's bfloat16 units), with the weights, the optimizer's state and the
// gradients' accumulation in float32 (mixed precision); the uncertainty module and the losses stay
// in float32. A forward-time choice like the estimator: weights and checkpoints are unchanged.
#pragma once
#include <utility>

#include "mmdg/util/enum_names.h"

namespace mmdg::model {

enum class Precision { Float32, BFloat16 };

// Enables autocast to bfloat16 for the current thread while it lives (Float32: does nothing), as
// Python's `torch.autocast(device, dtype=torch.bfloat16)`; restores the previous state after.
class PrecisionGuard {
 public:
  explicit PrecisionGuard(Precision precision);
  ~PrecisionGuard();
  PrecisionGuard(const PrecisionGuard&) = delete;
  PrecisionGuard& operator=(const PrecisionGuard&) = delete;

 private:
  bool active_ = false, previous_cpu_ = false, previous_cuda_ = false;
  int previous_cpu_dtype_ = 0, previous_cuda_dtype_ = 0;
};

}  // namespace mmdg::model

namespace mmdg {
template <>
struct EnumNames<model::Precision> {
  static constexpr std::pair<model::Precision, const char*> values[] = {{model::Precision::Float32, "fp32"},
                                                                       {model::Precision::BFloat16, "bf16"}};
};
}  // namespace mmdg
