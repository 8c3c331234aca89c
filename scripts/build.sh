#!/usr/bin/env bash
# Configures and builds mmdg in build/ (Release). Extra arguments go to cmake's configure step,
# e.g. scripts/build.sh -DCMAKE_PREFIX_PATH=/opt/libtorch  (a LibTorch 2.x, for CUDA).
# Environment: BUILD_DIR (default build), JOBS (default: all cores).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
jobs=${JOBS:-$(nproc)}
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release "$@"
cmake --build "$build_dir" -j "$jobs"
