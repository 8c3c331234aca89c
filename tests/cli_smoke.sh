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
check "--version" 0 "^mmdg [0-9]+\.[0-9]+\.[0-9]+ \(" -- "$mmdg" --version
check "an unknown option is a usage error (2)" 2 "--no-such-option" -- "$mmdg" eval --no-such-option
check "a bad option value is a usage error (2)" 2 "option estimator: unknown value 'gauss'" -- "$mmdg" model info --config mmdg_tiny --estimator gauss
check "version names LibTorch and BLAS" 0 "LibTorch .*" -- "$mmdg" --threads 2 version
check "version reports the thread count" 0 "intra-op threads: 2" -- "$mmdg" --threads 2 version
check "version names the BLAS in use" 0 "^BLAS: (MKL \(bundled with LibTorch\)|/)" -- "$mmdg" version
check "--device is parsed once, with a clear message" 2 "option --device gpu0: .*expected cpu, cuda or cuda:N|option --device: cannot parse 'gpu0'" -- "$mmdg" bench --device gpu0 --config mmdg_tiny
check "bench times the configured method only (tiny, CPU)" 0 "^configured only: infer/binomial train/regrad-full$" -- bash -c "set -o pipefail; '$mmdg' bench --config mmdg_tiny --batch 2 --repeats 1 --warmup 0 | grep -oE '^(infer|train)/[a-z-]+' | tr '\n' ' ' | sed 's/^/configured only: /; s/ $//'"
check "bench --all times every strategy the network takes (tiny, CPU)" 0 "infer/mc .*train/regrad-full .*train/regrad-none .*train/ssdg .*train/cmfl .*device: cpu" -- bash -c "set -o pipefail; '$mmdg' bench --all --config mmdg_tiny --batch 2 --repeats 1 --warmup 0 | tr '\n' ' '"
check "bench: a --network the method's strategy cannot train" 1 "strategy regrad does not train network mm-cdcn" -- "$mmdg" bench --network mm-cdcn --config mmdg_tiny --batch 2 --repeats 1 --warmup 0
if "$mmdg" version | grep -q "^CUDA: [0-9]"; then  # a GPU: the CUDA benchmark, at the tiny size
  check "bench --device cuda" 0 "device: cuda" -- "$mmdg" bench --device cuda --config mmdg_tiny --batch 2 --repeats 1 --warmup 1
else
  check "bench --device cuda without a GPU names the cause" 2 "option --device cuda: CUDA is not available" -- "$mmdg" bench --device cuda --config mmdg_tiny
fi
check "weights info on a torchvision .pth" 0 "encoder.layers.encoder_layer_1.mlp.3.bias +float32 +\[16\]" -- "$mmdg" weights info "$data/vit_tiny_torchvision.pth"
check "weights info on timm safetensors" 0 "blocks.1.mlp.fc2.bias +float32 +\[16\]" -- "$mmdg" weights info "$data/vit_tiny_timm.safetensors"
check "weights info --json" 0 '"name": "half"' -- "$mmdg" weights info --json "$data/dtypes.pth"
check "forbidden global refused" 1 "refusing to load" -- "$mmdg" weights info "$data/forbidden_global.pth"
check "legacy format explained" 1 "re-save" -- "$mmdg" weights info "$data/legacy_format.pth"
check "missing file named" 1 "nope.pth: file not found" -- "$mmdg" weights info "$data/nope.pth"
check "unknown option rejected" 2 "--bogus" -- "$mmdg" weights info --bogus x
check "missing subcommand rejected" 2 "subcommand" -- "$mmdg"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if /usr/bin/python3 -c "import torch" 2>/dev/null; then  # a tensor name that is not UTF-8 (a lone surrogate, pickled as such)
  /usr/bin/python3 -c "import torch, sys; torch.save({'w\udcff': torch.ones(2)}, sys.argv[1])" "$tmp/nonutf8.pth"
  check "weights info --json on a name that is not UTF-8" 0 '"name": "w' -- "$mmdg" weights info --json "$tmp/nonutf8.pth"
  check "weights info shows its bytes escaped" 0 'w\\xed\\xb3\\xbf +float32' -- "$mmdg" weights info "$tmp/nonutf8.pth"
