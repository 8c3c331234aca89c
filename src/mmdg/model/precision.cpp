#include "mmdg/model/precision.h"

#include <ATen/autocast_mode.h>
#include <torch/version.h>

// LibTorch 2.4 replaced the per-device autocast switches (is_enabled / set_enabled for CUDA,
// is_cpu_enabled / set_cpu_enabled, get / set_autocast_{gpu,cpu}_dtype) by functions taking the
// device type, and deprecated the old ones; this file uses whichever its LibTorch has.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define MMDG_AUTOCAST_BY_DEVICE_TYPE 1
#endif

namespace mmdg::model {
namespace {

bool autocast_enabled(bool cuda) {
#ifdef MMDG_AUTOCAST_BY_DEVICE_TYPE
  return at::autocast::is_autocast_enabled(cuda ? at::kCUDA : at::kCPU);
#else
  return cuda ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
#endif
}

void set_autocast_enabled(bool cuda, bool enabled) {
#ifdef MMDG_AUTOCAST_BY_DEVICE_TYPE
  at::autocast::set_autocast_enabled(cuda ? at::kCUDA : at::kCPU, enabled);
#else
  cuda ? at::autocast::set_enabled(enabled) : at::autocast::set_cpu_enabled(enabled);
#endif
}

at::ScalarType autocast_dtype(bool cuda) {
#ifdef MMDG_AUTOCAST_BY_DEVICE_TYPE
  return at::autocast::get_autocast_dtype(cuda ? at::kCUDA : at::kCPU);
#else
  return cuda ? at::autocast::get_autocast_gpu_dtype() : at::autocast::get_autocast_cpu_dtype();
#endif
}

void set_autocast_dtype(bool cuda, at::ScalarType dtype) {
#ifdef MMDG_AUTOCAST_BY_DEVICE_TYPE
  at::autocast::set_autocast_dtype(cuda ? at::kCUDA : at::kCPU, dtype);
#else
  cuda ? at::autocast::set_autocast_gpu_dtype(dtype) : at::autocast::set_autocast_cpu_dtype(dtype);
#endif
}

}  // namespace

PrecisionGuard::PrecisionGuard(Precision precision) {
  if (precision == Precision::Float32) return;
  active_ = true;
  previous_cpu_ = autocast_enabled(false);
  previous_cuda_ = autocast_enabled(true);
  previous_cpu_dtype_ = static_cast<int>(autocast_dtype(false));
  previous_cuda_dtype_ = static_cast<int>(autocast_dtype(true));
  set_autocast_dtype(false, at::kBFloat16);
  set_autocast_dtype(true, at::kBFloat16);
  set_autocast_enabled(false, true);
  set_autocast_enabled(true, true);
  at::autocast::increment_nesting();
}

PrecisionGuard::~PrecisionGuard() {
  if (!active_) return;
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();  // casts of the weights
  set_autocast_enabled(false, previous_cpu_);
  set_autocast_enabled(true, previous_cuda_);
  set_autocast_dtype(false, static_cast<at::ScalarType>(previous_cpu_dtype_));
  set_autocast_dtype(true, static_cast<at::ScalarType>(previous_cuda_dtype_));
}

}  // namespace mmdg::model
