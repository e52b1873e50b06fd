#!/usr/bin/env bash
# Builds the real kube-state-metrics v2.20.0 into the cache beside the control
# plane binaries and prints its path. Used by `make bench` and by the cutover
# test of deploy/test/live (`make test-deploy`).
set -euo pipefail
# Its own module at its own dependency versions, never the repository's go.work.
export GOWORK=off
here=$(cd "$(dirname "$0")" && pwd)
bin=${KSM_BIN:-${XDG_CACHE_HOME:-$HOME/.cache}/gateway-api-metrics-exporter/ksm-v2.20.0/kube-state-metrics}
if [ ! -x "$bin" ]; then
  mkdir -p "$(dirname "$bin")"
  echo "ksm-bin: building kube-state-metrics v2.20.0 (a few minutes the first time)" >&2
  (cd "$here/ksmbin" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X github.com/prometheus/common/version.Version=v2.20.0" -o "$bin.tmp" k8s.io/kube-state-metrics/v2)
  mv "$bin.tmp" "$bin"
fi
echo "$bin"
