#!/usr/bin/env bash
# A fuzzing campaign: each harness of build-fuzz/ runs RUNS executions (default 10^6) from the
# seeds of make_seeds.py plus the committed corpus, then the committed corpus is replaced by the
# minimized union (libFuzzer -merge=1). Findings (crash-*, leak-*, oom-*, timeout-*) stay in
# WORK/<harness>/; the table of executions, coverage and findings goes to WORK/campaign.tsv.
#
# Usage: fuzz/campaign.sh [HARNESS...]   env: RUNS (10^6), BUILD (build-fuzz), WORK (/tmp/mmdg-fuzz),
#                                             JOBS (parallel harnesses, default 1), MAX_LEN (65536)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-1000000}
build=${BUILD:-build-fuzz}
work=${WORK:-/tmp/mmdg-fuzz}
max_len=${MAX_LEN:-65536}
harnesses=("$@")
if ((${#harnesses[@]} == 0)); then
  harnesses=(pickle torch_checkpoint safetensors npy npz zip list scores_csv options_json)
fi
mkdir -p "$work"
python3 fuzz/make_seeds.py "$work/seeds" > /dev/null
export ASAN_OPTIONS=detect_leaks=0

one() {
  local name=$1 dir="$work/$1" bin="$build/fuzz/$1_fuzz" dict=()
  mkdir -p "$dir/corpus" "fuzz/corpus/$name"
  [[ -e fuzz/$name.dict ]] && dict=(-dict="fuzz/$name.dict")
  local t0=$SECONDS
  "$bin" -runs="$runs" -max_len="$max_len" -rss_limit_mb=1536 -malloc_limit_mb=1024 -timeout=10 -seed=$RANDOM \
         -print_final_stats=1 -artifact_prefix="$dir/" "${dict[@]}" \
         "$dir/corpus" "fuzz/corpus/$name" "$work/seeds/$name" > "$dir/fuzz.log" 2>&1 || true
  local secs=$((SECONDS - t0))
  local execs cov ft findings rss
  execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$dir/fuzz.log" | tail -1 | grep -o '[0-9]*$' || echo "?")
  cov=$(grep -o 'cov: [0-9]*' "$dir/fuzz.log" | tail -1 | grep -o '[0-9]*$' || echo "?")
  ft=$(grep -o 'ft: [0-9]*' "$dir/fuzz.log" | tail -1 | grep -o '[0-9]*$' || echo "?")
  rss=$(grep -o 'stat::peak_rss_mb: *[0-9]*' "$dir/fuzz.log" | tail -1 | grep -o '[0-9]*$' || echo "?")
  findings=$(find "$dir" -maxdepth 1 \( -name 'crash-*' -o -name 'leak-*' -o -name 'oom-*' -o -name 'timeout-*' \
             -o -name 'slow-unit-*' \) | wc -l)
  # minimize: the committed corpus becomes the smallest set with the same coverage
  rm -rf "$dir/merged" && mkdir -p "$dir/merged"
  "$bin" -merge=1 -max_len="$max_len" -rss_limit_mb=1536 -timeout=10 "$dir/merged" \
         "fuzz/corpus/$name" "$dir/corpus" "$work/seeds/$name" > "$dir/merge.log" 2>&1 || true
  if [[ -n "$(ls -A "$dir/merged")" ]]; then
    rm -rf "fuzz/corpus/$name" && mv "$dir/merged" "fuzz/corpus/$name"
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$execs" "$secs" "$cov" "$ft" "$rss" "$findings" \
         "$(ls "fuzz/corpus/$name" | wc -l)" >> "$work/campaign.tsv"
  echo "$name: $execs executions in ${secs}s, cov $cov, ft $ft, peak RSS ${rss} MB, findings $findings"
}

[[ -s "$work/campaign.tsv" ]] || printf 'harness\texecutions\tseconds\tcoverage\tfeatures\tpeak_rss_mb\tfindings\tcorpus_files\n' > "$work/campaign.tsv"
export -f one
export runs build work max_len
printf '%s\n' "${harnesses[@]}" | xargs -P "${JOBS:-1}" -I{} bash -c 'one {}'
column -t -s $'\t' "$work/campaign.tsv"