fi
check "model info counts the released config" 0 "total +88252034 +8513666" -- "$mmdg" model info
check "model info --json with overrides" 0 '"estimator": "binomial"' -- "$mmdg" model info --config mmdg_tiny --estimator binomial --json
check "unknown preset named" 1 "unknown model config 'mmdg_x'" -- "$mmdg" model info --config mmdg_x
echo '{"model": {"adapter_dim": 4, "adapter_heads": 2, "image_size": 32, "patch_size": 8, "num_layers": 2, "num_heads": 2, "hidden_dim": 16, "mlp_dim": 32}}' > "$tmp/cfg.json"
check "config file" 0 'adapter_dim = 4' -- "$mmdg" model info --config "$tmp/cfg.json"
echo '{"adapter_dims": 4}' > "$tmp/bad.json"
check "config file with an unknown option" 1 "bad.json: unknown option 'adapter_dims'" -- "$mmdg" model info --config "$tmp/bad.json"
check "model list names every network and strategy" 0 "vit-uadapter .*U-Adapters" -- "$mmdg" model list
check "launch needs the command to run" 2 "give the command to run after --" -- "$mmdg" launch --nproc 2
check "protocol refuses several processes" 2 "protocol, ablate and demo run in one process" -- env WORLD_SIZE=2 "$mmdg" protocol --protocol 1 --lists "$tmp" --out "$tmp/p"
check "a malformed WORLD_SIZE is named" 2 "environment variable WORLD_SIZE='two'" -- env WORLD_SIZE=two "$mmdg" train --config mmdg_tiny --train x.txt --out "$tmp/ws"
check "model list names the comparison networks" 0 "mm-cdcn .*MM-CDCN" -- "$mmdg" model list
check "model info counts MM-CDCN at 256" 0 "total +6955528 +6955528" -- "$mmdg" model info --network mm-cdcn --image-size 256
check "model info counts VP-FAS's prompts" 0 "total +86095106 +296450" -- "$mmdg" model info --network vp-fas --freeze adapters-only
check "MM-CDCN refuses an image size its map cannot divide" 2 "option image_size: mm-cdcn needs a multiple of 8" -- "$mmdg" model info --config mmdg_tiny --network mm-cdcn --image-size 36 --patch-size 4
check "a backbone option error is a usage error" 2 "ViT option image_size: must be a multiple of patch_size" -- "$mmdg" model info --config mmdg_tiny --image-size 30
check "model info of the three-branch ViT" 0 "adapters +0 +0" -- "$mmdg" model info --config mmdg_tiny --network vit
check "model option names its valid values" 2 "option freeze: unknown value 'all' \(expected one of: last-block, adapters-only\)" -- "$mmdg" model info --config mmdg_tiny --freeze all
check "model init from pretrained" 0 "wrote" -- "$mmdg" model init --config mmdg_tiny --pretrained "$data/vit_tiny_torchvision.pth" --out "$tmp/init.safetensors"
# mmdg serve, as a user starts it: the address it prints, /healthz, a prediction, SIGTERM -> exit 0
if "$mmdg" serve --help > /dev/null 2>&1; then
  "$mmdg" serve --checkpoint "$tmp/init.safetensors" --port 0 > "$tmp/serve.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 240); do grep -q "listening on" "$tmp/serve.log" && break; sleep 0.25; done
  url=$(grep -oE "http://127.0.0.1:[0-9]+" "$tmp/serve.log" | head -1)
  if [[ -n $url ]] && [[ $(curl -s "$url/healthz") == ok ]]; then
    echo "ok: serve answers /healthz at $url"
    check "serve names a port in use" 1 "cannot listen on 127.0.0.1:${url##*:}" -- "$mmdg" serve --checkpoint "$tmp/init.safetensors" --port "${url##*:}"
  else
    echo "FAIL: serve did not come up"; cat "$tmp/serve.log"; fail=1
  fi
  kill -TERM $pid 2>/dev/null
  wait $pid
  rc=$?
  if [[ $rc -eq 0 ]] && grep -q "stopped (SIGTERM)" "$tmp/serve.log"; then
    echo "ok: serve stops on SIGTERM with status 0"
  else
    echo "FAIL: serve on SIGTERM (rc=$rc)"; tail -5 "$tmp/serve.log"; fail=1
  fi
  check "serve names a bad option" 2 "option --max-batch: must be in \[1, 4096\]" -- "$mmdg" serve --checkpoint "$tmp/init.safetensors" --max-batch 0
