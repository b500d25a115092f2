#!/usr/bin/env bash
# Configures a clang sanitizer build in ${BUILD_DIR}, once.
#   (no argument)  AddressSanitizer + UndefinedBehaviorSanitizer with libFuzzer
#                  coverage, so the same objects serve the tests and the fuzzers
#                  (default BUILD_DIR: build-asan);
#   thread         ThreadSanitizer (default BUILD_DIR: build-tsan).
# -O1 with line tables only keeps compile time down while reports still name
# file and line.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ "${1:-}" == "thread" ]]; then
  BUILD_DIR=${BUILD_DIR:-build-tsan}
  SANITIZERS=(-DWAVE_TSAN=ON)
else
  BUILD_DIR=${BUILD_DIR:-build-asan}
  SANITIZERS=(-DWAVE_SANITIZE=ON -DWAVE_FUZZ=ON)
fi
if [[ ! -f "$BUILD_DIR/build.ninja" ]]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_FLAGS="-O1 -g1" \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    "${SANITIZERS[@]}" -DWAVE_BUILD_BENCH=OFF > /dev/null
fi
