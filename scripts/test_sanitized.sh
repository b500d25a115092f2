#!/usr/bin/env bash
# Builds the unit and end-to-end tests with AddressSanitizer + UndefinedBehavior-
# Sanitizer into build-asan/ and runs them (CI runs this after scripts/test.sh).
# Benchmarks are left out: they measure speed, which a sanitizer distorts.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build-asan}
BUILD_DIR=$BUILD_DIR bash scripts/configure_sanitized.sh
cmake --build "$BUILD_DIR" --parallel "$(nproc)"
# Any sanitizer report fails the test that triggered it. Leaks inside the
# uninstrumented libraries (LibTorch, gRPC) are listed in lsan.supp.
export ASAN_OPTIONS="abort_on_error=1:detect_leaks=1:strict_string_checks=1:check_initialization_order=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0"
cd "$BUILD_DIR"
ctest --output-on-failure --timeout 1800 -j "$(nproc)" -LE research "$@"
