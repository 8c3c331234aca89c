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

// glibc's malloc gives every allocation above a threshold (128 KiB, adapting upwards only to the
// largest block freed) its own pages from the kernel and returns them when freed, and gives back
// free memory at the top of the heap above 128 KiB: a network's activations and LibTorch's
// temporaries are new pages, faulted in one by one, at every operation. Measured on 2 cores
// (docs/performance.md): scoring a batch of 8 or 32 with the Predictor took 1.5-1.8x as long per
// sample. This keeps allocations up to 32 MiB in the heap and up to 256 MiB of free memory
// (mallopt M_MMAP_THRESHOLD, M_TRIM_THRESHOLD). Skipped when the user chose: MALLOC_MMAP_THRESHOLD_,
// MALLOC_TRIM_THRESHOLD_ or GLIBC_TUNABLES set, or MMDG_KEEP_MALLOC_DEFAULT (any value); and off
// glibc. Returns true when it changed the settings. The mmdg program and the Python module call it
// at start; a program that links the library may call it first thing in main().
bool keep_freed_memory();

// Makes LibTorch's operations in the calling thread (a data-loading worker) run single-threaded:
// with OpenMP each thread that enters a parallel region gets its own team of the full intra-op
// count, so W workers would run W x T threads beside the training's T. Other threads keep theirs.
// Returns the calling thread's OpenMP team size afterwards (1; 0 when OpenMP is not in use).
int use_one_intra_op_thread_here();

// The calling thread's OpenMP team size for its next parallel region (0 when OpenMP is not in use).
int intra_op_threads_here();

// The threading setup: intra-op threads, OpenMP wait policy and who set it, BLAS threads, and
// whether keep_freed_memory() changed malloc's settings.
std::string threading_summary();

// The shared library that provides the BLAS routine sgemm_ (e.g. OpenBLAS or the reference BLAS),
// as a resolved path, or "" when it cannot be determined.
std::string blas_library();

// True when blas_library() looks like the slow reference (netlib) BLAS.
bool blas_is_reference();

// The BLAS LibTorch computes with, as LibTorch reports it: MKL when the archive bundles it
// (at::hasMKL(); its sgemm_ is then not the one dlsym finds), else the library that provides
// sgemm_, with LibTorch's own build setting (BLAS_INFO of at::show_config()) beside it.
std::string blas_summary();

// Process-wide numerics of a run on `cuda` (false: CPU, where nothing changes).
//   deterministic: deterministic algorithms (an operation without a deterministic implementation
//     stops the run, naming it), cuDNN deterministic and not benchmarking, and cuBLAS's workspace
//     setting (CUBLAS_WORKSPACE_CONFIG=:4096:8 unless already set; it must be set before the first
//     cuBLAS call, so call this before any CUDA work). Together with the saved generator states this
//     makes a resumed GPU run repeat the uninterrupted one bit for bit.
//   tf32: float32 matrix products and convolutions on TF32 tensor cores (Ampere and newer;
//     setFloat32MatmulPrecision("high")), ~10 bits of mantissa in the products; off = full float32.
void configure_numerics(bool cuda, bool deterministic, bool tf32);

// One-paragraph description: versions, threads, BLAS, devices.
std::string runtime_summary();

}  // namespace mmdg
