# syntax=docker/dockerfile:1
#
# gateway-api-metrics-exporter image, for Docker users (make docker-image).
# `make image` builds the same image without a Docker engine (hack/image).
#   docker build -t ghcr.io/kuadrant/gateway-api-metrics-exporter:dev .
# Multi-arch: docker buildx build --platform linux/amd64,linux/arm64 ...

FROM --platform=$BUILDPLATFORM golang:1.26 AS build
ARG TARGETOS=linux
ARG TARGETARCH
ARG VERSION=devel
ARG REVISION=unknown
WORKDIR /src

# Dependencies first, so that they are cached across source changes.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download

# GOWORK=off: the image is built from the exporter's own go.mod, not go.work.
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} GOWORK=off \
    go build -trimpath -ldflags="-s -w -X github.com/prometheus/common/version.Version=${VERSION} -X github.com/prometheus/common/version.Revision=${REVISION}" \
      -o /out/gateway-api-metrics-exporter ./cmd/gateway-api-metrics-exporter

FROM gcr.io/distroless/static:nonroot
ARG VERSION=devel
ARG REVISION=unknown
LABEL org.opencontainers.image.title="gateway-api-metrics-exporter" \
      org.opencontainers.image.description="Prometheus exporter for Gateway API and Kuadrant resource state, compatible with kube-state-metrics" \
      org.opencontainers.image.source="https://github.com/kuadrant/gateway-api-metrics-exporter" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
COPY --from=build /out/gateway-api-metrics-exporter /usr/local/bin/gateway-api-metrics-exporter
USER 65532:65532
# 8080: /metrics /healthz /livez /   8081 (telemetry): /metrics /readyz /
EXPOSE 8080 8081
ENTRYPOINT ["/usr/local/bin/gateway-api-metrics-exporter"]
CMD ["--port=8080", "--telemetry-port=8081"]
