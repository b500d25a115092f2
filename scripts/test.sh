#!/usr/bin/env bash
# The README's test command: builds, then runs every test of the product
# through ctest (the research's tests, label "research", run by research/test.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
cd "${BUILD_DIR:-build}"
ctest --output-on-failure --timeout 900 -j "$(nproc)" -LE research