fi
# --seed draws the new layers: the same seed writes the same file, another seed another one
"$mmdg" -q model init --config mmdg_tiny --pretrained "$data/vit_tiny_torchvision.pth" --out "$tmp/init_again.safetensors"
"$mmdg" -q model init --config mmdg_tiny --pretrained "$data/vit_tiny_torchvision.pth" --seed 1 --out "$tmp/init_seed1.safetensors"
if cmp -s "$tmp/init.safetensors" "$tmp/init_again.safetensors" && ! cmp -s "$tmp/init.safetensors" "$tmp/init_seed1.safetensors"; then
  echo "ok: model init --seed: the same seed, the same weights"
else
  echo "FAIL: model init --seed (same seed differs, or another seed does not)"; fail=1
fi
check "model init with a mismatched config" 1 "do not fit the vit-uadapter backbone" -- "$mmdg" model init --config mmdg_mini --pretrained "$data/vit_tiny_torchvision.pth" --out "$tmp/x.safetensors"
check "model info of a checkpoint" 0 'image_size = 32' -- "$mmdg" model info --checkpoint "$tmp/init.safetensors"
check "export to the released layout" 0 "wrote" -- "$mmdg" model export --checkpoint "$tmp/init.safetensors" --out "$tmp/released.pth"
check "import with the wrong config" 1 "weights do not match the model" -- "$mmdg" model import --weights "$tmp/released.pth" --config mmdg_b16 --out "$tmp/back.safetensors"
check "import from the released layout" 0 "wrote" -- "$mmdg" model import --weights "$data/mmdg_tiny_released.pth" --config mmdg_tiny --out "$tmp/imported.safetensors"
if "$mmdg" --help | grep -q synth; then
  check "synth writes the benchmark" 0 "wrote [0-9]+ samples and 12 lists" -- "$mmdg" synth --out "$tmp/synth" --subjects 3 --frames 1 --image-size 32
  check "synth preview" 0 "wrote" -- "$mmdg" synth --preview "$tmp/preview.png" --image-size 24
  # the files do not depend on the SIMD kernels OpenCV picks for this CPU (at 64 px, without the
  # baseline kernels, the two hashes differ on an AMD EPYC with AVX2)
  "$mmdg" -q synth --out "$tmp/synth64" --subjects 3 --frames 1 --image-size 64 > /dev/null
  OPENCV_CPU_DISABLE=AVX2,FMA3,AVX,SSE4.2,SSE4.1,POPCNT "$mmdg" -q synth --out "$tmp/synth_baseline" --subjects 3 --frames 1 --image-size 64 > /dev/null 2>&1
  check "synth is the same with OpenCV's dispatched kernels off" 0 "$(grep -o '"files_hash": "[0-9a-f]*"' "$tmp/synth64/manifest.json")" -- cat "$tmp/synth_baseline/manifest.json"
  check "synth rejects unknown domains" 1 "synthetic domain 'X'" -- "$mmdg" synth --out "$tmp/x" --domains CX
  check "predict one synthetic sample" 0 "live probability" -- "$mmdg" predict --checkpoint "$tmp/init.safetensors" --rgb "$tmp/synth/W/test/002_0_live/rgb/0000.jpg" --depth "$tmp/synth/W/test/002_0_live/depth/0000.jpg" --ir "$tmp/synth/W/test/002_0_live/ir/0000.jpg" --maps "$tmp/maps"
  check "predict --maps draws the adapters' attention (Fig. 7)" 0 "rgb_from_depth_attention.png" -- ls "$tmp/maps"
  check "predict writes overlays" 0 "depth_reliability.png" -- ls "$tmp/maps"
  check "predict with missing modalities" 0 '"live_probability"' -- "$mmdg" predict --checkpoint "$tmp/init.safetensors" --rgb "$tmp/synth/W/test/002_0_live/rgb/0000.jpg" --missing depth,ir --json
  check "predict a list (npz samples)" 0 "wrote .*scores.csv" -- "$mmdg" predict --checkpoint "$tmp/init.safetensors" --list "$tmp/synth/P-test.txt" --data-root "$tmp/synth" --out "$tmp/scores.csv"
  check "scores CSV header" 0 "^path,label,score" -- head -1 "$tmp/scores.csv"
  "$mmdg" -q synth --out "$tmp/synth224" --subjects 3 --frames 1 --image-size 224 --domains P > /dev/null
  check "--max-sample-mb refuses a larger .npz sample, naming it" 1 "P-test.txt:1: .*\.npz:data.npy: decodes to 5 MB, more than the limit of 1 MB" -- "$mmdg" --max-sample-mb 1 predict --checkpoint "$tmp/init.safetensors" --list "$tmp/synth224/P-test.txt" --data-root "$tmp/synth224" --out "$tmp/p224.csv"
  check "predict names a missing image" 1 "nope.png: file not found" -- "$mmdg" predict --checkpoint "$tmp/init.safetensors" --rgb "$tmp/nope.png" --depth x --ir y
  tiny_train=(--config mmdg_tiny --pretrained "$data/vit_tiny_torchvision.pth" --train "$tmp/synth/C-train.txt,$tmp/synth/S-train.txt" --val "$tmp/synth/W-val.txt" --data-root "$tmp/synth" --batch-size 8 --lr 1e-3 --workers 1)
  check "train a tiny model" 0 "done: best epoch" -- "$mmdg" train "${tiny_train[@]}" --out "$tmp/run" --epochs 2 --steps-per-epoch 2
  check "train writes the run directory" 0 "best.safetensors" -- ls "$tmp/run"
  check "train keeps a time-stamped text log" 0 "^\[[0-9-]+ [0-9:.]+\] \[info\] epoch 1: val HTER" -- cat "$tmp/run/train.log"
  check "--quiet prints the result only" 0 "^1$" -- bash -c "\"\$0\" -q train \"\$@\" 2>&1 | wc -l" "$mmdg" "${tiny_train[@]}" --out "$tmp/run_quiet" --epochs 1 --steps-per-epoch 1
  check "--verbose adds the step lines" 0 "^step 1 \(epoch 1 step 1\): " -- "$mmdg" -v train "${tiny_train[@]}" --out "$tmp/run_verbose" --epochs 1 --steps-per-epoch 1
  printf '../outside/rgb.png ../outside/depth.png ../outside/ir.png 1\n' > "$tmp/outside.txt"
  check "a list path may not leave --data-root" 1 "outside.txt:1: '../outside/rgb.png' leaves --data-root" -- "$mmdg" train "${tiny_train[@]}" --train "$tmp/outside.txt" --out "$tmp/run_outside"
  check "--allow-outside-data-root lets it (then the file is missing)" 1 "outside.txt:1: .*outside/rgb.png: file not found" -- "$mmdg" --allow-outside-data-root train "${tiny_train[@]}" --train "$tmp/outside.txt" --out "$tmp/run_outside2"
  for variant in conflicted-only unconflicted-only none; do
    check "train with --regrad $variant" 0 "done: best epoch" -- "$mmdg" train "${tiny_train[@]}" --out "$tmp/run_$variant" --epochs 1 --steps-per-epoch 2 --regrad $variant
  done
  check "train refuses to overwrite a run" 1 "already holds a run" -- "$mmdg" train "${tiny_train[@]}" --out "$tmp/run" --epochs 1
  check "resume rejects new options" 1 "give no other options" -- "$mmdg" train --resume "$tmp/run" --epochs 5
  check "train rejects a bad option value" 2 "option regrad" -- "$mmdg" train "${tiny_train[@]}" --out "$tmp/run2" --regrad half
  check "train bounds the loader threads" 2 "option workers: must be in \[0, 64\]" -- "$mmdg" train --config mmdg_tiny --train "$tmp/synth/C-train.txt" --data-root "$tmp/synth" --out "$tmp/run3" --workers 100000
  check "train the ViT baseline" 0 "done: best epoch" -- "$mmdg" train "${tiny_train[@]}" --method vit --out "$tmp/vit" --epochs 1 --steps-per-epoch 2
  check "predict with the ViT baseline" 0 "live probability" -- "$mmdg" predict --checkpoint "$tmp/vit/best.safetensors" --rgb "$tmp/synth/W/test/002_0_live/rgb/0000.jpg" --depth "$tmp/synth/W/test/002_0_live/depth/0000.jpg" --ir "$tmp/synth/W/test/002_0_live/ir/0000.jpg"
  check "train the three-branch ViT with ReGrad" 0 "method vit\+regrad \(ViT / ReGrad\) = network vit \+ strategy regrad" -- "$mmdg" train "${tiny_train[@]}" --network vit --strategy regrad --out "$tmp/vit3" --epochs 1 --steps-per-epoch 1
  check "train a new run from a run's config.json" 0 "method vit \(ViT\) = network vit-concat \+ strategy ce" -- "$mmdg" train --config "$tmp/vit/config.json" --train "$tmp/synth/C-train.txt,$tmp/synth/S-train.txt" --data-root "$tmp/synth" --out "$tmp/vit_again" --epochs 1 --steps-per-epoch 1
  check "train names an unknown method" 1 "unknown method 'sgd' \(known: mmdg, vit, ssdg" -- "$mmdg" train "${tiny_train[@]}" --method sgd --out "$tmp/bad"
  check "train refuses a strategy the network cannot serve" 2 "option strategy: pmr needs per-modality branches, which network vit-concat does not have" -- "$mmdg" train "${tiny_train[@]}" --method vit-concat+pmr --out "$tmp/bad"
  check "regrad needs modality branches" 2 "regrad needs per-modality branches, which network vit-concat does not have" -- "$mmdg" train "${tiny_train[@]}" --network vit-concat --out "$tmp/bad2" --epochs 1 --steps-per-epoch 1
  check "eval a checkpoint on a list" 0 "target-eer" -- "$mmdg" eval --checkpoint "$tmp/run/best.safetensors" --list "$tmp/synth/W-test.txt" --val-list "$tmp/synth/W-val.txt" --data-root "$tmp/synth" --out-scores "$tmp/w.csv"
  check "train a comparison strategy by network+strategy" 0 "method vit-uadapter\+ssdg \(ViT \+ U-Adapter / SSDG\)" -- "$mmdg" train "${tiny_train[@]}" --method vit-uadapter+ssdg --ssdg-triplet-weight 2 --out "$tmp/ssdg" --epochs 1 --steps-per-epoch 2
  check "the strategy's network setting is saved with the run" 0 '"normalized_head": true' -- cat "$tmp/ssdg/config.json"
  check "eval the strategy's checkpoint with missing modalities" 0 "target-eer" -- "$mmdg" eval --checkpoint "$tmp/ssdg/best.safetensors" --list "$tmp/synth/W-test.txt" --data-root "$tmp/synth" --missing ir
  check "cmfl refuses the unimodal network" 2 "cmfl needs per-modality branches, which network vit-single does not have" -- "$mmdg" train "${tiny_train[@]}" --method vit-single+cmfl --modality ir --out "$tmp/single" --epochs 1 --steps-per-epoch 1
  check "train one modality with SSDG (Fig. 1(c))" 0 "method vit-single-depth\+ssdg \(ViT \(depth\) / SSDG\)" -- "$mmdg" train "${tiny_train[@]}" --method vit-single+ssdg --modality depth --out "$tmp/single_depth" --epochs 1 --steps-per-epoch 1
  live=("$tmp/synth/W/test/002_0_live/rgb/0000.jpg" "$tmp/synth/W/test/002_0_live/depth/0000.jpg" "$tmp/synth/W/test/002_0_live/ir/0000.jpg")
  check "predict decides at the checkpoint's threshold" 0 "decision: (live|spoof) at threshold [0-9.e-]+ \(source-val EER threshold of the best epoch, epoch [0-9]+\)" -- "$mmdg" predict --checkpoint "$tmp/run/best.safetensors" --rgb "${live[0]}" --depth "${live[1]}" --ir "${live[2]}"
  check "predict warns when a flag overrides the stored normalization" 0 "warning: --normalization half overrides the checkpoint's imagenet" -- "$mmdg" predict --checkpoint "$tmp/run/best.safetensors" --rgb "${live[0]}" --depth "${live[1]}" --ir "${live[2]}" --normalization half
  check "predict notes an older checkpoint's defaults" 0 "note: the checkpoint records no input pipeline" -- "$mmdg" predict --checkpoint "$tmp/init.safetensors" --rgb "${live[0]}" --depth "${live[1]}" --ir "${live[2]}"
  video="$tmp/synth/W/test/002_0_live"
  check "predict frame folders: one JSON line per frame and one per video" 0 '"type":"video".*"frames":1' -- "$mmdg" predict --checkpoint "$tmp/run/best.safetensors" --rgb "$video/rgb" --depth "$video/depth" --ir "$video/ir"
  check "eval reports per-attack APCER and APCER_PAIS" 0 "APCER_PAIS \(max\)" -- "$mmdg" eval --checkpoint "$tmp/run/best.safetensors" --list "$tmp/synth/W-test.txt" --data-root "$tmp/synth" --per-video
  check "eval has the checkpoint's threshold policy" 0 '"checkpoint"' -- "$mmdg" eval --checkpoint "$tmp/run/best.safetensors" --list "$tmp/synth/W-test.txt" --data-root "$tmp/synth" --json
  check "stress lists its corruptions" 0 "depth_dropout \(depth, local\): fraction" -- "$mmdg" stress --list-corruptions
  check "stress two models under depth dropout" 0 "degradation, mmdg - vit: " -- "$mmdg" stress --checkpoint mmdg="$tmp/run/best.safetensors" --checkpoint vit="$tmp/vit/best.safetensors" --list "$tmp/synth/W-test.txt" --data-root "$tmp/synth" --corruption depth_dropout --severities 0,1 --resamples 20 --out "$tmp/stress"
  check "predict --corrupt shows a corrupted input's maps" 0 "depth_reliability.png" -- "$mmdg" predict --checkpoint "$tmp/run/best.safetensors" --rgb "${live[0]}" --depth "${live[1]}" --ir "${live[2]}" --corrupt depth_dropout --severity 0.6 --maps "$tmp/corrupt_maps"
  check "stress names an unknown corruption" 2 "unknown corruption 'fog'" -- "$mmdg" stress --checkpoint "$tmp/run/best.safetensors" --list "$tmp/synth/W-test.txt" --data-root "$tmp/synth" --corruption fog --out "$tmp/stress2"
  photo="$(dirname "$0")/.photos/astronaut.png"
  if [[ -f "$photo" ]] && "$mmdg" predict --help | grep -q detect-face; then
    check "predict --detect-face on a real photograph" 0 "decision:" -- "$mmdg" predict --checkpoint "$tmp/run/best.safetensors" --rgb "$photo" --depth "$photo" --ir "$photo" --detect-face --maps "$tmp/face"
    check "the face crop is written beside the maps" 0 "rgb_face.png" -- ls "$tmp/face"
    { printf 'P5\n64 64\n255\n'; head -c 4096 /dev/zero | tr '\0' '\200'; } > "$tmp/wall.pgm"
    check "predict --detect-face names a frame without a face" 1 "wall.pgm: no face found" -- "$mmdg" predict --checkpoint "$tmp/run/best.safetensors" --rgb "$tmp/wall.pgm" --depth "$tmp/wall.pgm" --ir "$tmp/wall.pgm" --detect-face
    # a clip whose first frame has no face: reported, and the clip goes on (it used to stop at frame 0)
    mkdir -p "$tmp/clip"
    cp "$tmp/wall.pgm" "$tmp/clip/0000.png"  # OpenCV reads by content: a grey wall, no face
    cp "$photo" "$tmp/clip/0001.png"
    check "predict --detect-face on a clip: a frame without a face is reported" 0 '"frame":0,"face":null' -- "$mmdg" predict --checkpoint "$tmp/run/best.safetensors" --rgb "$tmp/clip" --depth "$tmp/clip" --ir "$tmp/clip" --detect-face
    check "predict --detect-face on a clip: the next frame's face box" 0 '"frame":1,.*"face":\{"x":[0-9]+,"y":[0-9]+,"w":[0-9]+,"h":[0-9]+,"in":"rgb"\}' -- "$mmdg" predict --checkpoint "$tmp/run/best.safetensors" --rgb "$tmp/clip" --depth "$tmp/clip" --ir "$tmp/clip" --detect-face
    check "predict --detect-face on a clip: the video counts both" 0 '"type":"video","frames":1,"frames_without_face":1' -- "$mmdg" predict --checkpoint "$tmp/run/best.safetensors" --rgb "$tmp/clip" --depth "$tmp/clip" --ir "$tmp/clip" --detect-face
    check "predict --detect-face --json gives the face box" 0 '"face": \{' -- "$mmdg" predict --checkpoint "$tmp/run/best.safetensors" --rgb "$photo" --depth "$photo" --ir "$photo" --detect-face --json
  else
    echo "skipped: --detect-face on a real photograph (no $photo or no face detection in this build)"
  fi
  check "eval --scores --per-video groups by the path column" 0 "^[0-9]+ live, [0-9]+ spoof" -- "$mmdg" eval --scores "$tmp/scores.csv" --per-video
  printf 'score,label\n0.3,1\n0.6,0\n' > "$tmp/novideo.csv"
  check "eval --scores --per-video needs a video or path column" 2 "no 'video' or 'path' column" -- "$mmdg" eval --scores "$tmp/novideo.csv" --per-video
  tr -d '\r' < "$tmp/synth/W-test.txt" | awk '$4 == 1' > "$tmp/onlylive.txt"
  check "eval names a list with one class" 1 "onlylive.txt: [0-9]+ live and 0 spoof samples; the metrics need both" -- "$mmdg" eval --checkpoint "$tmp/run/best.safetensors" --list "$tmp/onlylive.txt" --data-root "$tmp/synth"
  check "eval a scores CSV" 0 '"source-val"' -- "$mmdg" eval --scores "$tmp/w.csv" --val-scores "$tmp/w.csv" --json
  check "eval refuses a nan threshold" 2 "must be a number in \[0, 1\], got 'nan'" -- "$mmdg" eval --scores "$tmp/w.csv" --threshold nan
  check "eval per video with missing modalities" 0 "fixed" -- "$mmdg" eval --checkpoint "$tmp/run/best.safetensors" --list "$tmp/synth/W-test.txt" --data-root "$tmp/synth" --missing depth,ir --per-video
  printf 'score,label\n0.3,1\nabc,0\n' > "$tmp/bad.csv"
  check "eval names a bad CSV line" 1 "bad.csv:3: score 'abc'" -- "$mmdg" eval --scores "$tmp/bad.csv"
  check "plot the modality balance" 0 "wrote" -- "$mmdg" plot balance --run "$tmp/run" --out "$tmp/fig6.png"
  check "plot ROC curves" 0 "wrote" -- "$mmdg" plot roc --scores "MMDG=$tmp/w.csv" --out "$tmp/roc.png" --title test
  check "plot names a missing log" 1 "log.jsonl: file not found" -- "$mmdg" plot balance --run "$tmp/nothing" --out "$tmp/x.png"
  check "ablate lists Table 4's rows (dry run)" 0 "table 4 row 12/12: MMDG -> .*/mmdg" -- "$mmdg" ablate --table 4 --dry-run --lists "$tmp/synth" --out "$tmp/ablate" --config mmdg_tiny
  check "ablate writes the table in the paper's layout" 0 "\| ViT \+ U-Adapter \| ReGrad \(Conflicted-only\) \| 0 \| - \| - \| - \| 21.91 \| 85.65 \|" -- cat "$tmp/ablate/ablation_4.md"
  check "ablate names an unknown table" 2 "unknown table '6' \(expected one of: 4, 5, fig5, pretrain\)" -- "$mmdg" ablate --table 6 --lists "$tmp/synth" --out "$tmp/ablate"
  check "ablate names an unknown row" 2 "table 5 has no row 'vit'" -- "$mmdg" ablate --table 5 --rows vit --lists "$tmp/synth" --out "$tmp/ablate"
  # a real SIGINT: the run saves a resumable state, and --resume finishes it
  "$mmdg" train "${tiny_train[@]}" --out "$tmp/sig" --epochs 40 --steps-per-epoch 2 > "$tmp/sig.log" 2>&1 &
  pid=$!
  # signal once training has really started (the handlers are installed before the log exists)
  for _ in $(seq 1 240); do [[ -s "$tmp/sig/log.jsonl" ]] && break; sleep 0.25; done
  kill -INT $pid 2>/dev/null
  wait $pid
  rc=$?
  if [[ $rc -eq 0 ]]; then
    echo "ok: SIGINT (the run finished before the signal; not exercised)"
  elif [[ $rc -eq 130 ]] && grep -qE "interrupted (at|after) epoch" "$tmp/sig.log" && [[ -f "$tmp/sig/resume.pt" ]]; then
    echo "ok: SIGINT saves a resumable state"
    check "resume after SIGINT completes" 0 "done: best epoch" -- "$mmdg" train --resume "$tmp/sig"
  else
    echo "FAIL: SIGINT (rc=$rc)"; tail -5 "$tmp/sig.log"; fail=1
  fi
fi
exit $fail
