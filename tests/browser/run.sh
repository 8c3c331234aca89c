#!/usr/bin/env bash
# The serve page's browser test (serve_page_test.mjs): skips (exit 77) with the reason when node,
# Debian's chromium or the npm packages (scripts/setup.sh runs npm ci here) are absent.
# Usage: run.sh MMDG_PROGRAM TEST_DATA_DIR ARTIFACTS_DIR
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
command -v node >/dev/null || { echo "SKIP: node is not installed"; exit 77; }
chromium="${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}"
[[ -n "$chromium" ]] || { echo "SKIP: chromium is not installed (Debian: chromium)"; exit 77; }
[[ -d "$here/node_modules/playwright-core" ]] || { echo "SKIP: playwright-core is not installed (npm ci --prefix tests/browser)"; exit 77; }
export MMDG_CLI="$1" MMDG_TEST_DATA="$2" MMDG_ARTIFACTS="$3" CHROMIUM="$chromium"
exec node "$here/serve_page_test.mjs"
