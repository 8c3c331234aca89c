#include "mmdg/model/precision.h"

#include <ATen/autocast_mode.h>

namespace mmdg::model {

PrecisionGuard::PrecisionGuard(Precision precision) {
  if (precision == Precision::Float32) return;
  active_ = true;
  previous_cpu_ = at::autocast::is_cpu_enabled();
  previous_cuda_ = at::autocast::is_enabled();
  previous_cpu_dtype_ = static_cast<int>(at::autocast::get_autocast_cpu_dtype());
  previous_cuda_dtype_ = static_cast<int>(at::autocast::get_autocast_gpu_dtype());
  at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
  at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
  at::autocast::set_cpu_enabled(true);
  at::autocast::set_enabled(true);
  at::autocast::increment_nesting();
}

PrecisionGuard::~PrecisionGuard() {
  if (!active_) return;
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();  // casts of the weights
  at::autocast::set_cpu_enabled(previous_cpu_);
  at::autocast::set_enabled(previous_cuda_);
  at::autocast::set_autocast_cpu_dtype(static_cast<at::ScalarType>(previous_cpu_dtype_));
  at::autocast::set_autocast_gpu_dtype(static_cast<at::ScalarType>(previous_cuda_dtype_));
}

}  // namespace mmdg::model
