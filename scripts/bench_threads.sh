#!/usr/bin/env bash
# Measures the threading setups with `mmdg bench` in one run, idle and under one competing
# CPU-bound process: the default (OMP_WAIT_POLICY=PASSIVE, set by mmdg at start), libgomp's own
# default (MMDG_KEEP_OMP_DEFAULT=1: its workers spin between parallel regions), and one thread.
# Usage: scripts/bench_threads.sh [BENCH ARGS...]   (default: --config mmdg_mini --batch 8)
# Prints one line per setup (inference with the configured estimator and the regrad training
# step, seconds per sample); keeps each run's JSON in $OUT_DIR (default build/bench_threads/).
set -euo pipefail
cd "$(dirname "$0")/.."
mmdg=${MMDG:-build/mmdg}
out=${OUT_DIR:-build/bench_threads}
mkdir -p "$out"
args=("$@")
[[ ${#args[@]} -eq 0 ]] && args=(--config mmdg_mini --batch 8)
run() {  # run NAME THREADS [VAR=VALUE ...]
  local name=$1 threads=$2
  shift 2
  env "$@" "$mmdg" bench "${args[@]}" --threads "$threads" --json >"$out/$name.json"
  python3 - "$out/$name.json" "$name" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
print(f"{sys.argv[2]:<28} infer {j['infer_s_per_sample']:.4f} s/sample  train {j['train_s_per_sample']:.4f} s/sample  "
      f"peak RSS {j['peak_rss_mb']:.0f} MB  GEMM peak {j['gemm_peak_gflops']:.0f} GFLOP/s")
PY
}
for load in idle loaded; do
  competitor=""
  if [[ $load == loaded ]]; then
    sh -c 'while :; do :; done' &
    competitor=$!
  fi
  run "$load-passive-2threads" 2
  run "$load-gomp-default-2threads" 2 MMDG_KEEP_OMP_DEFAULT=1
  run "$load-passive-1thread" 1
  if [[ -n $competitor ]]; then kill "$competitor"; fi
done
