#!/usr/bin/env bash
# Prints the directory holding etcd and kube-apiserver, the same one
# internal/testenv's BinDir picks:
#   - $KUBE_BIN when set (built there if missing);
#   - else $KUBEBUILDER_ASSETS when set (setup-envtest's layout, as
#     controller-runtime users have it): used as it is, nothing is built, and a
#     directory without both binaries is an error;
#   - else a cache outside the clone, keyed by version, where they are built
#     from Go modules, so that only the first run on a machine pays the cold
#     build (about 1,050 CPU-seconds).
set -euo pipefail
# Its own module at its own dependency versions, never the repository's go.work.
export GOWORK=off
KUBE_VERSION=v1.37.2
ETCD_VERSION=v3.7.0
here=$(cd "$(dirname "$0")" && pwd)

if [ -z "${KUBE_BIN:-}" ] && [ -n "${KUBEBUILDER_ASSETS:-}" ]; then
  missing=()
  for name in etcd kube-apiserver; do
    [ -f "$KUBEBUILDER_ASSETS/$name" ] && [ -x "$KUBEBUILDER_ASSETS/$name" ] || missing+=("$name")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "kube-bins: KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS lacks ${missing[*]}; point it at a directory holding etcd and kube-apiserver (setup-envtest use -p path), or unset it to build them from Go modules" >&2
    exit 1
  fi
  echo "kube-bins: using KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS (nothing built)" >&2
  echo "$KUBEBUILDER_ASSETS"
  exit 0
fi

# A failed build exits here (set -e) without returning from build(): stop its
# progress ticker then too, or it would hold the caller's output open.
trap 'kill $(jobs -p) 2>/dev/null || true' EXIT

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
  # Killed, it kills its sleep too, which would otherwise hold stderr open.
  ( trap 'kill $s 2>/dev/null; exit 0' TERM
    while :; do sleep 60 & s=$!; wait $s; echo "kube-bins: still building $name ($((SECONDS - start))s)" >&2; done ) &
  local ticker=$!
  trap 'kill $ticker 2>/dev/null || true' RETURN
  (cd "$here/kubebin" && CGO_ENABLED=0 go build -trimpath -ldflags "$flags" -o "$bin/$name.tmp" "$pkg")
  mv "$bin/$name.tmp" "$bin/$name"
  echo "kube-bins: built $name in $((SECONDS - start))s" >&2
}

build etcd go.etcd.io/etcd/server/v3 "-s -w"
build kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver "$ldflags"
echo "$bin"
