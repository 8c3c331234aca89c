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
#     mmdg-cpsw   MMDG on CPS->W (every CPS->W comparison is against it)
#     cpsw        P1, P2 (CPS->W): MMDG, ViT (concatenated), three-branch ViT (CE), ViT + U-Adapter
#                 (CE), MMDG without uncertainty
#     stress-cpsw P5 (CPS->W): mmdg stress of MMDG, the ViT and MMDG without uncertainty (local
#                 corruptions: depth dropout, depth noise, NIR saturation; global: NIR gain, depth
#                 misregistration); each run is also stressed as soon as it is trained, since the
#                 archive keeps no weights (stress keeps its scores per checkpoint)
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
#
# The archive: ARCHIVE (default results/synthetic, committed; empty: none) keeps the small files of
# every finished run (config.json, done.json, log.jsonl, train.log), the methods' results and
# scores, the tables, the stress results and the synthetic backbone (3 MB), not the runs' weights.
# The script restores it into `out` before it starts and adds to it after every command, so a
# queue continues on a fresh checkout: finished runs are not trained again and their stored scores
# rejoin the tables (mmdg protocol keeps the scores of a finished run scored before on the same
# data; scoring is deterministic). mmdg stress needs a run's weights once: each run P5 compares
# is stressed right after it is trained, and its kept scores (per checkpoint) serve later
# comparisons. The backbone is restored, not trained again (its training rounds differently on
# other CPUs); the data are made again from their seed and checked against the archive's hashes
# (the script stops when they differ). Give the same `out` every time: the stress records name
# the runs by their paths.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-synthetic_benchmark}
shift $(( $# > 0 ? 1 : 0 ))
stages=("$@")
((${#stages[@]})) || stages=(data pretrain mmdg-cpsw as-released-cpsw comparison cpsw stress-cpsw shortcut protocol1 stress as-released pretrained)
mmdg=${MMDG:-build/mmdg}
seeds=${SEEDS:-0,1,2}
config=configs/synthetic_benchmark.json
weights="$out/vit_mini_synthetic.pth"
methods=mmdg,vit,vit+ce,vit-uadapter+ce
corruptions=depth_dropout,depth_noise,ir_saturation,ir_gain,depth_shift
p5_methods="mmdg vit mmdg-no-uncertainty"  # the models P5 compares
stress() {  # stress SUB TARGET: P5's models (every finished seed) of one sub-protocol on its target's test list
  local args=() method run
  for method in $p5_methods; do
    for run in "$out/protocol/$method"/seed*/"$1"; do
      [[ -f $run/done.json ]] || continue
      # a run restored without weights joins when it was stressed before (its scores are kept)
      if [[ -f $run/best.safetensors ]] || grep -qF "\"$run/best.safetensors\"" "$out/stress/$1/checkpoints.json" 2>/dev/null; then
        args+=(--checkpoint "$method=$run/best.safetensors")
      else
        echo "not stressed: $run (finished elsewhere, its weights are not here)"
      fi
    done
  done
  ((${#args[@]})) || return 0
  "$mmdg" stress "${args[@]}" --list "$out/data/$2-test.txt" --data-root "$out/data" \
    --corruption "$corruptions" --severities 0,0.25,0.5,0.75,1 --out "$out/stress/$1"
  save
}
p5() {  # p5 SUB TARGET: P5's models seed by seed, each stressed once trained (the weights are not archived)
  local seed
  for seed in ${seeds//,/ }; do
    SEEDS=$seed run "$out/data" "$out/protocol" protocol --protocol 1 --sub "$1" --method mmdg
    stress "$1" "$2"
    SEEDS=$seed run "$out/data" "$out/protocol" protocol --protocol 1 --sub "$1" --method vit
    stress "$1" "$2"
    SEEDS=$seed run "$out/data" "$out/protocol" ablate --table 5 --rows mmdg-no-uncertainty --sub "$1"
    stress "$1" "$2"
  done
}
archive=${ARCHIVE-results/synthetic}
save() {  # the small files of what is finished, from out into the archive
  [[ -n $archive ]] || return 0
  local f dir
  while IFS= read -r -d '' f; do
    f=${f#"$out"/}
    dir=$(dirname "$f")
    # a run's files once it is finished (a run folder holds config.json; done.json ends it)
    [[ -f $out/$dir/config.json && ! -f $out/$dir/done.json ]] && continue
    mkdir -p "$archive/$dir"
    cmp -s "$out/$f" "$archive/$f" || cp "$out/$f" "$archive/$f"
  done < <(find "$out" -path "$out/data*" -prune -o -type f \( -name '*.json' -o -name '*.jsonl' -o -name '*.csv' \
             -o -name '*.md' -o -name train.log -o -name '*.sha256' \) ! -name commit.json -print0)
  if [[ -f $weights && ! -f $archive/$(basename "$weights") ]]; then  # the backbone every run starts from
    cp "$weights" "$archive/"
  fi
  for f in "$out"/data*/manifest.json; do  # under another name: a restored manifest would stand for the data
    [[ -f $f ]] || continue
    mkdir -p "$archive/manifests"
    cp "$f" "$archive/manifests/$(basename "$(dirname "$f")").json"
  done
}
restore() {  # the archive into out, without replacing what out holds
  [[ -n $archive && -d $archive ]] || return 0
  mkdir -p "$out"
  cp -rn "$archive/." "$out/"
  echo "restored $archive into $out"
}
files_hash() {  # files_hash MANIFEST: the data's hash a manifest.json records
  sed -n 's/.*"files_hash": *"\([0-9a-f]*\)".*/\1/p' "$1" | head -1
}
check_hash() {  # check_hash ARCHIVED-VALUE VALUE WHAT: stop when the archive recorded another value
  local was=$1
  if [[ -n $was && $was != "$2" ]]; then
    echo "$3 differs from the archive's ($was, made here: $2): the archived runs were made from other ones;" \
         "use another ARCHIVE or out" >&2
    exit 1
  fi
}
run() {  # run DATA OUT mmdg-command [options]: the command on a data folder, into an output folder
  local data=$1 to=$2
  shift 2
  "$mmdg" "$@" --lists "$data" --data-root "$data" --pretrained "$weights" --config "$config" --seeds "${SEEDS:-$seeds}" --out "$to"
  save
}
restore
for stage in "${stages[@]}"; do
  echo "== $stage ($(date -u +%H:%M:%S))"
  case $stage in
    data)
      [[ -f "$out/data/manifest.json" ]] || "$mmdg" synth --out "$out/data"
      for share in 0 0.5; do
        [[ -f "$out/data_share$share/manifest.json" ]] || "$mmdg" synth --out "$out/data_share$share" --planar-share "$share"
      done
      for d in data data_share0 data_share0.5; do
        [[ -f $out/manifests/$d.json ]] && check_hash "$(files_hash "$out/manifests/$d.json")" "$(files_hash "$out/$d/manifest.json")" "$out/$d"
      done
      save ;;
    pretrain)
      [[ -f "$weights" ]] || "$mmdg" pretrain --out "$weights"
      if [[ -f $weights.sha256 ]]; then
        check_hash "$(cut -c1-64 "$weights.sha256")" "$(sha256sum "$weights" | cut -c1-64)" "$weights"
      else
        sha256sum "$weights" | cut -c1-64 > "$weights.sha256"
      fi
      save ;;
    mmdg-cpsw)
      # MMDG first: every comparison on CPS->W is against its scores
      for seed in ${seeds//,/ }; do
        SEEDS=$seed run "$out/data" "$out/protocol" protocol --protocol 1 --sub CPS-W --method mmdg
        stress CPS-W W
      done ;;
    cpsw)
      p5 CPS-W W
      run "$out/data" "$out/protocol" protocol --protocol 1 --sub CPS-W --method "$methods" ;;
    shortcut)
      for share in 0 0.5; do
        run "$out/data_share$share" "$out/shortcut$share" protocol --protocol 1 --sub CPS-W --method mmdg,vit-uadapter+ce
      done
      run "$out/data" "$out/protocol" ablate --table 4 --rows vit-uadapter+ogm-ge,vit-uadapter+pmr --sub CPS-W ;;
    stress-cpsw)
      stress CPS-W W ;;
    protocol1)
      p5 CPW-S S
      p5 CSW-P P
      p5 PSW-C C
      run "$out/data" "$out/protocol" protocol --protocol 1 --method "$methods" ;;
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
    *) echo "unknown stage '$stage' (data pretrain mmdg-cpsw as-released-cpsw comparison cpsw stress-cpsw shortcut protocol1 stress as-released pretrained)" >&2; exit 2 ;;
  esac
done
