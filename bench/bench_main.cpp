// Google Benchmark entry point. Thread count: MMDG_THREADS (default: all cores).
#include <benchmark/benchmark.h>

#include <cstdlib>

#include "mmdg/util/runtime.h"

int main(int argc, char** argv) {
  mmdg::use_passive_openmp_wait(argv);  // the program's default setup (OMP_WAIT_POLICY=PASSIVE)
  mmdg::keep_freed_memory();             // and its malloc settings
  const char* env = std::getenv("MMDG_THREADS");
  mmdg::set_threads(env ? std::atoi(env) : 0);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
