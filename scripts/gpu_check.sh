#!/usr/bin/env bash
# The GPU check (docs/gpu.md#the-gpu-check): on a machine with an NVIDIA GPU, a LibTorch 2.x with
# CUDA (a pip torch >= 2.7, or the cxx11-ABI archive) and the CUDA toolkit, but without Debian's
# libraries and without a network, builds mmdg against the bundle of scripts/gpu_bundle.sh and
# runs, each step under a time limit, what only a GPU can check:
#   machine   the GPU, driver, compilers, CMake
#   bundle    the .deb files unpacked into a private prefix (never into /); the shared libraries
#             the machine lacks are linked into <prefix>/runtime, which LD_LIBRARY_PATH names
#   configure against the machine's LibTorch and nvcc (TORCH_CUDA_ARCH_LIST from the GPU), Ninja,
#             without OpenCV, Gloo, pkg-config, Python, benchmarks (what the bundle leaves out)
#   build     the library, mmdg and mmdg_device_tests with every core
#   version   mmdg version, which must see the GPU; no library unresolved (ldd)
#   tests     mmdg_device_tests: every network's inference and a training step of every network
#             (and ReGrad's) on CUDA against the CPU, a deterministic run interrupted, resumed and
#             scored with a missing modality, resume.pt with the CUDA generator, host syncs per
#             step, the --device parser, the CUDA numerics switches; none may skip
#   launch    mmdg launch --nproc 1 -- train on CUDA (a tiny PADISI .npz set written with numpy)
#   bench     mmdg bench --device cuda: the paper's ViT-B/16 size at batch 32 in fp32 (TF32) and
#             bf16, then mmdg_mini at batch 8; a benchmark cut by the deadline is marked so
# It writes gpu_check.log and gpu_check.json (each step's status and seconds, the first failure
# named) to --out, and exits 1 at the first failure, naming the step.
#
# --dry-run does the same here, without a GPU: unpacks the bundle, configures and builds against it
# with the system's copies of the bundled packages hidden from CMake (and checks that CMake took the
# bundle's), then runs the steps on the CPU (the device tests with MMDG_TEST_DEVICE=cpu). A package
# missing from the bundle shows up here, not on the device.
#
# Usage: scripts/gpu_check.sh [--dry-run] [--bundle DIR] [--out DIR] [--torch LIBTORCH_ROOT]
#   --bundle  the folder of scripts/gpu_bundle.sh (default .gpu-deps)
#   --out     where the log and the summary go (default: the build folder)
#   --torch   the LibTorch (holding share/cmake/Torch); default $TORCH_ROOT, else the CMake prefix
#             of python3's torch, else /opt/libtorch or /usr/local/libtorch; the dry run takes the
#             system's (Debian's libtorch-dev) unless given
# Environment: BUILD_DIR (default build-gpu, build-gpu-dry for --dry-run), JOBS (default: all
#   cores), TORCH_CUDA_ARCH_LIST (default: the GPU's compute capability), DEADLINE (seconds the
#   whole check may take, default 570: the benchmarks that would not fit are skipped, and said so).
set -euo pipefail
cd "$(dirname "$0")/.."
dry_run=0 bundle=.gpu-deps out="" torch_root=${TORCH_ROOT:-}
while (($#)); do
  case $1 in
    --dry-run) dry_run=1; shift ;;
    --bundle) bundle=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --torch) torch_root=$2; shift 2 ;;
    -h|--help) sed -n '2,35p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "gpu_check: unknown argument '$1' (--dry-run, --bundle DIR, --out DIR, --torch DIR)" >&2; exit 2 ;;
  esac
done
if ((dry_run)); then build_dir=${BUILD_DIR:-build-gpu-dry}; device=cpu; else build_dir=${BUILD_DIR:-build-gpu}; device=cuda; fi
out=${out:-$build_dir}
jobs=${JOBS:-$(nproc)}
deadline=${DEADLINE:-570}
mkdir -p "$build_dir" "$out"
build_dir=$(cd "$build_dir" && pwd) out=$(cd "$out" && pwd)
exec > >(tee "$out/gpu_check.log") 2>&1
started=$(date +%s)

