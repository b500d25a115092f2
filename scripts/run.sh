#!/usr/bin/env bash
# The README's main job: set up, build, start wave-server on the bundled
# template bank, ask it for a size the bank never saw with a few hundred
# Fashion-MNIST images, print the summary, stop the server.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh

# The bundled bank first (the default), then the bank measured best on
# Fashion-MNIST's own classes (research/results/targets.md), which a request names.
# BANK (one file) is still heard, as before the second bank.
BANKS=${BANKS:-${BANK:-models/fashion-mnist-vit.safetensors,models/multi-aux-24/fashion-mnist-vit-multiaux24.safetensors,models/glyphs/glyphs-vit.safetensors}}
PORT=${PORT:-50051}
METRICS_PORT=${METRICS_PORT:-9090}
OUT=${OUT:-build/main-job}
mkdir -p "$OUT"
DATA=/usr/share/datasets/fashion-mnist

./build/server/wave-server --banks="$BANKS" --address="127.0.0.1:$PORT" \
  --metrics_port="$METRICS_PORT" 2> "$OUT/server.log" &
SERVER=$!
trap 'kill -TERM $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true' EXIT

for _ in $(seq 1 100); do
  ./build/client/wave-client health --server="127.0.0.1:$PORT" > /dev/null 2>&1 && break
  kill -0 $SERVER 2> /dev/null || { cat "$OUT/server.log"; exit 1; }
  sleep 0.2
done
./build/client/wave-client describe --server="127.0.0.1:$PORT"

# 9 layers x width 192: neither the depth nor the width of the bank's auxiliary.
./build/client/wave-client init --server="127.0.0.1:$PORT" \
  --depth=9 --width=192 --classes=10 \
  --images="$DATA/train-images-idx3-ubyte.gz" --labels="$DATA/train-labels-idx1-ubyte.gz" \
  --samples=500 --steps=100 --seed=1 \
  --out="$OUT/vit-9x192.safetensors" --scalers_out="$OUT/vit-9x192.scalers.safetensors"

kill -TERM $SERVER
wait $SERVER || true
trap - EXIT
echo "server log: $OUT/server.log"
tail -n 3 "$OUT/server.log"
