#!/usr/bin/env bash
# Builds Envoy Gateway's control plane (envoy-gateway, github.com/envoyproxy/gateway)
# from its Go module into a cache outside the clone, beside the control-plane
# binaries and keyed by version, and renders its Helm chart there
# (gateway-helm.yaml, see hack/egbin/main.go). Only the first run on a machine
# pays the cold build (about 950 CPU-seconds, 8-10 minutes on 2 idle cores;
# the chart's renderer adds some 15, as it shares the compiled Kubernetes
# packages).
# Prints the directory. Used by e2e/envoygateway (internal/envoygateway).
set -euo pipefail
# Its own module at its own dependency versions, never the repository's go.work.
export GOWORK=off
EG_VERSION=v1.9.1
here=$(cd "$(dirname "$0")" && pwd)
bin=${EG_BIN:-${XDG_CACHE_HOME:-$HOME/.cache}/gateway-api-metrics-exporter/envoy-gateway-${EG_VERSION}}
mkdir -p "$bin"
cd "$here/egbin"
# One build at a time per cache (.ci/run starts one early in the background;
# make test-bins may ask again while it runs).
exec 9>"$bin/.lock"
flock 9

if [ ! -x "$bin/envoy-gateway" ]; then
  echo "eg-bin: building envoy-gateway ${EG_VERSION} into $bin; a cold build takes 8-10 minutes on 2 idle cores" >&2
  start=$SECONDS
  # Progress every minute, so CI logs show the build is alive. Killed, it
  # kills its sleep too, which would otherwise hold stderr open.
  ( trap 'kill $s 2>/dev/null; exit 0' TERM
    while :; do sleep 60 & s=$!; wait $s; echo "eg-bin: still building envoy-gateway ($((SECONDS - start))s)" >&2; done ) &
  ticker=$!
  # || true: the ticker is gone by the time the script exits, and under
  # set -e a failed kill here would become the script's exit status.
  trap 'kill $ticker 2>/dev/null || true' EXIT
  # Only the one binary, without cgo, paths or symbols (as Envoy Gateway's
  # release builds it), with its version stamped as its Makefile does.
  CGO_ENABLED=0 go build -trimpath \
    -ldflags "-s -w -X github.com/envoyproxy/gateway/internal/cmd/version.envoyGatewayVersion=${EG_VERSION}" \
    -o "$bin/envoy-gateway.tmp" github.com/envoyproxy/gateway/cmd/envoy-gateway
  mv "$bin/envoy-gateway.tmp" "$bin/envoy-gateway"
  kill $ticker 2>/dev/null || true
  echo "eg-bin: built envoy-gateway in $((SECONDS - start))s" >&2
fi

# The chart, rendered by Helm's engine from the module in the module cache
# (nothing of it is copied into the repository), again whenever the renderer or
# its dependencies change. Built as the binary is (-trimpath, no cgo), so that
# it reuses the Kubernetes packages compiled for it.
sum=$(cat main.go go.mod go.sum | sha256sum | cut -c1-16)
if [ ! -f "$bin/gateway-helm.yaml" ] || [ "$(cat "$bin/gateway-helm.yaml.sum" 2>/dev/null)" != "$sum" ]; then
  echo "eg-bin: rendering Envoy Gateway's Helm chart into $bin/gateway-helm.yaml" >&2
  moddir=$(go list -m -f '{{.Dir}}' github.com/envoyproxy/gateway)
  CGO_ENABLED=0 go run -trimpath . -chart "$moddir/charts/gateway-helm" -version "$EG_VERSION" >"$bin/gateway-helm.yaml.tmp"
  mv "$bin/gateway-helm.yaml.tmp" "$bin/gateway-helm.yaml"
  echo "$sum" >"$bin/gateway-helm.yaml.sum"
fi
echo "$bin"
