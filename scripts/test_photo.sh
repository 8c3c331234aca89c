#!/usr/bin/env bash
# Puts a real photograph for the face-detection tests at tests/.photos/astronaut.png (ignored by
# git): scikit-image's public-domain NASA portrait of Eileen Collins, taken from Debian's
# python3-skimage package without installing it (apt-get download + dpkg-deb). The tests skip
# face detection on a real photograph when it is absent (e.g. offline).
set -euo pipefail
cd "$(dirname "$0")/.."
out=tests/.photos
[[ -f "$out/astronaut.png" ]] && exit 0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! (cd "$tmp" && apt-get download python3-skimage > /dev/null 2>&1); then
  echo "test_photo: could not download python3-skimage (offline?); the real-photograph tests will skip" >&2
  exit 0
fi
dpkg-deb --fsys-tarfile "$tmp"/python3-skimage_*.deb |
  tar -x -C "$tmp" ./usr/lib/python3/dist-packages/skimage/data/astronaut.png
mkdir -p "$out"
mv "$tmp/usr/lib/python3/dist-packages/skimage/data/astronaut.png" "$out/astronaut.png"
echo "test_photo: wrote $out/astronaut.png"
