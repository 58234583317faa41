# syntax=docker/dockerfile:1
# backstop container image.
#   docker build -t backstop:0.1.0 .
# Stage 1 builds on full Debian 12 with the same packages as a developer machine
# (scripts/install-deps.sh); stage 2 carries only the binary and its shared libraries.

FROM debian:bookworm AS build
WORKDIR /src
# Dependencies first, so source edits reuse this layer.
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN ./scripts/install-deps.sh && rm -rf /var/lib/apt/lists/*
COPY . .
# A fresh build directory: .dockerignore keeps any host build/ (and its CMakeCache) out.
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release -DBACKSTOP_TESTS=OFF \
 && cmake --build /build -j"$(nproc)" --target backstop \
 && strip /build/backstop \
 && /build/backstop version

FROM debian:bookworm-slim
# Exactly the runtime libraries the binary links (check with `ldd build/backstop`):
# cpp-httplib, OpenSSL, spdlog + fmt, yaml-cpp, and zlib + brotli (cpp-httplib's codecs).
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libcpp-httplib0.11 libssl3 libspdlog1.10 libfmt9 libyaml-cpp0.7 zlib1g libbrotli1 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /build/backstop /usr/local/bin/backstop
# Fail the image build if a shared library is missing.
RUN ! ldd /usr/local/bin/backstop | grep -q 'not found'
# Non-root, numeric (so runAsNonRoot can verify it without /etc/passwd).
USER 65532:65532
EXPOSE 8443
ENTRYPOINT ["/usr/local/bin/backstop"]
CMD ["serve", "--listen", "0.0.0.0:8443", \
     "--tls-cert", "/etc/backstop/tls/tls.crt", "--tls-key", "/etc/backstop/tls/tls.key", \
     "--config", "/etc/backstop/config/config.yaml", "--log-format", "json", \
     "--record-events"]
