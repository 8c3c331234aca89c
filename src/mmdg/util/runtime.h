// Process-wide runtime settings: LibTorch's thread count and facts about the linked libraries.
#pragma once
#include <string>

namespace mmdg {

// Sets LibTorch's intra-op thread count; n <= 0 means "all cores". Returns the count set.
int set_threads(int n);

// The shared library that provides the BLAS routine sgemm_ (e.g. OpenBLAS or the reference BLAS),
// as a resolved path, or "" when it cannot be determined.
std::string blas_library();

// True when blas_library() looks like the slow reference (netlib) BLAS.
bool blas_is_reference();

// One-paragraph description: versions, threads, BLAS, devices.
std::string runtime_summary();

}  // namespace mmdg
