// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package testenv

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kuadrant/gateway-api-metrics-exporter/internal/repo"
)

// fakeGo is a `go` that "builds" by writing the -o file, and answers the
// other calls hack/eg-bin.sh makes (go list -m, go run of the chart renderer).
const fakeGo = `#!/bin/sh
case "$1" in
build)
  out=""; prev=""
  for a in "$@"; do [ "$prev" = "-o" ] && out=$a; prev=$a; done
  printf '#!/bin/sh\n' >"$out"; exit 0 ;;
list) echo /nonexistent ;;
run) echo "kind: List" ;;
*) exit 1 ;;
esac
`

// TestBuildScriptsSucceedCold runs hack/kube-bins.sh and hack/eg-bin.sh on an
// empty cache, as on a fresh machine, with a `go` that builds at once: each
// exits 0, prints its directory and leaves its binaries there. (A cold run
// once failed after a successful build: the progress ticker's EXIT trap
// killed a ticker already gone, and set -e made that the script's status.)
func TestBuildScriptsSucceedCold(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("skipping: no bash")
	}
	fake := t.TempDir()
	if err := os.WriteFile(filepath.Join(fake, "go"), []byte(fakeGo), 0o755); err != nil {
		t.Fatal(err)
	}
	for script, bins := range map[string][]string{
		"hack/kube-bins.sh": {"etcd", "kube-apiserver"},
		"hack/eg-bin.sh":    {"envoy-gateway", "gateway-helm.yaml"},
	} {
		path, err := repo.Path(script)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		cmd := exec.CommandContext(ctx, "bash", path)
		cmd.WaitDelay = 5 * time.Second
		cmd.Env = append(os.Environ(), "PATH="+fake+":"+os.Getenv("PATH"), "XDG_CACHE_HOME="+t.TempDir(), "KUBEBUILDER_ASSETS=", "KUBE_BIN=", "EG_BIN=")
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err = cmd.Run()
		cancel()
		if err != nil {
			t.Errorf("%s on an empty cache: %v\n%s", script, err, errb.String())
			continue
		}
		dir := strings.TrimSpace(out.String())
		for _, b := range bins {
			if _, err := os.Stat(filepath.Join(dir, b)); err != nil {
				t.Errorf("%s printed %q, which lacks %s: %v", script, dir, b, err)
			}
		}
	}
}
