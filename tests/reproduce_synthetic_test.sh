#!/usr/bin/env bash
# Tests scripts/reproduce_synthetic.sh's archive with a stand-in mmdg (no training): what it
# keeps (finished runs' small files, results, tables, stress records, the backbone; no weights, no
# unfinished run), that a fresh output folder continues from it (backbone restored, not trained
# again; a run restored without weights joins the stress comparison through its record, one without
# a record is named and left out), and that other data stop it.
# Usage: tests/reproduce_synthetic_test.sh [repository root]
set -uo pipefail
root=$(cd "${1:-$(dirname "$0")/..}" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
expect() {  # expect DESCRIPTION command...: the command must succeed
  local what=$1
  shift
  if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; fail=1; fi
}

# the stand-in: writes what the real commands write, in miniature, and logs each call
cat > "$tmp/mmdg" <<'EOF'
#!/usr/bin/env bash
cmd=$1
shift
echo "$cmd $*" >> "$FAKE_LOG"
out="" methods="" sub=CPS-W seeds="" checkpoints=()
while (($#)); do
  case $1 in
    --out) out=$2 ;;
    --method|--rows) methods=$2 ;;
    --sub) sub=$2 ;;
    --seeds) seeds=$2 ;;
    --checkpoint) checkpoints+=("${2#*=}") ;;
  esac
  shift
done
case $cmd in
  synth) mkdir -p "$out" && echo "{\"files_hash\": \"${FAKE_DATA_HASH:-abcdef0123456789}\"}" > "$out/manifest.json" && echo x > "$out/W-test.txt" ;;
  pretrain) echo "weights-${FAKE_BACKBONE:-1}" > "$out" && echo '{"held_out_accuracy": 0.5}' > "$out.json" ;;
  protocol|ablate)
    for m in ${methods//,/ }; do
      for s in ${seeds//,/ }; do
        run=$out/$m/seed$s/$sub
        mkdir -p "$run"
        echo '{}' > "$run/config.json"; echo '{"best_epoch": 3}' > "$run/done.json"
        echo w > "$run/best.safetensors"; echo w > "$run/last.safetensors"; echo '{}' > "$run/commit.json"
        echo '{"CPS->W": {}}' > "$out/$m/seed$s/results_p1.json"; echo "score,label" > "$out/$m/seed$s/scores_p1_CPS__W.csv"
      done
    done
    mkdir -p "$out/unfinished/seed0/CPS-W" && echo '{}' > "$out/unfinished/seed0/CPS-W/config.json"
    echo "| table |" > "$out/table_p1.md" ;;
  stress)
    mkdir -p "$out"
    { echo "{"; for c in "${checkpoints[@]}"; do echo "\"$c\": {},"; done; echo '"end": {}}'; } > "$out/checkpoints.json"
    echo '{}' > "$out/stress.json" ;;
esac
EOF
chmod +x "$tmp/mmdg"
script=$root/scripts/reproduce_synthetic.sh
export MMDG=$tmp/mmdg ARCHIVE=$tmp/archive FAKE_LOG=$tmp/log SEEDS=0

# 1. a first session: data, backbone, MMDG on CPS->W (trained, then stressed)
out=$tmp/out  # the same folder in every session, as on a fresh checkout
"$script" "$out" data pretrain mmdg-cpsw > "$tmp/first.txt" 2>&1
expect "first session runs" test $? -eq 0
a=$tmp/archive
for f in manifests/data.json manifests/data_share0.json vit_mini_synthetic.pth vit_mini_synthetic.pth.sha256 \
         vit_mini_synthetic.pth.json protocol/mmdg/seed0/CPS-W/config.json protocol/mmdg/seed0/CPS-W/done.json \
         protocol/mmdg/seed0/results_p1.json protocol/mmdg/seed0/scores_p1_CPS__W.csv protocol/table_p1.md \
         stress/CPS-W/checkpoints.json stress/CPS-W/stress.json; do
  expect "archived: $f" test -f "$a/$f"
done
for f in protocol/mmdg/seed0/CPS-W/best.safetensors protocol/mmdg/seed0/CPS-W/last.safetensors \
         protocol/mmdg/seed0/CPS-W/commit.json protocol/unfinished/seed0/CPS-W/config.json data/manifest.json; do
  expect "not archived: $f" test ! -e "$a/$f"
done
expect "MMDG stressed once trained" grep -q "^stress --checkpoint mmdg=$out/protocol/mmdg/seed0/CPS-W/best.safetensors" "$tmp/log"

# 2. a fresh checkout (another machine): restored; the backbone is not trained again
rm -rf "$out"
: > "$tmp/log"
FAKE_BACKBONE=2 "$script" "$out" data pretrain > "$tmp/second.txt" 2>&1
expect "second session runs" test $? -eq 0
expect "restored" grep -q "restored $a into $out" "$tmp/second.txt"
expect "backbone restored, not trained again" test "$(cat "$out/vit_mini_synthetic.pth")" = weights-1
expect "no pretrain call" bash -c "! grep -q '^pretrain' '$tmp/log'"
# a run restored without weights joins stress through its record; a finished run without one is named
mkdir -p "$out/protocol/vit/seed0/CPS-W" && echo '{}' > "$out/protocol/vit/seed0/CPS-W/done.json"
"$script" "$out" stress-cpsw > "$tmp/stress.txt" 2>&1
expect "stress on restored runs" test $? -eq 0
expect "restored run joins" grep -q "^stress --checkpoint mmdg=$out/protocol/mmdg/seed0/CPS-W/best.safetensors" "$tmp/log"
expect "unrecorded run named" grep -q "not stressed: $out/protocol/vit/seed0/CPS-W" "$tmp/stress.txt"
expect "unrecorded run left out" bash -c "! grep -q 'vit=' '$tmp/log'"

# 3. other data than the archive's: stopped, naming both hashes
rm -rf "$out"
FAKE_DATA_HASH=0000000000000000 "$script" "$out" data > "$tmp/third.txt" 2>&1
expect "other data stop the script" test $? -ne 0
expect "the message names the hashes" grep -q "$out/data differs from the archive's (abcdef0123456789, made here: 0000000000000000)" "$tmp/third.txt"

if ((fail)); then
  for f in first second stress third; do echo "--- $f"; cat "$tmp/$f.txt"; done
  exit 1
fi
echo "reproduce_synthetic archive: all checks passed"
