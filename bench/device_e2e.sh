#!/usr/bin/env bash
# The service end to end on one device (the GPU table), one CSV row per
# call: 9x192, DeiT-S (12x384) and DeiT-B (12x768) from 1,000 images at 200
# fit steps (early stopping off, so every size runs the same steps) by phase;
# the DeiT-B file streamed without a fit; DeiT-S calls from 1, 2 and 4 clients
# at once.
#
#   DEVICE=cuda bash bench/device_e2e.sh BUILD_DIR OUT.csv     (DEVICE: cpu | cuda)
# QUICK=1 runs small sizes and few steps (the CPU dry run of device_check.sh).
set -euo pipefail
B=${1:?build dir}
CSV=${2:?output csv}
DEVICE=${DEVICE:-cuda}
BANK=${BANK:-models/fashion-mnist-vit.safetensors}
DATA=/usr/share/datasets/fashion-mnist
PORT=${PORT:-50091}
TMP=$(mktemp -d)
SERVER=
trap '[[ -n $SERVER ]] && kill $SERVER 2> /dev/null; rm -rf "$TMP"' EXIT
if [[ ${QUICK:-0} == 1 ]]; then
  SIZES="3x64 4x96 6x128"; STEPS=10; STREAM=6x128; CONCURRENT=4x96
else
  SIZES="9x192 12x384 12x768"; STEPS=200; STREAM=12x768; CONCURRENT=12x384
fi

start_server() {
  "$B/server/wave-server" --banks="$BANK" --device="$DEVICE" --address=127.0.0.1:$PORT \
    --metrics_port=0 --max_target_params=150000000 --cache_bytes=0 "$@" 2> "$TMP/server.log" &
  SERVER=$!
  for _ in $(seq 1 300); do
    "$B/client/wave-client" health --server=127.0.0.1:$PORT > /dev/null 2>&1 && return 0
    sleep 0.2
  done
  cat "$TMP/server.log" >&2
  exit 1
}
stop_server() { kill -TERM "$SERVER"; wait "$SERVER" || true; SERVER=; }

# One call; appends "section,size,clients,steps,client_s,<the summary's seconds>,bytes".
call() {  # section size clients steps out
  local section=$1 size=$2 clients=$3 steps=$4 out=$5 t0 t1
  t0=$(date +%s.%N)
  "$B/client/wave-client" init --server=127.0.0.1:$PORT --depth="${size%x*}" \
    --width="${size#*x}" --images=$DATA/train-images-idx3-ubyte.gz \
    --labels=$DATA/train-labels-idx1-ubyte.gz --samples=1000 --steps="$steps" --eval_every=0 \
    --out="$out" --json > "$out.json" 2> "$out.log"
  t1=$(date +%s.%N)
  /usr/bin/python3 - "$out.json" "$section" "$size" "$clients" "$steps" "$t0" "$t1" \
    "$(stat -c %s "$out")" >> "$CSV" << 'EOF'
import json, sys
summary, section, size, clients, steps, t0, t1, size_bytes = sys.argv[1:]
s = json.load(open(summary))["seconds"]
phases = [s.get(p, 0.0) for p in ("scaler_init", "fit", "compose", "stream", "total")]
print(",".join([section, size, clients, steps, f"{float(t1) - float(t0):.3f}"]
               + [f"{v:.3f}" for v in phases] + [size_bytes]))
EOF
}

echo "section,size,clients,steps,client_s,scaler_init_s,fit_s,compose_s,stream_s,server_total_s,file_bytes" \
  > "$CSV"
start_server
# A first call pays the device's start-up (CUDA context, kernels' first loads).
call warmup 3x64 1 5 "$TMP/w.safetensors"
for size in $SIZES; do call end_to_end "$size" 1 "$STEPS" "$TMP/e.safetensors"; done
call stream "$STREAM" 1 0 "$TMP/s.safetensors"
stop_server

# The server's default fit slots (--fit_slots) unless FIT_SLOTS says otherwise.
start_server ${FIT_SLOTS:+--fit_slots=$FIT_SLOTS}
for clients in 1 2 4; do
  for c in $(seq 1 "$clients"); do
    call "concurrent_$clients" "$CONCURRENT" "$clients" 50 "$TMP/c$c.safetensors" &
  done
  wait $(jobs -p | grep -v "^$SERVER\$")
done
stop_server
cat "$CSV"
