#include "mmdg/util/runtime.h"

#include <dlfcn.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <unistd.h>
#include <torch/torch.h>
#include <ATen/Parallel.h>
#include <ATen/Version.h>
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

int intra_op_threads_here() {
  using Getter = int (*)();
  const auto get = reinterpret_cast<Getter>(dlsym(RTLD_DEFAULT, "omp_get_max_threads"));
  return get ? get() : 0;
}

int use_one_intra_op_thread_here() {
  using Setter = void (*)(int);
  const auto set = reinterpret_cast<Setter>(dlsym(RTLD_DEFAULT, "omp_set_num_threads"));
  if (set == nullptr) return 0;  // not LibTorch's OpenMP build: its pool is shared, nothing to do
  // LibTorch sets each thread's team size lazily, at the thread's first parallel region (in its
  // library and in inline code): run both first, so that they do not undo the setting later.
  at::internal::lazy_init_num_threads();
  at::parallel_for(0, 2, 1, [](std::int64_t, std::int64_t) {});
  (void)torch::ones({4096}).sum();
  set(1);
  return intra_op_threads_here();
}

namespace {
bool g_kept_freed_memory = false;
}  // namespace

bool keep_freed_memory() {
#if defined(__GLIBC__)
  for (const char* chosen : {"MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES", "MMDG_KEEP_MALLOC_DEFAULT"})
    if (std::getenv(chosen) != nullptr) return false;
  // setting either also stops glibc's own adaptation of both
  g_kept_freed_memory = mallopt(M_MMAP_THRESHOLD, 32 << 20) == 1 && mallopt(M_TRIM_THRESHOLD, 256 << 20) == 1;
  return g_kept_freed_memory;
#else
  return false;
#endif
}

std::string threading_summary() {
  std::ostringstream out;
  const char* policy = std::getenv("OMP_WAIT_POLICY");
  out << "intra-op threads: " << torch::get_num_threads() << "\n"
      << "OpenMP wait policy: " << (policy ? policy : "default (spinning)")
      << (std::getenv("MMDG_SET_OMP_WAIT_POLICY") ? " (set by mmdg at start)" : policy ? " (from the environment)" : "")
      << "\n";
  const int blas = openblas_threads();
  out << "BLAS threads: " << (blas > 0 ? std::to_string(blas) : std::string("unknown (not OpenBLAS)")) << "\n"
      << "malloc: " << (g_kept_freed_memory ? "allocations up to 32 MiB and 256 MiB of free memory kept (set by mmdg)"
                                            : "the C library's default or the environment's settings");
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

std::string blas_summary() {
  std::string info;  // BLAS_INFO=<name> in LibTorch's build configuration
  const std::string config = at::show_config();
  const auto at = config.find("BLAS_INFO=");
  if (at != std::string::npos) {
    const auto start = at + 10;
    info = config.substr(start, config.find_first_of(", \n", start) - start);
  }
  std::string out;
  if (at::hasMKL()) {
    out = "MKL (bundled with LibTorch)";
  } else {
    const std::string lib = blas_library();
    out = lib.empty() ? "not found" : lib;
    if (blas_is_reference()) out += "  [reference BLAS: ~30x slower; HINT: install libopenblas0-pthread]";
  }
  return out + (info.empty() ? "" : " (LibTorch built with BLAS_INFO=" + info + ")");
}

void configure_numerics(bool cuda, bool deterministic, bool tf32) {
  if (!cuda) return;
  auto& context = at::globalContext();
  if (deterministic) {
    setenv("CUBLAS_WORKSPACE_CONFIG", ":4096:8", /*overwrite=*/0);
    context.setDeterministicAlgorithms(true, /*warn_only=*/false);
    context.setDeterministicCuDNN(true);
    context.setBenchmarkCuDNN(false);
  }
  context.setFloat32MatmulPrecision(tf32 ? "high" : "highest");
  context.setAllowTF32CuDNN(tf32);
}

std::string runtime_summary() {
  std::ostringstream out;
  out << "mmdg " << MMDG_VERSION_STRING << " (" << MMDG_GIT_DESCRIBE << ")\n"
      << "LibTorch " << TORCH_VERSION << "\n"
      << threading_summary() << "\n";
  out << "BLAS: " << blas_summary();
  out << "\nCUDA: " << (torch::cuda::is_available()
                            ? std::to_string(torch::cuda::device_count()) + " device(s)"
                            : std::string("not available"));
  return out.str();
}

}  // namespace mmdg
