#!/usr/bin/env bash
# Builds kube-apiserver and etcd from Go modules into a cache outside the clone,
# keyed by version, so that only the first run on a machine pays the cold build
# (about 1,050 CPU-seconds). Prints the directory holding the binaries.
set -euo pipefail
# Its own module at its own dependency versions, never the repository's go.work.
export GOWORK=off
KUBE_VERSION=v1.37.2
ETCD_VERSION=v3.7.0
here=$(cd "$(dirname "$0")" && pwd)
bin=${KUBE_BIN:-${XDG_CACHE_HOME:-$HOME/.cache}/gateway-api-metrics-exporter/kube-${KUBE_VERSION}}
mkdir -p "$bin"

minor=${KUBE_VERSION#v1.}; minor=${minor%%.*}
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=${KUBE_VERSION} -X $pkg.gitMajor=1 -X $pkg.gitMinor=${minor} -X $pkg.gitTreeState=clean"
done

build() { # name package flags
  local name=$1 pkg=$2 flags=$3
  if [ -x "$bin/$name" ]; then return; fi
  echo "kube-bins: building $name ($pkg) into $bin; a cold build takes 10-25 minutes on 2 cores" >&2
  local start=$SECONDS
  # Progress every minute, so CI logs show the build is alive.
  ( while sleep 60; do echo "kube-bins: still building $name ($((SECONDS - start))s)" >&2; done ) &
  local ticker=$!
  trap 'kill $ticker 2>/dev/null' RETURN
  (cd "$here/kubebin" && CGO_ENABLED=0 go build -trimpath -ldflags "$flags" -o "$bin/$name.tmp" "$pkg")
  mv "$bin/$name.tmp" "$bin/$name"
  echo "kube-bins: built $name in $((SECONDS - start))s" >&2
}

build etcd go.etcd.io/etcd/server/v3 "-s -w"
build kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver "$ldflags"
echo "$bin"
