#!/usr/bin/env bash
# Data-parallel wave-learn on this machine: N ranks on loopback, as torchrun
# would start them (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT).
#   scripts/learn_distributed.sh 2 --out=bank.safetensors --work_dir=work --threads=1 ...
# Logs go to <work_dir>/rank-<r>.log; the script fails if any rank fails.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:?usage: learn_distributed.sh N [wave-learn flags]}
shift
WORK=$(printf '%s\n' "$@" | sed -n 's/^--work_dir=//p' | tail -n 1)
WORK=${WORK:-build/learn-distributed}
mkdir -p "$WORK"
PORT=${MASTER_PORT:-$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}
pids=()
for ((r = 0; r < N; r++)); do
  WORLD_SIZE=$N RANK=$r LOCAL_RANK=$r MASTER_ADDR=127.0.0.1 MASTER_PORT=$PORT \
    ${WAVE_LEARN:-./build/tools/learn/wave-learn} "$@" > "$WORK/rank-$r.log" 2>&1 &
  pids+=($!)
done
status=0
for ((r = 0; r < N; r++)); do
  if ! wait "${pids[$r]}"; then
    echo "rank $r failed:" >&2
    tail -n 3 "$WORK/rank-$r.log" >&2
    status=1
  fi
done
tail -n 1 "$WORK/rank-0.log"
exit $status
