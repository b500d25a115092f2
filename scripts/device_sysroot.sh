#!/usr/bin/env bash
# Packs the Debian 12 libraries the server, client, tools, tests and benchmarks
# need beyond LibTorch into .device/sysroot.tar.xz, for a GPU machine that has
# its own CUDA LibTorch, CMake and ninja but no gRPC, Abseil or protobuf
# (scripts/device_check.sh unpacks it there). Each package's files are copied as
# dpkg installed them here (what `dpkg-deb -x` of its .deb gives), without docs
# and without static archives the build does not link.
#
#   bash scripts/device_sysroot.sh      # then: run carry=[".device/sysroot.tar.xz"]
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=.device
ROOT=$OUT/sysroot
PACKAGES=(
  # Abseil, JSON, zlib, OpenSSL: core and everything above it.
  libabsl-dev libabsl20220623 nlohmann-json3-dev zlib1g-dev libssl-dev libssl3
  # gRPC and protobuf, with the code generators the build runs.
  libgrpc++-dev libgrpc-dev libgrpc++1.51 libgrpc29 libprotobuf-dev libprotobuf32
  libprotobuf-lite32 libprotoc32 protobuf-compiler protobuf-compiler-grpc libc-ares2
  libc-ares-dev libre2-9 libre2-dev
  # Metrics: prometheus-cpp's registry and text format, served by libmicrohttpd.
  # (prometheus-cpp's CMake files ask for its push library and CURL: not linked here.)
  prometheus-cpp-dev libprometheus-cpp-core1.0 libprometheus-cpp-pull1.0
  libprometheus-cpp-push1.0 libcivetweb1 libcivetweb-dev
  libcurl4-openssl-dev libcurl4
  libmicrohttpd-dev libmicrohttpd12 libgnutls30 libnettle8 libhogweed6 libgmp10
  libp11-kit0 libtasn1-6 libidn2-0 libunistring2
  # c10d's Gloo headers (wave-learn's data parallelism).
  libgloo-dev libgloo0 libhiredis0.14 libibverbs1 libnl-3-200 libnl-route-3-200
  # Tests and benchmarks (the data at the path the tests and tools read).
  dataset-fashion-mnist libgtest-dev libgmock-dev libbenchmark-dev libbenchmark1debian pkgconf pkgconf-bin
  libpkgconf3
)
# Loaded only where the machine's own libstdc++ is older than Debian 12's.
FALLBACK=(libstdc++6 libgcc-s1)

copy_package() {  # package, destination root
  dpkg -L "$1" | while read -r f; do
    case "$f" in /usr/share/doc/* | /usr/share/man/* | /usr/share/lintian/*) continue ;; esac
    case "$f" in *.a) [[ "$f" =~ /lib(gtest|gmock|benchmark)[a-z_]*\.a$ ]] || continue ;; esac
    if [[ -L "$f" || -f "$f" ]]; then
      mkdir -p "$2$(dirname "$f")"
      cp -a "$f" "$2$f"
    fi
  done
}

missing=()
for p in "${PACKAGES[@]}" "${FALLBACK[@]}"; do
  dpkg -s "$p" > /dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "not installed here: ${missing[*]} (apt-get install them first)" >&2
  exit 1
fi
rm -rf "$ROOT"
mkdir -p "$ROOT/fallback"
for p in "${PACKAGES[@]}"; do copy_package "$p" "$ROOT"; done
for p in "${FALLBACK[@]}"; do copy_package "$p" "$ROOT/fallback"; done
# Debian's CMake and pkg-config files name /usr; the device script points
# CMAKE_PREFIX_PATH and PKG_CONFIG_PATH here and rewrites the prefix on unpack.
dpkg-query -W -f='${Package} ${Version}\n' "${PACKAGES[@]}" "${FALLBACK[@]}" > "$ROOT/PACKAGES"
tar -C "$OUT" -cJf "$OUT/sysroot.tar.xz" sysroot
echo "sysroot: $(du -sh "$ROOT" | cut -f1) unpacked, $(du -h "$OUT/sysroot.tar.xz" | cut -f1) packed," \
  "${#PACKAGES[@]} packages (+ ${#FALLBACK[@]} fallback)"
