#!/usr/bin/env bash
# Installs exactly what a fresh Debian 12 machine lacks to build, test and run
# wave-init. Idempotent: when every package is present it only checks and exits.
# --sanitizers adds clang and its sanitizer/libFuzzer runtimes (for CI's
# scripts/test_sanitized.sh and scripts/fuzz.sh).
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git
  libtorch-dev libopenblas0-openmp
  libgrpc++-dev protobuf-compiler-grpc protobuf-compiler libprotobuf-dev grpc-proto
  libabsl-dev prometheus-cpp-dev libmicrohttpd-dev nlohmann-json3-dev zlib1g-dev libssl-dev
  libgtest-dev libgmock-dev libbenchmark-dev libgloo-dev libcpuinfo-dev
  libpng-dev libturbojpeg0-dev libzip-dev
  dataset-fashion-mnist gnuplot-nox python3 python3-yaml python3-pil
  fonts-dejavu-core fonts-liberation fonts-freefont-ttf fonts-croscore fonts-crosextra-carlito
  fonts-crosextra-caladea fonts-urw-base35
  python3-grpcio python3-protobuf python3-numpy python3-torch python3-torchvision python3-pytest
  python3-pip python3-venv python3-wheel python3-setuptools
)
if [[ "${1:-}" == "--sanitizers" ]]; then
  PACKAGES+=(clang libclang-rt-14-dev)
fi

missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$pkg")
done

if ((${#missing[@]} == 0)); then
  echo "setup: all ${#PACKAGES[@]} packages present"
  exit 0
fi

echo "setup: installing ${missing[*]}"
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
