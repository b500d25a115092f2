#!/usr/bin/env bash
# Builds the image with podman (no Docker engine here), starts it on
# loopback, checks `wave-client health` and one small `init` from outside,
# and stops it. Takes minutes: kept out of the quick test suite.
# Recipe from shared/containers.md: a local Debian base made by debootstrap,
# chroot isolation for the build, runc with low ulimits to run.
set -euo pipefail
cd "$(dirname "$0")/.."
apt_install() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" > /dev/null 2>&1 || missing+=("$p"); done
  if ((${#missing[@]})); then apt-get install -y -qq --no-install-recommends "${missing[@]}"; fi
}
apt_install podman runc debootstrap uidmap
if ! podman image exists localhost/debian:bookworm; then
  URI=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)
  ROOTFS=$(mktemp -d)
  debootstrap --variant=minbase bookworm "$ROOTFS" "$URI" > /dev/null
  tar -C "$ROOTFS" -c . | podman import - localhost/debian:bookworm
  rm -rf "$ROOTFS"
fi
podman build --format docker --isolation=chroot --network=host \
  --build-arg BASE=localhost/debian:bookworm -t wave-init:0.1.0 .
PORT=${PORT:-50061}
PROBE=${PROBE:-50062}
NAME=wave-init-test
podman --runtime runc rm -f $NAME > /dev/null 2>&1 || true
podman --runtime runc run -d --name $NAME --network=host \
  --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
  -e WAVE_ADDRESS=127.0.0.1:$PORT -e WAVE_PROBE_ADDRESS=127.0.0.1:$PROBE \
  -e WAVE_METRICS_PORT=0 -e WAVE_AUTH_TOKEN_FILE= wave-init:0.1.0
trap 'podman --runtime runc rm -f $NAME > /dev/null 2>&1 || true' EXIT
for _ in $(seq 1 100); do
  ./build/client/wave-client health --server=127.0.0.1:$PROBE > /dev/null 2>&1 && break
  sleep 0.3
done
./build/client/wave-client health --server=127.0.0.1:$PROBE
./build/client/wave-client health --server=127.0.0.1:$PORT
DATA=/usr/share/datasets/fashion-mnist
./build/client/wave-client init --server=127.0.0.1:$PORT --depth=3 --width=96 \
  --images=$DATA/t10k-images-idx3-ubyte.gz --labels=$DATA/t10k-labels-idx1-ubyte.gz \
  --samples=200 --steps=10 --out=build/container-test.safetensors
podman exec $NAME id -u | grep -qx 10001 && echo "runs as uid 10001"
podman --runtime runc stop -t 30 $NAME > /dev/null
podman logs $NAME 2>&1 | tail -4
echo "container test passed"
