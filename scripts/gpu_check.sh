#!/usr/bin/env bash
# The GPU check: on a machine with an NVIDIA GPU, builds mmdg against a LibTorch 2.x with CUDA
# (the cxx11-ABI archive or a pip torch >= 2.7) and runs, in one go, what only a GPU can check:
#   1. the suite's CUDA tests (they skip without a GPU): a training step of every strategy with its
#      host-sync count, resume.pt round trips with the CUDA generator and map-located moments, a
#      deterministic interrupted run resumed to the same weights, a checkpoint scored with a missing
#      modality on the GPU against the CPU, the --device parser, the CUDA numerics switches;
#   2. `mmdg version` and `mmdg bench --device cuda` at the mini size and at the paper's ViT-B/16
#      size, in float32 (TF32 matmuls) and bf16.
# Usage: scripts/gpu_check.sh [LIBTORCH_ROOT]
#   LIBTORCH_ROOT: the unpacked archive (holding lib/ and share/cmake/Torch); default $TORCH_ROOT,
#   else the CMake prefix of the python3 torch, else /opt/libtorch or /usr/local/libtorch.
# Environment: BUILD_DIR (default build-gpu), JOBS (default: all cores), TORCH_CUDA_ARCH_LIST
#   (default: the GPU's compute capability), SKIP_B16=1 to leave out the ViT-B/16 benchmark.
# Everything printed is also written to $BUILD_DIR/gpu_check.log. Sized for ten minutes on a
# 16-core machine with the build's ccache cold; the configure needs the CUDA toolkit (nvcc) the
# LibTorch was built with, and Debian's OpenCV, GoogleTest, CLI11, nlohmann-json, spdlog, libzip.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build-gpu}
jobs=${JOBS:-$(nproc)}
mkdir -p "$build_dir"
exec > >(tee "$build_dir/gpu_check.log") 2>&1
step() { echo; echo "== $(date -u +%H:%M:%S) $*"; }
fail() { echo "gpu_check: $*" >&2; exit 1; }

step "GPU and driver"
command -v nvidia-smi >/dev/null || fail "nvidia-smi not found: this check needs an NVIDIA GPU and its driver"
nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv,noheader \
  || fail "nvidia-smi cannot query a GPU"

step "LibTorch"
root=${1:-${TORCH_ROOT:-}}
if [[ -z "$root" ]] && command -v python3 >/dev/null; then
  prefix=$(python3 -c 'import torch.utils; print(torch.utils.cmake_prefix_path)' 2>/dev/null || true)
  [[ -n "$prefix" ]] && root=$(cd "$prefix/../.." && pwd)
fi
for candidate in /opt/libtorch /usr/local/libtorch; do
  [[ -z "$root" && -d "$candidate" ]] && root=$candidate
done
[[ -n "$root" && -d "$root/share/cmake/Torch" ]] ||
  fail "no LibTorch found (pass its folder: scripts/gpu_check.sh /path/to/libtorch; it holds share/cmake/Torch)"
[[ -e "$root/lib/libtorch_cuda.so" ]] || fail "$root is a LibTorch without CUDA (no lib/libtorch_cuda.so)"
echo "LibTorch: $root ($(cat "$root/build-version" 2>/dev/null || echo 'version in the configure output'))"
if [[ -z "${TORCH_CUDA_ARCH_LIST:-}" ]]; then
  TORCH_CUDA_ARCH_LIST=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | sort -u | paste -sd';')
  export TORCH_CUDA_ARCH_LIST
fi
echo "TORCH_CUDA_ARCH_LIST=$TORCH_CUDA_ARCH_LIST"

step "configure and build (mmdg, mmdg_tests; $jobs jobs)"
cuda_args=()
if ! command -v nvcc >/dev/null && [[ -x /usr/local/cuda/bin/nvcc ]]; then
  cuda_args+=(-DCMAKE_CUDA_COMPILER=/usr/local/cuda/bin/nvcc)
fi
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$root" -DMMDG_BUILD_BENCH=OFF "${cuda_args[@]}"
cmake --build "$build_dir" -j "$jobs" --target mmdg mmdg_tests

mmdg="$build_dir/mmdg"
step "mmdg version"
"$mmdg" version
"$mmdg" version | grep -q "^CUDA: [0-9]" || fail "this build of mmdg sees no CUDA device"

step "the CUDA tests"
filter='*Cuda*:*CUDA*:HostSyncs.*:ResumeState.*:ParseDevice.*:Runtime.*:ClipGradientNorm.*'
"$build_dir/mmdg_tests" --gtest_filter="$filter" --gtest_color=no

step "mmdg bench --device cuda: mmdg_mini, batch 8"
timeout 180 "$mmdg" bench --device cuda --config mmdg_mini --batch 8 --repeats 5 --warmup 2
if [[ "${SKIP_B16:-0}" != 1 ]]; then
  for precision in fp32 bf16; do
    step "mmdg bench --device cuda: mmdg_b16 (the paper's), batch 32, $precision"
    timeout 240 "$mmdg" bench --device cuda --config mmdg_b16 --batch 32 --repeats 3 --warmup 2 --precision "$precision"
  done
fi
step "gpu_check: done"
