#!/usr/bin/env bash
# The one prepared run on a GPU machine: builds everything (core, server,
# client, tools, tests, benchmarks) against the machine's CUDA LibTorch
# (PyTorch 2.x's) and Debian 12's other libraries carried in
# .device/sysroot.tar.xz (scripts/device_sysroot.sh), runs the whole ctest suite
# with the server on CUDA, then the GPU benchmarks. Everything it prints is also
# written under $OUT (commit it under docs/device/).
#
#   bash scripts/device_sysroot.sh                     # here, once
#   run carry=[".device/sysroot.tar.xz"] command="bash scripts/device_check.sh"
#
# The same script dry-runs on a CPU machine: DEVICE=cpu QUICK=1
# TORCH_PREFIX=/usr/lib/x86_64-linux-gnu/cmake bash scripts/device_check.sh
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/device-out}
DEVICE=${DEVICE:-cuda}
BUILD=${BUILD:-build-device}
JOBS=${JOBS:-$(nproc)}
mkdir -p "$OUT"
exec > >(tee "$OUT/device_check.txt") 2>&1
step() { echo; echo "== $* ($(date +%T))"; }
status=0

step "machine"
uname -sr; ldd --version | head -1; (g++ --version || true) | head -1; cmake --version | head -1
ninja --version; nproc; (nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true)
python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda,
  "cxx11abi", torch._C._GLIBCXX_USE_CXX11_ABI)' || true
TORCH_PREFIX=${TORCH_PREFIX:-$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')}
ABI=$(python3 -c 'import torch; print(int(torch._C._GLIBCXX_USE_CXX11_ABI))' 2> /dev/null || echo 1)
if [[ $ABI != 1 ]]; then
  # Debian's gRPC, protobuf and Abseil pass std::string in the C++11 ABI; one
  # binary cannot use both ABIs across those interfaces.
  echo "this LibTorch uses the pre-C++11 ABI: the server cannot link Debian's gRPC; stopping"
  exit 2
fi

step "sysroot"
SYS=$PWD/.device/sysroot
if [[ ! -d $SYS ]]; then
  tar -C .device -xJf .device/sysroot.tar.xz || { echo "no .device/sysroot.tar.xz: carry it"; exit 2; }
fi
cat "$SYS/PACKAGES" | tr '\n' ' '; echo
# pkg-config files name /usr; point them at the sysroot.
sed -i "s|^prefix=/usr\$|prefix=$SYS/usr|" "$SYS"/usr/lib/x86_64-linux-gnu/pkgconfig/*.pc
LIB=$SYS/usr/lib/x86_64-linux-gnu
export PATH=$SYS/usr/bin:$PATH
export PKG_CONFIG_PATH=$LIB/pkgconfig:$SYS/usr/share/pkgconfig
export LD_LIBRARY_PATH=$LIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
# Debian 12's libraries need GCC 12's libstdc++ (GLIBCXX_3.4.30).
SYSTEM_STDCXX=$(ldconfig -p | awk '/libstdc\+\+\.so\.6 .*x86-64/ {print $NF; exit}')
if ! grep -qa GLIBCXX_3.4.30 "$SYSTEM_STDCXX"; then
  echo "$SYSTEM_STDCXX predates GCC 12: using Debian's"
  export LD_LIBRARY_PATH=$SYS/fallback/usr/lib/x86_64-linux-gnu:$LD_LIBRARY_PATH
fi
# The tests and tools read Fashion-MNIST where Debian installs it.
if [[ ! -d /usr/share/datasets/fashion-mnist ]]; then
  mkdir -p /usr/share/datasets && ln -s "$SYS/usr/share/datasets/fashion-mnist" /usr/share/datasets/ \
    || echo "cannot place Fashion-MNIST under /usr/share/datasets: the data tests will fail"
fi

step "configure"
# Each package's CMake file named, so that none is taken from elsewhere on the
# machine; the check below lists any that still was.
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$TORCH_PREFIX;$LIB/cmake;$SYS/usr/share/cmake;$SYS/usr" \
  -Dabsl_DIR="$LIB/cmake/absl" -DgRPC_DIR="$LIB/cmake/grpc" -DGTest_DIR="$LIB/cmake/GTest" \
  -Dbenchmark_DIR="$LIB/cmake/benchmark" -Dprometheus-cpp_DIR="$LIB/cmake/prometheus-cpp" \
  -Dnlohmann_json_DIR="$SYS/usr/share/cmake/nlohmann_json" -DOPENSSL_ROOT_DIR="$SYS/usr" \
  -DZLIB_ROOT="$SYS/usr" -DProtobuf_ROOT="$SYS/usr" -DCURL_ROOT="$SYS/usr" \
  > "$OUT/configure.txt" 2>&1 || { grep -v "may be hidden" "$OUT/configure.txt" | tail -40; exit 1; }
grep -E "Found (Torch|CUDA)" "$OUT/configure.txt"
echo "found outside the sysroot (LibTorch's and the C library's are expected):"
grep -E "^[A-Za-z_-]+(_DIR|_LIBRARY|_INCLUDE_DIR|_EXECUTABLE)[A-Z_]*:(PATH|FILEPATH)=/" \
  "$BUILD/CMakeCache.txt" | grep -v -e "$SYS" -e "^CMAKE_" -e "^wave_init_" | sed 's/^/  /'

step "build"
# -k 0: a part that fails to build must not hide what the rest can show.
ninja -C "$BUILD" -k 0 -j "$JOBS" > "$OUT/build.txt" 2>&1 || status=1
grep -E "error|FAILED" "$OUT/build.txt" | head -40
tail -1 "$OUT/build.txt"
echo "the server's own libraries resolved outside the sysroot (the machine's):"
for lib in $(readelf -d "$BUILD/server/wave-server" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p'); do
  ldd "$BUILD/server/wave-server" | awk -v l="$lib" '$1 == l {print "  " $1, $3}' | grep -v "$SYS"
done

step "core on the device"
"$BUILD/tools/device_check/wave-device-check" || status=1

step "ctest, the server on $DEVICE (WAVE_SERVER_DEVICE)"
# The Python client's tests need grpcio in this machine's Python; they run in CI.
(cd "$BUILD" && WAVE_SERVER_DEVICE=$DEVICE ctest -j "$JOBS" --timeout 600 -E '^python_' \
  --output-on-failure > "$OUT/ctest.txt" 2>&1) || status=1
grep -E "tests passed|Failed|\*\*\*|Not Run|Timeout" "$OUT/ctest.txt" | head -40

step "benchmarks on $DEVICE"
QUICK_FILTER='Gemm|Bank'
WAVE_BENCH_DEVICE=$DEVICE "$BUILD/bench/fit_step_bench" \
  --benchmark_filter="$([[ ${QUICK:-0} == 1 ]] && echo "$QUICK_FILTER" || echo 'Gemm|Deit|Bank')" \
  --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
  --benchmark_out="$OUT/fit_step.json" --benchmark_out_format=json || status=1
DEVICE=$DEVICE bash bench/device_e2e.sh "$BUILD" "$OUT/device_e2e.csv" || status=1

step "done: status $status"
exit $status
