#!/usr/bin/env bash
# The README's Python example in one command: builds if needed, starts
# wave-server on the bundled bank, runs examples/train_torchvision.py against
# it, stops the server. Extra arguments go to the example.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -x build/server/wave-server ]] || { bash scripts/setup.sh && bash scripts/build.sh; }
PORT=${PORT:-50061}
mkdir -p build/python-example
./build/server/wave-server --banks=models/fashion-mnist-vit.safetensors \
  --address="127.0.0.1:$PORT" --metrics_port=0 --threads="${SERVER_THREADS:-0}" \
  2> build/python-example/server.log &
SERVER=$!
trap 'kill -TERM $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  ./build/client/wave-client health --server="127.0.0.1:$PORT" > /dev/null 2>&1 && break
  kill -0 $SERVER 2> /dev/null || { cat build/python-example/server.log; exit 1; }
  sleep 0.2
done
/usr/bin/python3 examples/train_torchvision.py --server="127.0.0.1:$PORT" "$@"
