#!/usr/bin/env bash
# Installs the build into a temporary prefix, builds examples/consumer against it with
# find_package(mmdg), trains a tiny checkpoint with the installed mmdg, and checks that the
# consumer's score and decision equal `mmdg predict`'s on the same sample.
# Usage: install_consumer.sh BUILD_DIR SOURCE_DIR GOLDEN_DATA_DIR [BUILD_TYPE]
set -euo pipefail
build=$1 source=$2 data=$3 type=${4:-Release}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" > "$tmp/install.log"
test -f "$tmp/prefix/lib/cmake/mmdg/mmdgConfig.cmake"
test -f "$tmp/prefix/include/mmdg/infer/predictor.h"
launcher=()
command -v ccache > /dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S "$source/examples/consumer" -B "$tmp/consumer" -DCMAKE_PREFIX_PATH="$tmp/prefix" -DCMAKE_BUILD_TYPE="$type" \
      "${launcher[@]}" > "$tmp/configure.log" || { cat "$tmp/configure.log"; exit 1; }
cmake --build "$tmp/consumer" > "$tmp/build.log" 2>&1 || { cat "$tmp/build.log"; exit 1; }
mmdg="$tmp/prefix/bin/mmdg"
"$mmdg" --threads 2 synth --out "$tmp/synth" --subjects 3 --frames 1 --image-size 32 > /dev/null
"$mmdg" --threads 2 train --config mmdg_tiny --pretrained "$data/vit_tiny_torchvision.pth" \
  --train "$tmp/synth/C-train.txt,$tmp/synth/S-train.txt" --val "$tmp/synth/W-val.txt" --data-root "$tmp/synth" \
  --normalization half --batch-size 8 --workers 1 --epochs 1 --steps-per-epoch 2 --out "$tmp/run" > /dev/null
sample=("$tmp/synth/W/test/002_0_live/rgb/0000.jpg" "$tmp/synth/W/test/002_0_live/depth/0000.jpg" "$tmp/synth/W/test/002_0_live/ir/0000.jpg")
got=$("$tmp/consumer/score_face" "$tmp/run/best.safetensors" "${sample[@]}")
want=$("$mmdg" predict --checkpoint "$tmp/run/best.safetensors" --rgb "${sample[0]}" --depth "${sample[1]}" --ir "${sample[2]}" \
        --estimator expected --json)
echo "consumer: $got"
echo "mmdg predict: $want"
field() { grep "\"$1\"" <<< "$2" | head -1 | sed 's/.*: *//; s/[",]//g'; }
for key in live_probability decision threshold; do
  a=$(field "$key" "$got") b=$(field "$key" "$want")
  [[ -n "$a" && "$a" == "$b" ]] || { echo "FAIL: $key differs: consumer '$a', mmdg predict '$b'"; exit 1; }
done
grep -q '"normalization": "half"' <<< "$want" || { echo "FAIL: predict did not use the stored normalization"; exit 1; }
echo "install_consumer: ok"
