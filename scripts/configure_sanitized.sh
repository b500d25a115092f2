#!/usr/bin/env bash
# Configures the sanitizer build (clang; AddressSanitizer + UndefinedBehavior-
# Sanitizer; libFuzzer coverage, so the same objects serve the tests and the
# fuzzers) in ${BUILD_DIR:-build-asan}, once. -O1 with line tables only keeps
# compile time down while reports still name file and line.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build-asan}
if [[ ! -f "$BUILD_DIR/build.ninja" ]]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_FLAGS="-O1 -g1" \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DWAVE_SANITIZE=ON -DWAVE_FUZZ=ON -DWAVE_BUILD_BENCH=OFF > /dev/null
fi
