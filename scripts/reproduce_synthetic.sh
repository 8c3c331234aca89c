#!/usr/bin/env bash
# The runs that decide the predictions of docs/predictions.md on the synthetic benchmark
# (generator version 2), at the converged budget of configs/synthetic_benchmark.json (stated
# there once: mmdg_mini, batch 16, up to 20 epochs of 30 steps, stopped when the sources'
# validation loss has not improved for 4 epochs). Every step resumes: stop the script and run it
# again to continue; each command rewrites its tables from the runs that exist.
#
# Usage: scripts/reproduce_synthetic.sh [out=synthetic_benchmark] [stage ...]
#   stages, in this order by default (the CPS->W runs first, so the first verdicts come early; the
#   listing below is by topic):
#     data        the benchmark (--planar-share 1, the default) and its shortcut variants 0 and 0.5
#     pretrain    the synthetic backbone (vit_mini_synthetic.pth)
#     cpsw        P1, P2 (CPS->W): MMDG, ViT (concatenated), three-branch ViT (CE), ViT + U-Adapter
#                 (CE), MMDG without uncertainty
#     stress-cpsw P5 (CPS->W): mmdg stress of every method above (local corruptions: depth dropout,
#                 depth noise, NIR saturation; global: NIR gain, depth misregistration)
#     shortcut    P3, P4 (CPS->W): MMDG (ReGrad) and ViT + U-Adapter (CE) at --planar-share 0 and
#                 0.5; OGM-GE and PMR at 1
#     protocol1   P1, P2 on the other three targets
#     stress      P5 on the other three targets
#     as-released-cpsw  ReGrad as released (issue 31: the released regrad.py's reach) beside full
#                 ReGrad, CPS->W
#     as-released the same on all four targets
#     pretrained  MMDG from a random initialization (is the pretrained backbone a help?)
#     comparison  Table 1's comparison methods the audit of issue 31 changed (SSDG, SSAN, IADG,
#                 ViTAF; PMR runs in shortcut), CPS->W
#   SEEDS=0,1,2 (default) and MMDG=build/mmdg (default) from the environment.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-synthetic_benchmark}
shift $(( $# > 0 ? 1 : 0 ))
stages=("$@")
((${#stages[@]})) || stages=(data pretrain cpsw stress-cpsw as-released-cpsw comparison shortcut protocol1 stress as-released pretrained)
mmdg=${MMDG:-build/mmdg}
seeds=${SEEDS:-0,1,2}
config=configs/synthetic_benchmark.json
weights="$out/vit_mini_synthetic.pth"
methods=mmdg,vit,vit+ce,vit-uadapter+ce
corruptions=depth_dropout,depth_noise,ir_saturation,ir_gain,depth_shift
stress() {  # stress SUB TARGET: every method's seeds of one sub-protocol on its target's test list
  "$mmdg" stress --protocol-dir "$out/protocol" --sub "$1" --list "$out/data/$2-test.txt" --data-root "$out/data" \
    --corruption "$corruptions" --severities 0,0.25,0.5,0.75,1 --out "$out/stress/$1"
}
# scored OUT METHODS SUBS SEEDS: every seed's run of each method (comma-separated) on each
# sub-protocol (space-separated) finished (done.json) and scored after it (results_p1.json holding
# the sub-protocol, written later). Scoring is deterministic (keyed draws), so such a command would
# only score the same runs again: minutes each on 2 cores.
scored() {
  local to=$1 method sub seed results
  for method in ${2//,/ }; do
    for sub in $3; do
      for seed in ${4//,/ }; do
        results=$to/$method/seed$seed/results_p1.json
        [[ -f "$to/$method/seed$seed/$sub/done.json" && "$results" -nt "$to/$method/seed$seed/$sub/done.json" ]] || return 1
        grep -q "\"${sub/-/->}\"" "$results" || return 1
      done
    done
  done
}
run() {  # run DATA OUT mmdg-command [options]: the command on a data folder, into an output folder
  local data=$1 to=$2
  shift 2
  # a protocol / ablate command whose runs are all trained and scored is skipped (its tables were
  # written when they were scored); delete a run's results_p1.json to score it again
  local methods="" subs="CPS-W CPW-S CSW-P PSW-C" args=("$@") i
  for ((i = 1; i + 1 < ${#args[@]}; i++)); do
    case ${args[i]} in
      --method|--rows) methods=${args[i + 1]} ;;
      --sub) subs=${args[i + 1]} ;;
    esac
  done
  if [[ -n $methods ]] && scored "$to" "$methods" "$subs" "${SEEDS:-$seeds}"; then
    echo "skip: $1 ${methods} on ${subs} (seeds ${SEEDS:-$seeds}): every run trained and scored"
    return
  fi
  "$mmdg" "$@" --lists "$data" --data-root "$data" --pretrained "$weights" --config "$config" --seeds "${SEEDS:-$seeds}" --out "$to"
}
for stage in "${stages[@]}"; do
  echo "== $stage ($(date -u +%H:%M:%S))"
  case $stage in
    data)
      [[ -f "$out/data/manifest.json" ]] || "$mmdg" synth --out "$out/data"
      for share in 0 0.5; do
        [[ -f "$out/data_share$share/manifest.json" ]] || "$mmdg" synth --out "$out/data_share$share" --planar-share "$share"
      done ;;
    pretrain)
      [[ -f "$weights" ]] || "$mmdg" pretrain --out "$weights" ;;
    cpsw)
      # MMDG and ViT seed by seed first, so that P1's comparison grows one seed at a time
      for seed in ${seeds//,/ }; do
        SEEDS=$seed run "$out/data" "$out/protocol" protocol --protocol 1 --sub CPS-W --method mmdg,vit
      done
      run "$out/data" "$out/protocol" protocol --protocol 1 --sub CPS-W --method "$methods"
      run "$out/data" "$out/protocol" ablate --table 5 --rows mmdg-no-uncertainty --sub CPS-W ;;
    shortcut)
      for share in 0 0.5; do
        run "$out/data_share$share" "$out/shortcut$share" protocol --protocol 1 --sub CPS-W --method mmdg,vit-uadapter+ce
      done
      run "$out/data" "$out/protocol" ablate --table 4 --rows vit-uadapter+ogm-ge,vit-uadapter+pmr --sub CPS-W ;;
    stress-cpsw)
      stress CPS-W W ;;
    protocol1)
      run "$out/data" "$out/protocol" protocol --protocol 1 --method "$methods"
      run "$out/data" "$out/protocol" ablate --table 5 --rows mmdg-no-uncertainty ;;
    stress)
      stress CPW-S S
      stress CSW-P P
      stress PSW-C C ;;
    as-released-cpsw)
      run "$out/data" "$out/protocol" ablate --table 4 --rows mmdg-regrad-as-released --sub CPS-W ;;
    as-released)
      run "$out/data" "$out/protocol" ablate --table 4 --rows mmdg-regrad-as-released ;;
    pretrained)
      run "$out/data" "$out/protocol" ablate --table pretrain ;;
    comparison)
      run "$out/data" "$out/protocol" protocol --protocol 1 --sub CPS-W --method ssdg,ssan,iadg,vitaf ;;
    *) echo "unknown stage '$stage' (data pretrain cpsw stress-cpsw as-released-cpsw comparison shortcut protocol1 stress as-released pretrained)" >&2; exit 2 ;;
  esac
done
