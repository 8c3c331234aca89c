#!/usr/bin/env bash
# Builds mmdg and runs the whole test suite:
#   1. the Release build's CTest suite (unit tests against golden files, CLI checks);
#   2. the file-format parsers and their tests again under AddressSanitizer + UBSan
#      (build-asan/, only the io library, so it stays quick).
# Environment: JOBS (default: all cores), SKIP_ASAN=1 to skip step 2.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${JOBS:-$(nproc)}
scripts/build.sh
(cd build && ctest --output-on-failure -j "$jobs")
if [[ "${SKIP_ASAN:-0}" != 1 ]]; then
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DMMDG_IO_ONLY=ON \
        -DMMDG_SANITIZE=address,undefined -DMMDG_USE_PCH=OFF
  cmake --build build-asan -j "$jobs"
  # LibTorch itself is not instrumented; its one-time allocations are not leaks of ours.
  (cd build-asan && ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
     ctest --output-on-failure -L io -j "$jobs")
fi
echo "all tests passed"
