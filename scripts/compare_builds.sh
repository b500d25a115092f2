#!/usr/bin/env bash
# Whether two builds of the server return the same bytes for one fixed
# request (3x64 from 300 Fashion-MNIST images, 20 steps, seed 1, one thread),
# in float32 and float16: how a refactoring shows it changed no behaviour.
#   git worktree add /tmp/old REV && (cd /tmp/old && bash scripts/build.sh)
#   bash scripts/compare_builds.sh /tmp/old .
set -euo pipefail
OLD=$(realpath "${1:?usage: compare_builds.sh OLD_ROOT NEW_ROOT}")
NEW=$(realpath "${2:?usage: compare_builds.sh OLD_ROOT NEW_ROOT}")
DATA=/usr/share/datasets/fashion-mnist
BANK=$(realpath "$(dirname "$0")/../models/fashion-mnist-vit.safetensors")

digests() {  # root dtype
  local out port server
  out=$(mktemp -d)
  "$1/build/server/wave-server" --banks="$BANK" --address=127.0.0.1:0 --metrics_port=0 \
    --threads=1 2> "$out/server.log" &
  server=$!
  for _ in $(seq 1 150); do
    port=$(grep -o 'listening on port [0-9]*' "$out/server.log" | grep -o '[0-9]*$' || true)
    [[ -n "$port" ]] && break
    sleep 0.2
  done
  "$1/build/client/wave-client" init --server="127.0.0.1:$port" --depth=3 --width=64 \
    --classes=10 --images=$DATA/train-images-idx3-ubyte.gz \
    --labels=$DATA/train-labels-idx1-ubyte.gz --samples=300 --steps=20 --seed=1 \
    --dtype="$2" --out="$out/vit.safetensors" --scalers_out="$out/scalers.safetensors" \
    > /dev/null 2> "$out/client.log" || { cat "$out/client.log" >&2; return 1; }
  kill -TERM "$server"; wait "$server" || true
  sha256sum "$out/vit.safetensors" "$out/scalers.safetensors" | awk '{print $1}' | paste -sd' '
  rm -rf "$out"
}

same=1
for dtype in f32 f16; do
  old=$(digests "$OLD" "$dtype")
  new=$(digests "$NEW" "$dtype")
  echo "$dtype old: $old"
  echo "$dtype new: $new"
  [[ "$old" == "$new" ]] || same=0
done
[[ $same == 1 ]] && echo "same bytes" || { echo "the builds differ"; exit 1; }
