#!/usr/bin/env bash
# The comparison methods on the embedded default (synthetic data, mini ViT), Protocol 1 CPS->W,
# with the demo's data, pretrained backbone and training settings (read from the demo's MMDG run's
# config.json), every method listed, into the demo's table (<out>/protocol/table_p1.md).
# Finished runs are skipped, so an interrupted comparison continues where it stopped.
# Usage: scripts/compare_methods.sh [out=demo_out] [methods] [extra mmdg protocol options...]
#   methods default: Table 1's ssdg, ssan, iadg, cmfl; Table 4's ViT + U-Adapter rows; Fig. 5's ViT rows.
#   SEEDS=0,1,2 (default: the demo's seeds) from the environment.
# Fig. 1(c)'s unimodal SSDG: scripts/compare_methods.sh demo_out vit-single+ssdg --modality depth
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-demo_out}
methods=${2:-ssdg,ssan,iadg,cmfl,vit-uadapter+ce,vit-uadapter+ssdg,vit-uadapter+ssan,vit-uadapter+iadg,vit-uadapter+pmr,vit-uadapter+ogm-ge,vit-uadapter+cmfl,vit+ce,vit+ssdg,vit+ssan,vit+iadg,vit+cmfl}
shift $(( $# > 2 ? 2 : $# ))
mmdg=${MMDG:-build/mmdg}
config="$out/protocol/mmdg/seed0/CPS-W/config.json"
[[ -f "$config" ]] || "$mmdg" demo --out "$out"
"$mmdg" protocol --protocol 1 --sub 'CPS->W' --lists "$out/data" --data-root "$out/data" \
  --pretrained "$out/vit_mini_synthetic.pth" --out "$out/protocol" --config "$config" --seeds "${SEEDS:-0,1,2}" \
  --method "$methods" "$@"
