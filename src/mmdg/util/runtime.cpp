#include "mmdg/util/runtime.h"

#include <dlfcn.h>
#include <unistd.h>
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

void use_passive_openmp_wait(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr || std::getenv("MMDG_KEEP_OMP_DEFAULT") != nullptr) return;
  if (setenv("OMP_WAIT_POLICY", "PASSIVE", 1) != 0 || setenv("MMDG_SET_OMP_WAIT_POLICY", "1", 1) != 0) return;
  execv("/proc/self/exe", argv);  // returns only on failure: continue with the default policy
}

namespace {
// OpenBLAS's own thread count, when the BLAS in use is OpenBLAS (0 otherwise).
int openblas_threads() {
  using Getter = int (*)();
  const auto get = reinterpret_cast<Getter>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  return get ? get() : 0;
}
}  // namespace

std::string threading_summary() {
  std::ostringstream out;
  const char* policy = std::getenv("OMP_WAIT_POLICY");
  out << "intra-op threads: " << torch::get_num_threads() << "\n"
      << "OpenMP wait policy: " << (policy ? policy : "default (spinning)")
      << (std::getenv("MMDG_SET_OMP_WAIT_POLICY") ? " (set by mmdg at start)" : policy ? " (from the environment)" : "")
      << "\n";
  const int blas = openblas_threads();
  out << "BLAS threads: " << (blas > 0 ? std::to_string(blas) : std::string("unknown (not OpenBLAS)"));
  return out.str();
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
      << threading_summary() << "\n";
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
