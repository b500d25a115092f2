#!/bin/bash
# CPU seconds each side spends on six 100M-parameter streaming calls (steps=0),
# against the call's wall time: which side, if either, saturates a core.
cd "$(dirname "$0")/.."
B=build; PORT=50096
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
$B/server/wave-server --banks=models/fashion-mnist-vit.safetensors --address=127.0.0.1:$PORT \
  --metrics_port=0 --max_target_params=150000000 2> /dev/null &
S=$!
for _ in $(seq 1 100); do $B/client/wave-client health --server=127.0.0.1:$PORT >/dev/null 2>&1 && break; sleep 0.2; done
tick=$(getconf CLK_TCK)
cpu() { awk -v t=$tick '{print ($14+$15)/t}' /proc/$S/stat; }
for i in 1 2 3 4 5 6; do
  before=$(cpu)
  /usr/bin/time -f "%U %S %e" -o $T/cs.time $B/client/wave-client init --server=127.0.0.1:$PORT \
    --depth=8 --width=1024 --steps=0 --out=$T/big.safetensors --json > $T/cs.json 2>/dev/null
  after=$(cpu)
  python3 - "$before" "$after" "$T" <<'PY'
import json, sys
d = json.load(open(sys.argv[3] + '/cs.json')); s = d.get('summary', d)['seconds']
u, sy, e = map(float, open(sys.argv[3] + '/cs.time').read().split())
print("call %.2f s | server cpu %.2f s (compose %.2f, stream %.2f wall) | client cpu %.2f s (user %.2f sys %.2f)"
      % (e, float(sys.argv[2]) - float(sys.argv[1]), s['compose'], s['stream'], u + sy, u, sy))
PY
  rm -f $T/big.safetensors
done
kill -TERM $S; wait $S
