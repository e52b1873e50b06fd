#!/usr/bin/env bash
# Checks and unit-tests the Prometheus alerting rules in this directory.
#
#   deploy/rules/test.sh
#
# Needs promtool. When it is missing and we are root on a Debian-like system,
# installs Debian's "prometheus" package (which ships promtool).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"

if ! command -v promtool >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "promtool not found: installing Debian package 'prometheus'" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  else
    echo "promtool not found; install Prometheus (it ships promtool) and re-run" >&2
    exit 1
  fi
fi

promtool --version 2>&1 | head -n1

echo "== promtool check rules"
promtool check rules alerts.yaml

echo "== promtool test rules"
promtool test rules tests/*.yaml
