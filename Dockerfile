# posgate container image: `docker build -t posgate .`
#
# Stages: `build` compiles the release binary; `runtime-base` is the minimal Debian runtime
# (glibc, CA certificates, a non-root user); the final stage copies the binary in. The
# `prebuilt` stage packages a binary built outside Docker instead (CI: --target prebuilt
# --build-arg BINARY=target/debug/posgate) so tests do not compile twice.
ARG RUST_IMAGE=rust:1-slim-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${RUST_IMAGE} AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin posgate \
    && install -D -m 0755 target/release/posgate /out/posgate

FROM ${RUNTIME_IMAGE} AS runtime-base
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 posgate \
    && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/posgate \
       --shell /usr/sbin/nologin posgate \
    && install -d -o 10001 -g 10001 -m 0750 /var/lib/posgate
WORKDIR /var/lib/posgate
# Listen on every interface inside the container; JSON logs; the SQLite file (when no
# database.url is set) on the data volume. Photos are stored in the database.
ENV POSGATE_HTTP_LISTEN=0.0.0.0:8080 \
    POSGATE_LOG_FORMAT=json \
    POSGATE_MQTT_PHOTO_DIR= \
    POSGATE_DATABASE_SQLITE_PATH=/var/lib/posgate/posgate.db
EXPOSE 8080
USER 10001:10001
ENTRYPOINT ["/usr/local/bin/posgate"]
CMD ["serve"]

FROM runtime-base AS prebuilt
ARG BINARY=target/release/posgate
COPY ${BINARY} /usr/local/bin/posgate

FROM runtime-base AS runtime
COPY --from=build /out/posgate /usr/local/bin/posgate
