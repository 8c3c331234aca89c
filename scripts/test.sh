#!/usr/bin/env bash
# Builds mmdg and runs the whole test suite:
#   1. the Release build's CTest suite (unit tests against golden files, CLI checks);
#   2. under clang's AddressSanitizer + UBSan (build-fuzz/: the layers up to eval, no OpenCV): the
#      file-format tests again, every committed fuzzing corpus file replayed through its libFuzzer
#      harness, and a short fuzzing run per harness (fuzz/README.md).
# Environment: JOBS (default: all cores), SKIP_ASAN=1 to skip step 2, FUZZ_SECONDS (default 15).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${JOBS:-$(nproc)}
scripts/build.sh
(cd build && ctest --output-on-failure -j "$jobs")
if [[ "${SKIP_ASAN:-0}" != 1 ]]; then
  cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DMMDG_FUZZ=ON -DMMDG_SANITIZE=address,undefined -DMMDG_FUZZ_SECONDS="${FUZZ_SECONDS:-15}"
  cmake --build build-fuzz -j "$jobs"
  # LibTorch itself is not instrumented; its one-time allocations are not leaks of ours.
  (cd build-fuzz && ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
     ctest --output-on-failure -L 'io|fuzz' -j "$jobs")
fi
echo "all tests passed"
