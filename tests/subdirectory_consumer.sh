#!/usr/bin/env bash
# Configures examples/consumer with mmdg as a subdirectory (add_subdirectory) and checks that the
# library's targets resolve with paths relative to mmdg's tree, that the consumer's program is
# there, and that mmdg's tests and benchmarks are off. Configure only: building the library again
# would take the suite's time.
# Usage: subdirectory_consumer.sh SOURCE_DIR [BUILD_TYPE]
set -euo pipefail
source=$1 type=${2:-Release}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake -S "$source/examples/consumer" -B "$tmp/consumer" -DMMDG_SOURCE_DIR="$source" -DCMAKE_BUILD_TYPE="$type" \
      > "$tmp/configure.log" 2>&1 || { cat "$tmp/configure.log"; exit 1; }
targets=$(cmake --build "$tmp/consumer" --target help)
for want in score_face mmdg_util mmdg_infer mmdg_experiment; do
  grep -qw "$want" <<< "$targets" || { echo "FAIL: target $want missing"; exit 1; }
done
for unwanted in mmdg_tests mmdg_io_tests mmdg_bench; do
  ! grep -qw "$unwanted" <<< "$targets" || { echo "FAIL: $unwanted is built when mmdg is a subdirectory"; exit 1; }
done
# the generated header lands in mmdg's own binary folder, not the consumer's top level
test -f "$tmp/consumer/mmdg/generated/mmdg/util/build_info.h" || { echo "FAIL: build_info.h not under mmdg's binary dir"; exit 1; }
echo "subdirectory_consumer: ok"
