#!/usr/bin/env bash
# Runs every benchmark and writes BENCHMARKS.md (machine, date, commands,
# figures, ratios against the targets). QUICK=1 shrinks the service benchmarks.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh > /dev/null
B=build
BANK=${BANK:-models/fashion-mnist-vit.safetensors}
TMP=$(mktemp -d)
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$TMP"' EXIT
DATA=/usr/share/datasets/fashion-mnist
REPORT=BENCHMARKS.md

json_summary() { /usr/bin/python3 bench/summarize.py "$@"; }

echo "compose..." >&2
$B/bench/compose_bench --benchmark_filter=Deit --benchmark_repetitions=3 \
  --benchmark_report_aggregates_only=true --benchmark_format=json > "$TMP/compose.json"
echo "fit step..." >&2
$B/bench/fit_step_bench --benchmark_filter='Gemm|Deit|Bank|Attention' --benchmark_repetitions=3 \
  --benchmark_report_aggregates_only=true --benchmark_format=json > "$TMP/fit.json"

PORT=50071
# Without the result cache: these sections time fits and streams, and their
# repeated identical calls would otherwise be cache hits (section 7 times those).
start_server() {
  $B/server/wave-server --banks="$BANK" --address=127.0.0.1:$PORT --metrics_port=0 \
    --max_target_params=150000000 --cache_bytes=0 "$@" 2> "$TMP/server.log" &
  SERVER=$!
  for _ in $(seq 1 100); do
    $B/client/wave-client health --server=127.0.0.1:$PORT > /dev/null 2>&1 && return 0
    sleep 0.2
  done
  cat "$TMP/server.log"; exit 1
}
stop_server() { kill -TERM $SERVER; wait $SERVER || true; }
rss_kib() { awk '/VmRSS/ {print $2}' /proc/$1/status; }
hwm_kib() { awk '/VmHWM/ {print $2}' /proc/$1/status; }

echo "streaming..." >&2
$B/bench/stream_parts_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
  --benchmark_format=json > "$TMP/stream_parts.json"
start_server
SERVER_IDLE=$(rss_kib $SERVER)  # LibTorch and the bank, before any call
# The server's first call of a size also pays first-touch page faults for its
# outputs; the second reuses that memory, as a serving process's calls do.
$B/client/wave-client init --server=127.0.0.1:$PORT --depth=8 --width=1024 --steps=0 \
  --out="$TMP/big.safetensors" --json > "$TMP/stream_first.json"
rm -f "$TMP/big.safetensors"
/usr/bin/time -f "%e %M" -o "$TMP/stream.time" $B/client/wave-client init \
  --server=127.0.0.1:$PORT --depth=8 --width=1024 --steps=0 --out="$TMP/big.safetensors" --json \
  > "$TMP/stream.json"
SERVER_HWM=$(hwm_kib $SERVER)
stop_server
BIG_BYTES=$(stat -c %s "$TMP/big.safetensors")
sync
WRITE_S=$( { /usr/bin/time -f "%e" cp "$TMP/big.safetensors" "$TMP/copy.safetensors"; } 2>&1 )

echo "end to end..." >&2
E2E_STEPS=${E2E_STEPS:-200}  # the default fit
start_server
/usr/bin/time -f "%e" -o "$TMP/e2e.time" $B/client/wave-client init --server=127.0.0.1:$PORT \
  --depth=12 --width=384 --images=$DATA/train-images-idx3-ubyte.gz \
  --labels=$DATA/train-labels-idx1-ubyte.gz --samples=1000 --steps=$E2E_STEPS \
  --out="$TMP/deits.safetensors" --json > "$TMP/e2e.json"
stop_server

echo "concurrency..." >&2
CALLS=${CALLS:-16}
start_server --fit_slots=2 --max_queued=2 --threads=1 --max_client_share=1
: > "$TMP/concurrency.txt"
for clients in 1 2 4 8; do
  start=$(date +%s.%N)
  for c in $(seq 1 $clients); do
    ( for i in $(seq 1 $((CALLS / clients))); do
        $B/client/wave-client init --server=127.0.0.1:$PORT --depth=2 --width=64 --steps=5 \
          --images=$DATA/t10k-images-idx3-ubyte.gz --labels=$DATA/t10k-labels-idx1-ubyte.gz \
          --samples=64 --out="$TMP/c$c.safetensors" > /dev/null 2> "$TMP/c$c.$i.err" \
          && echo ok || (grep -o "([A-Z_]*)$" "$TMP/c$c.$i.err" || echo "(?)")
      done ) >> "$TMP/conc.$clients" &
  done
  wait $(jobs -p | grep -v "^$SERVER$") 2>/dev/null || true
  end=$(date +%s.%N)
  echo "$clients $start $end $(sort "$TMP/conc.$clients" | uniq -c | tr '\n' ';')" >> "$TMP/concurrency.txt"
done
stop_server

echo "memory..." >&2
MEM_CALLS=${MEM_CALLS:-1000}
start_server --threads=1
IDLE=$(rss_kib $SERVER)
for i in $(seq 1 $MEM_CALLS); do
  $B/client/wave-client init --server=127.0.0.1:$PORT --depth=2 --width=64 --steps=0 \
    --out="$TMP/m.safetensors" > /dev/null 2>&1
  [[ $i == 100 ]] && AFTER100=$(rss_kib $SERVER)
done
AFTER=$(rss_kib $SERVER)
stop_server

echo "cache..." >&2
/usr/bin/python3 bench/cache_bench.py --out=bench/results/cache.csv

json_summary --compose "$TMP/compose.json" --fit "$TMP/fit.json" \
  --stream-parts "$TMP/stream_parts.json" --stream-json "$TMP/stream.json" \
  --stream-first-json "$TMP/stream_first.json" --stream-time "$TMP/stream.time" --server-hwm "$SERVER_HWM" --server-idle "$SERVER_IDLE" \
  --file-bytes "$BIG_BYTES" --write-seconds "$WRITE_S" \
  --e2e-json "$TMP/e2e.json" --e2e-time "$TMP/e2e.time" --e2e-steps "$E2E_STEPS" \
  --concurrency "$TMP/concurrency.txt" --calls "$CALLS" \
  --memory "$IDLE,${AFTER100:-0},$AFTER,$MEM_CALLS" --cache-csv bench/results/cache.csv > "$REPORT"
cat bench/reading.md >> "$REPORT"  # the hand-written reading of the figures
# Sections of their own, spliced in before the reading.
echo "reading images..." >&2
/usr/bin/python3 bench/image_load.py
echo "cost growth..." >&2
/usr/bin/python3 bench/cost_growth.py
echo "fit step profile..." >&2
/usr/bin/python3 bench/fit_profile.py
echo "wrote $REPORT" >&2