# ---- steps, their times and the summary -------------------------------------------------------
current="" step_start=0 steps="" facts=""
elapsed() { echo $(($(date +%s) - started)); }
left() { echo $((deadline - $(elapsed))); }
fact() { facts+="${facts:+, }\"$1\": $(json_string "$2")"; }  # a key and a text for the summary
json_string() { "${python:-python3}" -c 'import json, sys; print(json.dumps(sys.argv[1]))' "$1"; }
write_summary() {  # write_summary RESULT [FAILED_STEP]
  local failed=${2:-}
  printf '{"result": "%s", "dry_run": %s, "failed_step": %s, "seconds": %s, "steps": [%s], %s}\n' \
    "$1" "$( ((dry_run)) && echo true || echo false)" "$( [[ -n $failed ]] && json_string "$failed" || echo null)" \
    "$(elapsed)" "$steps" "${facts:-\"none\": null}" > "$out/gpu_check.json.partial"
  mv "$out/gpu_check.json.partial" "$out/gpu_check.json"
}
begin() { current=$1; step_start=$(date +%s); echo; echo "== $(date -u +%H:%M:%S) [$(elapsed) s] $1"; }
end() {  # end [STATUS] [NOTE]
  steps+="${steps:+, }{\"step\": \"$current\", \"status\": \"${1:-passed}\", \"seconds\": $(($(date +%s) - step_start))${2:+, \"note\": $(json_string "$2")}}"
  current=""
  write_summary running
}
on_exit() {
  local rc=$?
  if [[ -n $current ]]; then
    steps+="${steps:+, }{\"step\": \"$current\", \"status\": \"failed\", \"seconds\": $(($(date +%s) - step_start))}"
    write_summary failed "$current"
    echo "gpu_check: step '$current' failed (exit $rc); the log is $out/gpu_check.log" >&2
    exit 1
  fi
  exit "$rc"
}
trap on_exit EXIT
fail() { echo "gpu_check: $*" >&2; exit 1; }
# limit SECONDS CMD...: the command under `timeout`, within what is left of the deadline
limit() {
  local s=$1
  shift
  if ((dry_run)); then s=3600; else  # the dry run checks the build, not its time (2 cores here)
    local l
    l=$(left)
    ((l < s)) && s=$l
    ((s > 5)) || fail "out of time (DEADLINE=$deadline s) before: $*"
  fi
  timeout --kill-after=10 "$s" "$@"
}

# ---- machine ------------------------------------------------------------------------------------
begin machine
echo "$(uname -srm); $(nproc) cores; $( (. /etc/os-release && echo "$PRETTY_NAME") 2>/dev/null || echo 'unknown OS')"
fact os "$( (. /etc/os-release && echo "$PRETTY_NAME") 2>/dev/null || echo unknown)"
if ((dry_run)); then
  echo "dry run: no GPU needed; the device tests compare the CPU with itself"
else
  command -v nvidia-smi >/dev/null || fail "nvidia-smi not found: this check needs an NVIDIA GPU and its driver"
  gpu=$(nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv,noheader) ||
    fail "nvidia-smi cannot query a GPU"
  echo "$gpu"
  fact gpu "$gpu"
  if [[ -z "${TORCH_CUDA_ARCH_LIST:-}" ]]; then
    TORCH_CUDA_ARCH_LIST=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | sort -u | paste -sd';')
  fi
  export TORCH_CUDA_ARCH_LIST
  echo "TORCH_CUDA_ARCH_LIST=$TORCH_CUDA_ARCH_LIST"
  if ! command -v nvcc >/dev/null && [[ -x /usr/local/cuda/bin/nvcc ]]; then export PATH=/usr/local/cuda/bin:$PATH; fi
  command -v nvcc >/dev/null || fail "nvcc not found (a CUDA LibTorch's CMake package needs the CUDA toolkit)"
  export CUDACXX=${CUDACXX:-$(command -v nvcc)}
  nvcc --version | tail -n 2
  fact nvcc "$(nvcc --version | grep -o 'release [0-9.]*' || true)"
