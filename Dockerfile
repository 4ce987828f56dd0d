# syntax=docker/dockerfile:1
# The provider and the demo resource server in one small image.
#
#   docker build -t oidc-provider .
#   docker run --rm -p 8080:8080 -e OIDC_ISSUER=https://id.example.com \
#     -e OIDC_DATABASE_URL=postgres://... -e OIDC_KEY_ENCRYPTION_KEY=... oidc-provider
#
# The entrypoint is `provider`; the default command is `serve` (run `provider dev` for the
# lab). `resource` is in the image too: override the entrypoint to run the demo API.

FROM rust:1.94-bookworm AS build
WORKDIR /src
# Dependencies first, so source edits do not rebuild them.
COPY Cargo.toml Cargo.lock ./
COPY keys keys
COPY openapi openapi
COPY provider provider
COPY resource resource
COPY client client
COPY tests tests
RUN cargo build --release --locked -p provider --bin provider \
 && cargo build --release --locked -p resource --features demo --bin resource \
 && mkdir -p /out/data \
 && cp target/release/provider target/release/resource /out/

# distroless: glibc and CA certificates, no shell, no package manager; uid 65532.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/provider /out/resource /usr/local/bin/
# dev mode's SQLite file and key-encryption key go here (owner-only); serve mode normally
# uses PostgreSQL and keeps nothing on disk.
COPY --from=build --chown=65532:65532 --chmod=0700 /out/data /var/lib/provider/data
WORKDIR /var/lib/provider
USER 65532:65532
ENV OIDC_BIND=0.0.0.0:8080 \
    OIDC_METRICS_BIND=0.0.0.0:9090 \
    OIDC_LOG_FORMAT=json
# 8080: OpenID Connect (put TLS in front, or give --tls-cert/--tls-key); 9090: /metrics and
# the probes, for the cluster only.
EXPOSE 8080 9090
# Reads OIDC_METRICS_BIND / OIDC_BIND like the node itself; exits 0 when /readyz says ready.
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
  CMD ["/usr/local/bin/provider", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/provider"]
CMD ["serve"]
