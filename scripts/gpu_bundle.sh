#!/usr/bin/env bash
# The GPU check's dependency bundle: downloads (apt-get download, nothing installed) the Debian
# packages that `scripts/gpu_check.sh` builds mmdg with on a GPU machine that is not Debian and
# cannot download anything, into .gpu-deps/ (ignored by git), and prints what to give the device
# tool: the folder to carry and the one command to run.
#
# What the bundle holds (about 6 MiB): the headers and CMake files of nlohmann-json, spdlog + fmt,
# libzip, zlib, CLI11 and GoogleTest (a static library), the shared libraries mmdg links (spdlog,
# fmt, libzip) and theirs (GnuTLS, Nettle, ... for libzip), which gpu_check.sh uses only where the
# machine lacks them. Left out, and so left out of the GPU build: OpenCV (its image codecs pull in
# GDAL and some 200 MiB of libraries; without it mmdg reads PADISI .npz samples, not image files,
# and has no synth / predict / stress / demo commands), Gloo (its headers must be those of the
# Gloo inside the machine's LibTorch; one process per run), HDF5, PLplot, cpp-httplib, pybind11,
# Google Benchmark. The LibTorch and the CUDA toolkit are the machine's own.
#
# Usage: scripts/gpu_bundle.sh [--out DIR]   (default .gpu-deps)
set -euo pipefail
cd "$(dirname "$0")/.."
out=.gpu-deps
while (($#)); do
  case $1 in
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "gpu_bundle: unknown argument '$1' (--out DIR)" >&2; exit 2 ;;
  esac
done
# Headers and CMake packages the configure step finds (CMAKE_PREFIX_PATH=<prefix>/usr).
dev=(nlohmann-json3-dev libspdlog-dev libfmt-dev libzip-dev zlib1g-dev libcli11-dev libgtest-dev)
# Shared libraries: those the build links and, for libzip, the libraries it needs in turn.
runtime=(libspdlog1.10 libfmt9 libzip4 zlib1g libbz2-1.0 liblzma5 libzstd1 libgnutls30 libnettle8 libhogweed6 libgmp10
         libp11-kit0 libtasn1-6 libidn2-0 libunistring2 libffi8)
command -v apt-get >/dev/null || { echo "gpu_bundle: needs apt-get (a Debian machine, where scripts/setup.sh runs)" >&2; exit 1; }
rm -rf "$out.partial"
mkdir -p "$out.partial"
# apt-get download writes into the current folder; as root it warns that _apt cannot write there
(cd "$out.partial" && apt-get download "${dev[@]}" "${runtime[@]}" 2> >(grep -v "unsandboxed as root" >&2)) || {
  echo "gpu_bundle: apt-get download failed (run 'apt-get update' first, or check the network to the Debian mirror)" >&2
  exit 1
}
count=$(find "$out.partial" -name '*.deb' | wc -l)
((count == ${#dev[@]} + ${#runtime[@]})) || { echo "gpu_bundle: expected $((${#dev[@]} + ${#runtime[@]})) packages, got $count" >&2; exit 1; }
{
  echo "# mmdg GPU-check bundle, made $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(. /etc/os-release && echo "$PRETTY_NAME")"
  echo "# dev: ${dev[*]}"
  echo "# runtime: ${runtime[*]}"
  (cd "$out.partial" && sha256sum -- *.deb)
} > "$out.partial/MANIFEST"
rm -rf "$out"
mv "$out.partial" "$out"
size=$(du -sm "$out" | cut -f1)
echo "gpu_bundle: $count packages, ${size} MiB in $out/ (MANIFEST lists them)"
if ((size > 40)); then echo "gpu_bundle: over the 40 MiB budget" >&2; exit 1; fi
cat <<EOF

On a lent GPU (the device tool's run), carry ["$out"] and run:
  bash scripts/gpu_check.sh --bundle $out --out "\$OUT"
with timeout_s 590. It writes gpu_check.log and gpu_check.json to \$OUT.
Here, first (builds what the device builds, against the bundle, without a GPU):
  scripts/gpu_check.sh --dry-run --bundle $out
EOF
