#include "mmdg/util/runtime.h"

#include <dlfcn.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <climits>
#include <cstdlib>
#include <sstream>
#include <thread>

#include "mmdg/util/build_info.h"

namespace mmdg {

int set_threads(int n) {
  if (n <= 0) n = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  torch::set_num_threads(n);
  return n;
}

std::string blas_library() {
  void* sym = dlsym(RTLD_DEFAULT, "sgemm_");
  if (sym == nullptr) return "";
  Dl_info info{};
  if (dladdr(sym, &info) == 0 || info.dli_fname == nullptr) return "";
  char resolved[PATH_MAX];
  if (realpath(info.dli_fname, resolved) != nullptr) return resolved;
  return info.dli_fname;
}

bool blas_is_reference() {
  const std::string lib = blas_library();
  return lib.find("/blas/") != std::string::npos || lib.find("netlib") != std::string::npos;
}

std::string runtime_summary() {
  std::ostringstream out;
  out << "mmdg " << MMDG_VERSION_STRING << " (" << MMDG_GIT_DESCRIBE << ")\n"
      << "LibTorch " << TORCH_VERSION << "\n"
      << "intra-op threads: " << torch::get_num_threads() << "\n";
  const std::string blas = blas_library();
  out << "BLAS (sgemm_): " << (blas.empty() ? "not found" : blas);
  if (blas_is_reference())
    out << "  [reference BLAS: ~30x slower; HINT: install libopenblas0-pthread]";
  out << "\nCUDA: " << (torch::cuda::is_available()
                            ? std::to_string(torch::cuda::device_count()) + " device(s)"
                            : std::string("not available"));
  return out.str();
}

}  // namespace mmdg
