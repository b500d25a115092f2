#!/usr/bin/env bash
# The research's tests (ctest label "research"): wave-eval end to end at tiny
# sizes, its statistics, the protocol's choices, and that every committed
# report and the README's Results block are what the CSVs make. CI runs it
# after scripts/test.sh, on the same build.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
cd "${BUILD_DIR:-build}"
ctest --output-on-failure --timeout 900 -j "$(nproc)" -L research
