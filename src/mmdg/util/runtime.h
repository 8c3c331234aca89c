// Process-wide runtime settings: LibTorch's thread count and facts about the linked libraries.
#pragma once
#include <string>

namespace mmdg {

// Sets LibTorch's intra-op thread count; n <= 0 means "all cores". Returns the count set.
int set_threads(int n);

// LibTorch's OpenMP workers (libgomp) spin-wait between parallel regions unless
// OMP_WAIT_POLICY=PASSIVE; spinning, they take the cores from OpenBLAS's own threads and from any
// other process (measured: 2-3x slower on 2 cores, and a collapse under a competing process).
// libgomp reads the variable once, when it is loaded, before main() runs, so the policy must be
// in the environment when the program starts. Call this first thing in main(): when
// OMP_WAIT_POLICY is unset, it sets it to PASSIVE and re-executes the program with the same
// arguments; it returns when the variable was already set (by the user, or by that re-execution)
// or when the re-execution failed (then the program runs with libgomp's default).
// MMDG_KEEP_OMP_DEFAULT (any value) keeps libgomp's default, for comparisons.
void use_passive_openmp_wait(char** argv);

// The threading setup: intra-op threads, OpenMP wait policy and who set it, BLAS threads.
std::string threading_summary();

// The shared library that provides the BLAS routine sgemm_ (e.g. OpenBLAS or the reference BLAS),
// as a resolved path, or "" when it cannot be determined.
std::string blas_library();

// True when blas_library() looks like the slow reference (netlib) BLAS.
bool blas_is_reference();

// One-paragraph description: versions, threads, BLAS, devices.
std::string runtime_summary();

}  // namespace mmdg
