# Multi-stage image for the function platform. The build stage runs the tests, as the platform
# builds with tests; the runtime stage is slim and runs as a non-root user.
#
#   docker build -t logbot-gateway .

FROM rust:1-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends python3 python3-pip pkg-config libssl-dev \
    && rm -rf /var/lib/apt/lists/*
# Debian marks its Python as externally managed; the signer test installs into target/ only.
ENV PIP_BREAK_SYSTEM_PACKAGES=1
WORKDIR /src/gateway
COPY . .
RUN cargo test --locked --release \
    && cargo build --locked --release \
    && cp target/release/logbot-gateway /usr/local/bin/logbot-gateway

FROM debian:bookworm-slim AS runtime
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates libssl3 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin logbot \
    && mkdir -p /app/config /app/data && chown -R logbot /app
COPY --from=build /usr/local/bin/logbot-gateway /usr/local/bin/logbot-gateway
WORKDIR /app
USER logbot
ENV PORT=8080 LOGBOT__DATASPACE__DATA_DIR=/app/data LOGBOT__LOG__FORMAT=json
EXPOSE 8080
VOLUME ["/app/config"]
ENTRYPOINT ["/usr/local/bin/logbot-gateway"]
CMD ["serve"]
