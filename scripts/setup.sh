#!/usr/bin/env bash
# Installs the Debian packages mmdg needs to build and test (needs root or sudo).
# Usage: scripts/setup.sh [--with-python]   (--with-python: also the packages the golden-file
#        script tests/golden/make_golden.py needs besides python3-torch; not needed to build or test)
set -euo pipefail
pkgs=(cmake g++ make ccache pkg-config
      libtorch-dev libopenblas0-pthread
      libopencv-core-dev libopencv-imgproc-dev libopencv-imgcodecs-dev
      libopencv-objdetect-dev libopencv-videoio-dev opencv-data
      libgtest-dev libgmock-dev libbenchmark-dev
      libgloo-dev libcli11-dev nlohmann-json3-dev libfmt-dev libspdlog-dev libzip-dev zlib1g-dev
      libplplot-dev plplot-driver-cairo  # figures: PNG, SVG, PDF (viz/plot)
      libhdf5-dev python3-h5py python3-numpy  # HDF5 datasets (WMCA); h5py writes the tests' HDF5 fixtures
      clang libclang-rt-dev  # clang + compiler-rt: the sanitizer and libFuzzer build of the tests
      python3-dev pybind11-dev python3-torch python3-pytest  # the Python module (import mmdg) and its tests
      libcpp-httplib-dev chromium)  # mmdg serve, and its page's test in a real browser
command -v npm >/dev/null || pkgs+=(npm)  # the browser test's driver (playwright-core), from npm
if [[ "${1:-}" == "--with-python" ]]; then
  pkgs+=(python3-torchvision python3-numpy python3-pil)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
photo="$(dirname "$0")/test_photo.sh"
browser() {  # the browser test's npm packages (tests/browser/package-lock.json), once
  local dir; dir="$(dirname "$0")/../tests/browser"
  [[ -d "$dir/node_modules/playwright-core" ]] && return 0
  npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error ||
    echo "setup: npm ci in tests/browser failed: the browser test will be skipped" >&2
}
if ((${#missing[@]} == 0)); then
  echo "setup: all ${#pkgs[@]} packages present"
  "$photo"
  browser
  exit 0
fi
echo "setup: installing ${missing[*]}"
SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "setup: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
"$photo"
browser
