#!/usr/bin/env bash
# ThreadSanitizer over the server's concurrency: builds the server, client and
# end-to-end tests with clang -fsanitize=thread into build-tsan/ and runs the
# end-to-end suites against the instrumented server and client. Reports go to
# files under $BUILD_DIR/tsan-reports; any report fails the script.
# Not in CI: LibTorch, gRPC and Abseil from Debian are not instrumented, so
# synchronization inside them is invisible to TSan (see docs/RELIABILITY.md).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build-tsan}
BUILD_DIR=$BUILD_DIR bash scripts/configure_sanitized.sh thread
ninja -C "$BUILD_DIR" ${NINJA_JOBS:+-j "$NINJA_JOBS"} wave-server wave-client wave-learn \
  service_test bad_input_test fault_test load_test
REPORTS="$PWD/$BUILD_DIR/tsan-reports"
rm -rf "$REPORTS" && mkdir -p "$REPORTS"
export TSAN_OPTIONS="halt_on_error=0:second_deadlock_stack=1:suppressions=$PWD/tests/tsan.supp:log_path=$REPORTS/report"
cd "$BUILD_DIR"
ctest --output-on-failure --timeout 900 -j "$(nproc)" \
  -R "${TSAN_TESTS:-make_test_bank|Service|BadInputTest|ReloadTest|KillServerTest|LoadTest}"
if compgen -G "$REPORTS/report.*" > /dev/null; then
  echo "ThreadSanitizer reports ($(grep -l WARNING "$REPORTS"/report.* | wc -l) processes):"
  grep -h -A12 "WARNING: ThreadSanitizer" "$REPORTS"/report.* | head -200
  exit 1
fi
echo "no ThreadSanitizer report"
