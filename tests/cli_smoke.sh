#!/usr/bin/env bash
# End-to-end checks of the mmdg program: exit codes, messages, and weights info numbers.
# Usage: cli_smoke.sh MMDG_BINARY GOLDEN_DATA_DIR
set -u
mmdg=$1
data=$2
fail=0
check() {  # check DESCRIPTION EXPECTED_RC PATTERN -- command...
  local what=$1 want_rc=$2 pattern=$3
  shift 4
  local out rc
  out=$("$@" 2>&1)
  rc=$?
  if [[ $rc -ne $want_rc ]] || ! grep -qE -- "$pattern" <<<"$out"; then
    echo "FAIL: $what (rc=$rc, wanted $want_rc, pattern '$pattern')"
    echo "$out" | head -20
    fail=1
  else
    echo "ok: $what"
  fi
}
check "help lists subcommands" 0 "weights" -- "$mmdg" --help
check "version names LibTorch and BLAS" 0 "LibTorch .*" -- "$mmdg" --threads 2 version
check "version reports the thread count" 0 "intra-op threads: 2" -- "$mmdg" --threads 2 version
check "weights info on a torchvision .pth" 0 "encoder.layers.encoder_layer_1.mlp.3.bias +float32 +\[16\]" -- "$mmdg" weights info "$data/vit_tiny_torchvision.pth"
check "weights info on timm safetensors" 0 "blocks.1.mlp.fc2.bias +float32 +\[16\]" -- "$mmdg" weights info "$data/vit_tiny_timm.safetensors"
check "weights info --json" 0 '"name": "half"' -- "$mmdg" weights info --json "$data/dtypes.pth"
check "forbidden global refused" 1 "refusing to load" -- "$mmdg" weights info "$data/forbidden_global.pth"
check "legacy format explained" 1 "re-save" -- "$mmdg" weights info "$data/legacy_format.pth"
check "missing file named" 1 "nope.pth: file not found" -- "$mmdg" weights info "$data/nope.pth"
check "unknown option rejected" 109 "--bogus" -- "$mmdg" weights info --bogus x
check "missing subcommand rejected" 106 "subcommand" -- "$mmdg"
exit $fail
