#!/usr/bin/env bash
# Builds the libFuzzer targets in the sanitizer build (clang, ASan + UBSan; see
# configure_sanitized.sh) and runs each for FUZZ_SECONDS (default 60) from the
# seed corpus in fuzz/corpus/<target>.
# Exits non-zero, with the fuzzer's report, when any target finds a crash.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${FUZZ_SECONDS:-60}
BUILD_DIR=${BUILD_DIR:-build-asan}
BUILD_DIR=$BUILD_DIR bash scripts/configure_sanitized.sh
TARGETS=${FUZZ_TARGETS:-"safetensors idx bank request"}
for t in $TARGETS; do ninja -C "$BUILD_DIR" "${t}_fuzz" > /dev/null; done
failed=0
for t in $TARGETS; do
  corpus="$BUILD_DIR/corpus/$t"
  mkdir -p "$corpus" "$BUILD_DIR/crashes"
  echo "== $t: ${SECONDS_EACH}s"
  log="$BUILD_DIR/$t.log"
  if ./"$BUILD_DIR"/fuzz/${t}_fuzz -max_total_time="$SECONDS_EACH" -rss_limit_mb=4096 \
      -print_final_stats=1 -artifact_prefix="$BUILD_DIR/crashes/$t-" \
      "$corpus" "fuzz/corpus/$t" > "$log" 2>&1 && ! grep -q "runtime error" "$log"; then
    grep -E "stat::number_of_executed_units|stat::peak_rss_mb|stat::new_units_added" "$log"
  else
    # A crash, or undefined behaviour that UBSan reported without stopping.
    echo "!! $t found a crash (input saved under $BUILD_DIR/crashes/):"
    grep -E -A30 "ERROR|runtime error" "$log" | head -60
    failed=1
  fi
done
exit $failed
