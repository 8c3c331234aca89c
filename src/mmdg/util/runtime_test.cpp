// The runtime set-up: data-loading workers run LibTorch's operations on one thread while the
// training thread keeps its team; the BLAS report asks LibTorch; the CUDA numerics switches.
#include "mmdg/util/runtime.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <thread>

namespace mmdg {
namespace {

// How many distinct threads a parallel_for over many small items runs on, from the calling thread.
int threads_of_a_parallel_for() {
  std::atomic<int> widest{0};
  at::parallel_for(0, 4096, 1, [&](std::int64_t, std::int64_t) {
    const int id = at::get_thread_num() + 1;
    int seen = widest.load();
    while (id > seen && !widest.compare_exchange_weak(seen, id)) {
    }
  });
  return widest.load();
}

TEST(Runtime, AWorkerThreadRunsOnOneIntraOpThreadAndTheMainThreadKeepsItsTeam) {
  set_threads(2);
  if (intra_op_threads_here() == 0) GTEST_SKIP() << "LibTorch without OpenMP: one shared pool, nothing to limit";
  ASSERT_EQ(intra_op_threads_here(), 2);
  int worker_team = -1, worker_widest = -1;
  std::thread worker([&] {
    worker_team = use_one_intra_op_thread_here();
    worker_widest = threads_of_a_parallel_for();
  });
  worker.join();
  EXPECT_EQ(worker_team, 1);
  EXPECT_EQ(worker_widest, 1);
  EXPECT_EQ(intra_op_threads_here(), 2);  // the calling thread is untouched
  EXPECT_EQ(at::get_num_threads(), 2);
}

TEST(Runtime, TheBlasReportComesFromLibTorch) {
  const std::string blas = blas_summary();
  if (at::hasMKL()) {
    EXPECT_NE(blas.find("MKL (bundled with LibTorch)"), std::string::npos) << blas;
  } else {
    EXPECT_NE(blas.find(blas_library()), std::string::npos) << blas;
  }
  if (at::show_config().find("BLAS_INFO=") != std::string::npos) {
    EXPECT_NE(blas.find("(LibTorch built with BLAS_INFO="), std::string::npos) << blas;
  }
}

TEST(Runtime, KeepFreedMemoryRespectsTheUsersChoice) {
#if defined(__GLIBC__)
  if (std::getenv("MALLOC_MMAP_THRESHOLD_") || std::getenv("MALLOC_TRIM_THRESHOLD_") || std::getenv("GLIBC_TUNABLES"))
    GTEST_SKIP() << "malloc is configured by this environment";
  setenv("MMDG_KEEP_MALLOC_DEFAULT", "1", 1);
  EXPECT_FALSE(keep_freed_memory());  // the user's choice wins
  unsetenv("MMDG_KEEP_MALLOC_DEFAULT");
  EXPECT_TRUE(keep_freed_memory());
  EXPECT_NE(threading_summary().find("malloc: allocations up to 32 MiB"), std::string::npos) << threading_summary();
#else
  EXPECT_FALSE(keep_freed_memory());
#endif
}

TEST(Runtime, CudaNumericsSwitches) {
  auto& context = at::globalContext();
  const bool algorithms = context.deterministicAlgorithms(), cudnn = context.deterministicCuDNN();
  const auto precision = context.float32MatmulPrecision();
  configure_numerics(/*cuda=*/false, /*deterministic=*/true, /*tf32=*/false);  // a CPU run: nothing changes
  EXPECT_EQ(context.deterministicAlgorithms(), algorithms);
  EXPECT_EQ(context.float32MatmulPrecision(), precision);
  configure_numerics(/*cuda=*/true, /*deterministic=*/true, /*tf32=*/false);
  EXPECT_TRUE(context.deterministicAlgorithms());
  EXPECT_TRUE(context.deterministicCuDNN());
  EXPECT_FALSE(context.benchmarkCuDNN());
  EXPECT_FALSE(context.allowTF32CuDNN());
  EXPECT_EQ(context.float32MatmulPrecision(), at::Float32MatmulPrecision::HIGHEST);
  ASSERT_NE(std::getenv("CUBLAS_WORKSPACE_CONFIG"), nullptr);
  configure_numerics(/*cuda=*/true, /*deterministic=*/false, /*tf32=*/true);
  EXPECT_EQ(context.float32MatmulPrecision(), at::Float32MatmulPrecision::HIGH);
  EXPECT_TRUE(context.allowTF32CuDNN());
  context.setDeterministicAlgorithms(algorithms, false);  // leave the process as found
  context.setDeterministicCuDNN(cudnn);
  context.setFloat32MatmulPrecision(precision == at::Float32MatmulPrecision::HIGHEST ? "highest" : "high");
}

}  // namespace
}  // namespace mmdg
