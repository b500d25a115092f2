#!/usr/bin/env bash
# ThreadSanitizer over the server's concurrency: builds the server, client and
# end-to-end tests with clang -fsanitize=thread into build-tsan/ and runs the
# end-to-end suites (the server under test is the instrumented binary; any
# report makes it exit 66 at shutdown, which fails the clean-exit checks).
# Not in CI: LibTorch, gRPC and Abseil from Debian are not instrumented, so
# synchronization inside them is invisible to TSan (see docs/RELIABILITY.md).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build-tsan}
if [[ ! -f "$BUILD_DIR/build.ninja" ]]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_FLAGS="-O1 -g1" \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DWAVE_TSAN=ON -DWAVE_BUILD_BENCH=OFF > /dev/null
fi
ninja -C "$BUILD_DIR" wave-server wave-client wave-learn service_test bad_input_test \
  fault_test load_test
export TSAN_OPTIONS="halt_on_error=0:second_deadlock_stack=1:suppressions=$PWD/tests/tsan.supp"
cd "$BUILD_DIR"
ctest --output-on-failure --timeout 900 -j "$(nproc)" \
  -R "${TSAN_TESTS:-make_test_bank|ServiceTest|ServiceErrorTest|BadInputTest|ReloadTest|KillServerTest|LoadTest}"
