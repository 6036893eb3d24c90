# Multi-stage image for the function platform, built from this folder alone:
#
#   docker build -t logbot-gateway .
#
# Stages:
# - chef:    the Rust toolchain with cargo-chef, which splits the dependency build from ours;
# - planner: the dependency recipe (only the manifests and Cargo.lock go into it);
# - build:   dependencies built in a layer of their own (cached until Cargo.toml/Cargo.lock
#            change), then the tests in release mode; the binary shipped is the one the tests ran;
# - runtime: Debian slim, numeric non-root user, data on a volume.
#
# The base images are arguments so that a platform can substitute its own mirrors.
ARG RUST_IMAGE=rust:1-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${RUST_IMAGE} AS chef
RUN cargo install cargo-chef --locked --version 0.1.78
WORKDIR /src

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS build
# python3 + pip: a test compares our signer with the official one from PyPI. redis-server: the
# cross-replica tests get a Redis of their own on a private port, so the result is the same
# whether or not something answers on 127.0.0.1:6379 while the image builds.
RUN apt-get update && apt-get install -y --no-install-recommends python3 python3-pip redis-server \
    && rm -rf /var/lib/apt/lists/*
# Debian marks its Python as externally managed; the signer test installs into target/ only.
ENV PIP_BREAK_SYSTEM_PACKAGES=1 CARGO_INCREMENTAL=0
COPY --from=planner /src/recipe.json recipe.json
# --tests: the dependencies as the test build resolves them (dev-dependencies unify features),
# which is also what the shipped binary is built with below.
RUN cargo chef cook --release --tests --recipe-path recipe.json
COPY . .
# `cargo test` builds the binary that the integration tests run (CARGO_BIN_EXE_*) into
# target/release; that exact file is shipped. A separate `cargo build --release` afterwards
# would recompile the crates whose features the dev-dependencies unify, and ship an untested
# binary two minutes later.
RUN redis-server --daemonize yes --port 6390 --bind 127.0.0.1 --save '' --appendonly no \
    && LOGBOT_TEST_REDIS_URL=redis://127.0.0.1:6390 LOGBOT_TEST_REQUIRE_REDIS=1 \
       cargo test --locked --release \
    && redis-cli -p 6390 shutdown nosave \
    && install -m 0755 target/release/logbot-gateway /usr/local/bin/logbot-gateway

FROM ${RUNTIME_IMAGE} AS runtime
# ca-certificates: reqwest (rustls) verifies DataSpace's and the messengers' certificates against
# the system roots. Nothing links OpenSSL, so no libssl.
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 logbot \
    && useradd --system --uid 10001 --gid 10001 --home-dir /app --shell /usr/sbin/nologin logbot \
    && mkdir -p /app/config /app/data \
    && chown -R 10001:0 /app && chmod -R g=u /app
# Group 0 owns /app with the owner's rights, so an arbitrary uid in group 0 (OpenShift's
# restricted policy runs `--user <random>:0`) can still write the embedded DataSpace's files.
COPY --from=build /usr/local/bin/logbot-gateway /usr/local/bin/logbot-gateway
WORKDIR /app
# Numeric, so that Kubernetes' runAsNonRoot can check it without reading /etc/passwd.
USER 10001:10001
ENV PORT=8080 LOGBOT__DATASPACE__DATA_DIR=/app/data LOGBOT__LOG__FORMAT=json
EXPOSE 8080
# The embedded DataSpace's SQLite file lives here; config comes from a ConfigMap mount at
# /app/config and needs no volume.
VOLUME ["/app/data"]
ENTRYPOINT ["/usr/local/bin/logbot-gateway"]
CMD ["serve"]
