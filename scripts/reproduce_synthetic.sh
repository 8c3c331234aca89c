#!/usr/bin/env bash
# The synthetic reproduction of the paper's claims (docs/reproduction.md): Protocol 1
# (all four sub-protocols) for MMDG, ViT (Table 1's channel concatenation), ViT (three branches),
# ViT + ReGrad and ViT + U-Adapter, then the ablation tables, every row over the seeds, with the
# demo's data, pretrained backbone and training settings (read from the demo's MMDG run's
# config.json, so they are stated once, in src/mmdg/experiment/demo.cpp). Every run resumes, so
# the script can be stopped and run again to continue; the tables are rewritten from what exists.
# The runs go to the demo's <out>/protocol, so the demo's CPS->W runs of MMDG and the ViT count.
# Usage: scripts/reproduce_synthetic.sh [out=demo_out] [tables, default: 5 4 fig5]
#   SEEDS=0,1,2 (default) and MMDG=build/mmdg (default) from the environment; extra mmdg options
#   in EXTRA (e.g. EXTRA="--sub CPS->W" for one sub-protocol).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-demo_out}
shift $(( $# > 0 ? 1 : 0 ))
tables=("$@")
((${#tables[@]})) || tables=(5 4 fig5)
mmdg=${MMDG:-build/mmdg}
seeds=${SEEDS:-0,1,2}
read -r -a extra <<< "${EXTRA:-}"
config="$out/protocol/mmdg/seed0/CPS-W/config.json"
[[ -f "$config" ]] || "$mmdg" demo --out "$out"
common=(--lists "$out/data" --data-root "$out/data" --pretrained "$out/vit_mini_synthetic.pth" --config "$config"
        --seeds "$seeds" --out "$out/protocol" "${extra[@]}")
"$mmdg" protocol --protocol 1 --method mmdg,vit,vit+ce,vit+regrad,vit-uadapter+ce "${common[@]}"
for table in "${tables[@]}"; do
  "$mmdg" ablate --table "$table" "${common[@]}"
done
