#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) and runs each for
# FUZZ_SECONDS (default 60) from the seed corpus in fuzz/corpus/<target>.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${FUZZ_SECONDS:-60}
if [[ ! -f build-fuzz/build.ninja ]]; then
  cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DWAVE_FUZZ=ON \
    -DWAVE_BUILD_TESTS=OFF -DWAVE_BUILD_BENCH=OFF > /dev/null
fi
TARGETS=${FUZZ_TARGETS:-"safetensors idx bank request"}
for t in $TARGETS; do ninja -C build-fuzz "${t}_fuzz" > /dev/null; done
mkdir -p build-fuzz/corpus
for t in $TARGETS; do
  mkdir -p "build-fuzz/corpus/$t"
  echo "== $t: ${SECONDS_EACH}s"
  ./build-fuzz/fuzz/${t}_fuzz -max_total_time="$SECONDS_EACH" -rss_limit_mb=4096 \
    -print_final_stats=1 "build-fuzz/corpus/$t" "fuzz/corpus/$t" 2>&1 \
    | grep -E "stat::number_of_executed_units|stat::peak_rss|ERROR|SUMMARY|Done" || true
done
