#!/usr/bin/env bash
# Compiles mmdg's sources, syntax only, against the headers of a LibTorch 2.x, so that the code
# paths for LibTorch 2 (fused attention, the autocast API of 2.4 and later) and whatever 2.x
# removed or deprecated show up here, on a machine whose LibTorch is Debian's 1.13. Nothing is
# linked or run: what only a GPU machine can confirm is listed in docs/gpu.md.
#
# The headers are Debian trixie's libtorch-dev (2.6), downloaded with a private apt state (the
# system's sources and package lists are not touched) into .torch2/ (ignored by git), once.
# Deprecation warnings count as failures. OpenCV, spdlog, nlohmann-json, CLI11 and GoogleTest come
# from the system (scripts/setup.sh). About 10 to 20 s per file on 2 busy cores, after a precompiled header.
#
# Usage: scripts/torch2_check.sh [--all | FILE.cpp ...]
#   default: the sources a GPU build compiles (the library, the front ends, the device tests);
#   --all: every .cpp of src/ and bench/, the tests too
# Environment: JOBS (default: all cores).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=.torch2
jobs=${JOBS:-$(nproc)}
headers=$dir/root/usr/include
version_h=$headers/torch/csrc/api/include/torch/version.h
if [[ ! -f "$version_h" ]]; then
  mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial" "$dir/root"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main" > "$dir/sources.list"
  apt=(-oDir::Etc::SourceList="$PWD/$dir/sources.list" -oDir::Etc::SourceParts=/nonexistent -oDir::State::Lists="$PWD/$dir/lists"
       -oDir::Cache="$PWD/$dir/cache" -oAPT::Architecture=amd64 -oAPT::Architectures=amd64)
  apt-get "${apt[@]}" update >/dev/null || { echo "torch2_check: cannot read trixie's package list from deb.debian.org" >&2; exit 1; }
  (cd "$dir" && apt-get "${apt[@]}" download libtorch-dev 2> >(grep -v "unsandboxed as root" >&2))
  dpkg-deb -x "$dir"/libtorch-dev_*.deb "$dir/root"
fi
version=$(awk '/define TORCH_VERSION_(MAJOR|MINOR|PATCH)/ {v = v (v == "" ? "" : ".") $3} END {print v}' "$version_h")
echo "torch2_check: LibTorch $version headers in $headers"
# the build's generated headers (build_info.h), from a configured build/ or made here
generated=build/generated
if [[ ! -f $generated/mmdg/util/build_info.h ]]; then
  generated=$dir/generated
  mkdir -p "$generated/mmdg/util"
  sed 's/@[A-Za-z_]*@/0/g' src/mmdg/util/build_info.h.in > "$generated/mmdg/util/build_info.h"
fi
flags=(-std=c++17 -D_GLIBCXX_USE_CXX11_ABI=1 -Wall -Wextra -Werror=deprecated-declarations -DMMDG_HAVE_OPENCV
       -DMMDG_HAVE_OBJDETECT -DMMDG_HAVE_VIDEOIO -DMMDG_HAVE_HDF5 -DMMDG_HAVE_PLPLOT -DMMDG_WITH_GLOO -DMMDG_HAVE_SERVE
       -isystem "$headers" -isystem "$headers/torch/csrc/api/include" -isystem /usr/include/opencv4
       -isystem /usr/include/hdf5/serial -isystem /usr/include/plplot -Isrc -I"$generated")
python_include=$(/usr/bin/python3 -c 'import sysconfig; print(sysconfig.get_paths()["include"])' 2>/dev/null || true)
[[ -n $python_include ]] && flags+=(-isystem "$python_include")  # the Python module (pybind11)
# the precompiled torch headers every file includes first (as the build's PCH does)
pch=$dir/pch/mmdg_pch.h
if [[ ! -f $pch.gch || src/mmdg/pch.h -nt $pch.gch ]]; then
  mkdir -p "$dir/pch"
  cp src/mmdg/pch.h "$pch"
  g++ "${flags[@]}" -x c++-header "$pch" -o "$pch.gch"
fi
files=()
if [[ ${1:-} == --all ]]; then
  mapfile -t files < <(find src bench -name '*.cpp' | sort)
elif (($#)); then
  files=("$@")
else  # what a GPU build compiles: the library, the front ends and the device tests
  mapfile -t files < <(find src bench -name '*.cpp' ! -name '*_test.cpp' | sort; sed -n '/mmdg_add_test_binary(mmdg_device_tests/,/)/p' CMakeLists.txt | grep -o 'src/[^ )]*_test\.cpp')
fi
log=$dir/check.log
: > "$log"
check() {  # one file; its diagnostics into the log
  local f=$1 diagnostics
  diagnostics=$(g++ "${flags[@]}" -include "$pch" -fsyntax-only "$f" 2>&1) || {
    printf '== %s\n%s\n' "$f" "$diagnostics" >> "$log"
    echo "FAILED $f"
    return 0
  }
  if [[ -n $diagnostics ]]; then
    printf '== %s (warnings)\n%s\n' "$f" "$diagnostics" >> "$log"
    echo "warned $f"
  fi
}
export -f check
export dir pch log
failed=$(printf '%s\n' "${files[@]}" | FLAGS="${flags[*]}" xargs -P "$jobs" -I{} bash -c '
  flags=($FLAGS); check "$1"' _ {} | tee /dev/stderr | grep -c "^FAILED" || true)
echo "torch2_check: ${#files[@]} files against LibTorch $version, $failed failed (diagnostics: $log)"
((failed == 0))
