#!/usr/bin/env bash
# Builds core against the device machine's CUDA LibTorch (PyTorch 2.x) and runs
# wave-device-check. Debian's Abseil, nlohmann-json, zlib and OpenSSL travel in
# .device/sysroot (dpkg -x of the .debs; see the issue notes).
set -uo pipefail
OUT=${OUT:-/tmp/device-out}
mkdir -p "$OUT"
SYS=$PWD/.device/sysroot/usr
{
  echo "== environment"
  uname -r; ldd --version | head -1; (gcc --version || true) | head -1; cmake --version | head -1
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "cxx11abi", torch._C._GLIBCXX_USE_CXX11_ABI)'
} 2>&1 | tee "$OUT/env.txt"
TORCH_PREFIX=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
export LD_LIBRARY_PATH=$SYS/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}
cmake -S . -B build-cuda -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DWAVE_BUILD_SERVER=OFF -DWAVE_BUILD_TESTS=OFF -DWAVE_BUILD_BENCH=OFF \
  -DCMAKE_PREFIX_PATH="$TORCH_PREFIX;$SYS/lib/x86_64-linux-gnu/cmake;$SYS/share/cmake" \
  -DOPENSSL_ROOT_DIR="$SYS" -DZLIB_ROOT="$SYS" > "$OUT/configure.txt" 2>&1
echo "configure rc=$?"; tail -5 "$OUT/configure.txt"
time ninja -C build-cuda wave-device-check > "$OUT/build.txt" 2>&1
echo "build rc=$?"; grep -E "error|FAILED" "$OUT/build.txt" | head -20
./build-cuda/tools/device_check/wave-device-check 2>&1 | tee "$OUT/device_check.txt"
echo "check rc=${PIPESTATUS[0]}"