fi
# a python3 with numpy (the summary, the tests' report, the launch step's data): the PATH's, else the system's
python=""
for candidate in python3 /usr/bin/python3; do
  if command -v "$candidate" >/dev/null && "$candidate" -c 'import numpy' 2>/dev/null; then python=$(command -v "$candidate"); break; fi
done
[[ -n $python ]] || fail "no python3 with numpy found"
echo "Python: $python"
cxx=${CXX:-$(command -v g++ || command -v c++ || true)}
[[ -n $cxx ]] || fail "no C++ compiler (g++ or c++) on the PATH"
echo "C++: $("$cxx" --version | head -n 1)"
fact cxx "$("$cxx" --version | head -n 1)"
command -v cmake >/dev/null || fail "cmake not found"
echo "$(cmake --version | head -n 1)"
generator=()
if command -v ninja >/dev/null; then generator=(-G Ninja); echo "ninja $(ninja --version)"; fi
end

# ---- bundle -------------------------------------------------------------------------------------
begin bundle
[[ -f "$bundle/MANIFEST" ]] || fail "no bundle in '$bundle' (make it with scripts/gpu_bundle.sh, carry the folder)"
prefix=$build_dir/deps
rm -rf "$prefix"
mkdir -p "$prefix"
for deb in "$bundle"/*.deb; do
  if command -v dpkg-deb >/dev/null; then
    dpkg-deb -x "$deb" "$prefix"
  else  # no dpkg: a .deb is an ar archive holding data.tar.{xz,zst,gz}
    member=$(ar t "$deb" | grep '^data\.tar')
    case $member in
      *.xz) ar p "$deb" "$member" | tar -xJ -C "$prefix" ;;
      *.zst) ar p "$deb" "$member" | zstd -dc | tar -x -C "$prefix" ;;
      *.gz) ar p "$deb" "$member" | tar -xz -C "$prefix" ;;
      *) fail "$deb: unknown data member '$member'" ;;
    esac
  fi
done
# Absolute links (zlib's libz.so -> /lib/x86_64-linux-gnu/libz.so.1...) point into the prefix.
while IFS= read -r link; do
  target=$(readlink "$link")
  [[ $target == /* ]] && ln -sfn "$prefix$target" "$link"
done < <(find "$prefix" -type l)
# The bundle's shared libraries that this machine's loader does not know, by soname.
mkdir -p "$prefix/runtime"
missing=()
known=$( (ldconfig -p 2>/dev/null || true) | awk 'NR > 1 {print $1}')
while IFS= read -r lib; do
  soname=$(readelf -d "$lib" 2>/dev/null | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
  [[ -n $soname ]] || continue
  if ! grep -qxF "$soname" <<<"$known"; then
    ln -sfn "$lib" "$prefix/runtime/$soname"
    missing+=("$soname")
  fi
done < <(find "$prefix/usr/lib" "$prefix/lib" -type f -name 'lib*.so*' 2>/dev/null | sort)
export LD_LIBRARY_PATH=$prefix/runtime${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
echo "$(find "$bundle" -name '*.deb' | wc -l) packages unpacked into $prefix; from the bundle at run time: ${missing[*]:-none}"
fact bundle_libraries_used "${missing[*]:-none}"
end

# ---- configure ----------------------------------------------------------------------------------
begin configure
if [[ -z "$torch_root" ]] && ((!dry_run)) && command -v python3 >/dev/null; then
  torch_prefix=$(python3 -c 'import torch.utils; print(torch.utils.cmake_prefix_path)' 2>/dev/null || true)
  [[ -n "$torch_prefix" ]] && torch_root=$(cd "$torch_prefix/../.." && pwd)
fi
if ((!dry_run)); then
  for candidate in /opt/libtorch /usr/local/libtorch; do
    [[ -z "$torch_root" && -d "$candidate" ]] && torch_root=$candidate
  done
  [[ -n "$torch_root" && -d "$torch_root/share/cmake/Torch" ]] ||
    fail "no LibTorch found (--torch DIR: the folder holding share/cmake/Torch)"
  [[ -e "$torch_root/lib/libtorch_cuda.so" ]] || fail "$torch_root is a LibTorch without CUDA (no lib/libtorch_cuda.so)"
fi
echo "LibTorch: ${torch_root:-the system one (find_package)}"
prefix_path="$prefix/usr"
[[ -n "$torch_root" ]] && prefix_path+=";$torch_root"
hide=()
if ((dry_run)); then  # the CMake packages of the system copies hidden (headers and libraries: checked below)
  arch_lib=/usr/lib/$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
  hide=(-DCMAKE_IGNORE_PATH="$arch_lib/cmake/spdlog;$arch_lib/cmake/fmt;$arch_lib/cmake/GTest;$arch_lib/cmake/libzip;/usr/share/cmake/nlohmann_json;/usr/share/cmake/CLI11;/usr/lib/cmake/CLI11;$arch_lib/cmake/nlohmann_json")
fi
rm -f "$build_dir/CMakeCache.txt"  # found anew each time (a fresh machine's configure); objects are kept
# CMake 4 refuses packages declaring cmake_minimum_required below 3.5; this keeps older ones loading
export CMAKE_POLICY_VERSION_MINIMUM=3.5
limit 240 cmake -S . -B "$build_dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER="$cxx" \
  -DCMAKE_PREFIX_PATH="$prefix_path" -DCMAKE_DISABLE_FIND_PACKAGE_PkgConfig=ON -DMMDG_WITH_OPENCV=OFF \
  -DMMDG_WITH_GLOO=OFF -DMMDG_WITH_PYTHON=OFF -DMMDG_BUILD_BENCH=OFF "${hide[@]}"
if ((dry_run)); then  # every bundled package came from the prefix
  for var in spdlog_DIR fmt_DIR GTest_DIR nlohmann_json_DIR CLI11_DIR ZLIB_INCLUDE_DIR ZLIB_LIBRARY_RELEASE MMDG_LIBZIP_LIBRARY MMDG_LIBZIP_INCLUDE_DIR; do
    value=$(grep -m1 "^$var:" "$build_dir/CMakeCache.txt" | cut -d= -f2- || true)
    [[ $value == "$prefix"/* ]] || fail "$var is '$value', not from the bundle ($prefix): a package the bundle lacks"
  done
  echo "every bundled package was taken from $prefix"
fi
end

# ---- build --------------------------------------------------------------------------------------
begin "build ($jobs jobs)"
build_start=$(date +%s)
limit 480 cmake --build "$build_dir" -j "$jobs" --target mmdg mmdg_device_tests
fact build_seconds "$(($(date +%s) - build_start))"
end

mmdg=$build_dir/mmdg
begin version
"$mmdg" version
fact mmdg_version "$("$mmdg" version | head -n 3 | paste -sd';')"
for binary in "$mmdg" "$build_dir/mmdg_device_tests"; do
  if ldd "$binary" | grep "not found"; then fail "$binary: libraries not found (above)"; fi
done
if ((!dry_run)); then "$mmdg" version | grep -q "^CUDA: [0-9]" || fail "this build of mmdg sees no CUDA device"; fi
end

# ---- tests --------------------------------------------------------------------------------------
begin "device tests"
test_env=()
((dry_run)) && test_env=(MMDG_TEST_DEVICE=cpu)
limit 240 env "${test_env[@]}" "$build_dir/mmdg_device_tests" --gtest_color=no --gtest_output="json:$out/device_tests.json"
if ((!dry_run)); then  # on a GPU nothing may skip: a skip there means the CUDA path did not run
  skipped=$("$python" -c 'import json, sys
r = json.load(open(sys.argv[1]))
print(" ".join(s["name"] + "." + t["name"] for s in r["testsuites"] for t in s["testsuite"] if t.get("result") == "SKIPPED"))' \
    "$out/device_tests.json")
  [[ -z "$skipped" ]] || fail "skipped on a GPU: $skipped"
fi
end

# ---- launch -------------------------------------------------------------------------------------
begin "launch (train on $device)"
data=$build_dir/tiny_npz
"$python" - "$data" <<'EOF'
# A tiny PADISI-format set (docs/formats.md): "data" float32 (1, 22, 32, 32) in [0, 1], channels
# 0-2 BGR, 3 NIR, 4 depth; lists "name.npz<TAB>label" (1 live, 0 spoof); live samples brighter.
import os, sys
import numpy as np
root = sys.argv[1]
rng = np.random.default_rng(0)
for d, (name, split) in enumerate([("A", "train"), ("B", "train"), ("C", "val")]):
    os.makedirs(os.path.join(root, name), exist_ok=True)
    lines = []
    for i in range(16):
        label = i % 2
        data = np.zeros((1, 22, 32, 32), np.float32)
        data[0, :5] = np.clip(0.3 + 0.1 * d + 0.25 * label + 0.15 * rng.standard_normal((5, 32, 32)), 0, 1)
        file = f"{name}/s{i}.npz"
        np.savez_compressed(os.path.join(root, file), data=data)
        lines.append(f"{file}\t{label}\n")
    with open(os.path.join(root, f"{name}-{split}.txt"), "w") as f:
        f.writelines(lines)
EOF
rm -rf "$build_dir/launch_run"
limit 150 "$mmdg" launch --nproc 1 -- train --config mmdg_tiny --device "$device" --train "$data/A-train.txt,$data/B-train.txt" \
  --val "$data/C-val.txt" --data-root "$data" --epochs 2 --steps-per-epoch 3 --batch-size 8 --out "$build_dir/launch_run"
[[ -f "$build_dir/launch_run/last.safetensors" ]] || fail "the launched run wrote no last.safetensors"
end

# ---- bench --------------------------------------------------------------------------------------
bench() {  # bench NAME SECONDS mmdg-bench-arguments: at most SECONDS, cut at the deadline
  local name=$1 seconds=$2 rc=0
  shift 2
  begin "bench $name"
  if ((!dry_run && $(left) < 30)); then
    echo "skipped: $(left) s left of DEADLINE=$deadline"
    end skipped "out of time"
    return
  fi
  limit "$seconds" "$mmdg" bench --device "$device" "$@" --json > "$out/bench_$name.json" || rc=$?
  if ((rc == 124 || rc == 137)); then  # the deadline (or its own limit) cut it: said, not a failure
    echo "timed out after its limit or at DEADLINE=$deadline"
    end "timed out" "cut at its limit or the deadline"
    return
  fi
  ((rc == 0)) || fail "mmdg bench exited with $rc"
  cat "$out/bench_$name.json"
  end
}
if ((dry_run)); then
  bench mini_b2 120 --config mmdg_tiny --batch 2 --repeats 1 --warmup 0
else  # the paper's size first: its GPU timings are what the project lacks
  bench b16_b32_fp32 120 --config mmdg_b16 --batch 32 --repeats 3 --warmup 2 --precision fp32
  bench b16_b32_bf16 120 --config mmdg_b16 --batch 32 --repeats 3 --warmup 2 --precision bf16
  bench mini_b8 60 --config mmdg_mini --batch 8 --repeats 5 --warmup 2
fi

write_summary passed
echo
echo "gpu_check: passed in $(elapsed) s; summary $out/gpu_check.json"
