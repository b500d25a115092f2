# wave-init: a multi-stage image on Debian 12.
#   docker build -t wave-init .
# BASE lets a machine without registry access pass a locally imported Debian.
ARG BASE=debian:bookworm

FROM ${BASE} AS build
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update && apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config \
      libtorch-dev libopenblas0-openmp \
      libgrpc++-dev protobuf-compiler-grpc protobuf-compiler libprotobuf-dev grpc-proto \
      libabsl-dev prometheus-cpp-dev libmicrohttpd-dev nlohmann-json3-dev zlib1g-dev libssl-dev \
      libpng-dev libturbojpeg0-dev libzip-dev \
      libgloo-dev libcpuinfo-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt ./
COPY core core
COPY proto proto
COPY server server
COPY client client
COPY tools tools
COPY tests tests
COPY bench bench
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DWAVE_BUILD_TESTS=OFF -DWAVE_BUILD_BENCH=OFF \
    && cmake --build /build --target wave-server wave-client wave-learn \
    && strip /build/server/wave-server /build/client/wave-client /build/tools/learn/wave-learn

FROM ${BASE} AS runtime
ENV DEBIAN_FRONTEND=noninteractive
# Runtime libraries only: the -dev packages' shared objects, no compilers.
RUN apt-get update && apt-get install -y --no-install-recommends \
      libtorch1.13 libopenblas0-openmp libgloo0 libcpuinfo0 \
      libgrpc++1.51 libprotobuf32 libabsl20220623 \
      libprometheus-cpp-core1.0 libmicrohttpd12 zlib1g libssl3 ca-certificates \
      libpng16-16 libturbojpeg0 libzip4 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin wave
COPY --from=build /build/server/wave-server /build/client/wave-client \
     /build/tools/learn/wave-learn /usr/local/bin/
COPY models/fashion-mnist-vit.safetensors /opt/wave/banks/fashion-mnist-vit.safetensors
# Measured best on Fashion-MNIST's own classes; the first stays the default bank.
COPY models/multi-aux-24/fashion-mnist-vit-multiaux24.safetensors /opt/wave/banks/fashion-mnist-vit-multiaux24.safetensors
# RGB 3x32x32 letters (docs/own-data.md).
COPY models/glyphs/glyphs-vit.safetensors /opt/wave/banks/glyphs-vit.safetensors
COPY deploy/entrypoint.sh /usr/local/bin/wave-entrypoint
USER 10001
# gRPC, plaintext health for probes, Prometheus metrics.
EXPOSE 50051 50052 9090
ENV WAVE_BANKS=/opt/wave/banks/fashion-mnist-vit.safetensors,/opt/wave/banks/fashion-mnist-vit-multiaux24.safetensors,/opt/wave/banks/glyphs-vit.safetensors \
    WAVE_ADDRESS=0.0.0.0:50051 \
    WAVE_METRICS_PORT=9090 \
    WAVE_DEVICE=auto
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["wave-client", "health", "--server=127.0.0.1:50052"]
ENTRYPOINT ["wave-entrypoint"]
