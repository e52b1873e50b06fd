// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package testenv_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kuadrant/gateway-api-metrics-exporter/internal/repo"
	"github.com/kuadrant/gateway-api-metrics-exporter/internal/testenv"
)

// unsetenv removes key for the test and restores it afterwards.
func unsetenv(t *testing.T, key string) {
	t.Helper()
	t.Setenv(key, "") // registers the restore
	if err := os.Unsetenv(key); err != nil {
		t.Fatal(err)
	}
}

// TestBinDirPrecedence: KUBE_BIN, then KUBEBUILDER_ASSETS (setup-envtest),
// then the cache hack/kube-bins.sh builds into.
func TestBinDirPrecedence(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	unsetenv(t, "KUBE_BIN")
	unsetenv(t, "KUBEBUILDER_ASSETS")
	if got, want := testenv.BinDir(), filepath.Join(cache, "gateway-api-metrics-exporter", "kube-"+testenv.KubeVersion); got != want {
		t.Errorf("neither set: BinDir() = %s, want the cache %s", got, want)
	}
	assets := t.TempDir()
	t.Setenv("KUBEBUILDER_ASSETS", assets)
	if got := testenv.BinDir(); got != assets {
		t.Errorf("KUBEBUILDER_ASSETS=%s: BinDir() = %s", assets, got)
	}
	err := testenv.CheckBinaries()
	if !errors.Is(err, testenv.ErrBinariesMissing) || !strings.Contains(err.Error(), assets) || !strings.Contains(err.Error(), "KUBEBUILDER_ASSETS") {
		t.Errorf("empty KUBEBUILDER_ASSETS: CheckBinaries() = %v; want ErrBinariesMissing naming the directory and the variable", err)
	}
	kubeBin := t.TempDir()
	t.Setenv("KUBE_BIN", kubeBin)
	if got := testenv.BinDir(); got != kubeBin {
		t.Errorf("KUBE_BIN and KUBEBUILDER_ASSETS: BinDir() = %s, want KUBE_BIN %s", got, kubeBin)
	}
}

// kubeBins runs hack/kube-bins.sh with env (on top of a PATH whose `go` only
// records that it ran, and a fresh cache): its stdout, stderr, whether it
// succeeded and whether it tried to build.
func kubeBins(t *testing.T, env ...string) (stdout, stderr string, ok, built bool) {
	t.Helper()
	script, err := repo.Path("hack/kube-bins.sh")
	if err != nil {
		t.Fatal(err)
	}
	fake := t.TempDir()
	marker := filepath.Join(fake, "go-ran")
	if err := os.WriteFile(filepath.Join(fake, "go"), []byte("#!/bin/sh\ntouch "+marker+"\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", script)
	cmd.WaitDelay = 5 * time.Second
	cmd.Env = append([]string{"PATH=" + fake + ":" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "XDG_CACHE_HOME=" + t.TempDir()}, env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	runErr := cmd.Run()
	_, statErr := os.Stat(marker)
	return strings.TrimSpace(out.String()), errb.String(), runErr == nil, statErr == nil
}

func fakeBinaries(t *testing.T, names ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestKubeBinsScriptUsesKubebuilderAssets: with KUBEBUILDER_ASSETS set (and
// KUBE_BIN not), hack/kube-bins.sh prints it and builds nothing; a directory
// without both binaries is an error, still without a build. Without either
// variable it builds (its `go` is called), which shows the check would see a
// build.
func TestKubeBinsScriptUsesKubebuilderAssets(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("skipping: no bash")
	}
	assets := fakeBinaries(t, "etcd", "kube-apiserver", "kubectl")
	out, stderr, ok, built := kubeBins(t, "KUBEBUILDER_ASSETS="+assets)
	if !ok || out != assets || built {
		t.Errorf("KUBEBUILDER_ASSETS with both binaries: ok=%v stdout=%q built=%v, want ok, %q, no build\n%s", ok, out, built, assets, stderr)
	}

	partial := fakeBinaries(t, "etcd")
	out, stderr, ok, built = kubeBins(t, "KUBEBUILDER_ASSETS="+partial)
	if ok || built || !strings.Contains(stderr, "kube-apiserver") {
		t.Errorf("KUBEBUILDER_ASSETS without kube-apiserver: ok=%v built=%v stdout=%q stderr=%q; want an error naming kube-apiserver, no build", ok, built, out, stderr)
	}

	kubeBin := fakeBinaries(t, "etcd", "kube-apiserver")
	out, stderr, ok, built = kubeBins(t, "KUBE_BIN="+kubeBin, "KUBEBUILDER_ASSETS="+partial)
	if !ok || out != kubeBin || built {
		t.Errorf("KUBE_BIN wins over KUBEBUILDER_ASSETS: ok=%v stdout=%q built=%v\n%s", ok, out, built, stderr)
	}

	if _, _, ok, built = kubeBins(t); ok || !built {
		t.Errorf("neither set, empty cache: ok=%v built=%v; want the script to try `go build`", ok, built)
	}
}

// TestStartFromKubebuilderAssets starts a control plane from a
// setup-envtest-style directory (links to the binaries this package runs
// with), KUBE_BIN unset: the e2e harness and run-local take it from there.
func TestStartFromKubebuilderAssets(t *testing.T) {
	testenv.Current(t) // the binaries are there (or the test skips, in CI fails)
	assets := t.TempDir()
	for _, n := range []string{"etcd", "kube-apiserver"} {
		if err := os.Symlink(filepath.Join(testenv.BinDir(), n), filepath.Join(assets, n)); err != nil {
			t.Fatal(err)
		}
	}
	unsetenv(t, "KUBE_BIN")
	t.Setenv("KUBEBUILDER_ASSETS", assets)
	t.Setenv("XDG_CACHE_HOME", t.TempDir()) // no binaries in the cache
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	env, err := testenv.Start(ctx, testenv.Options{})
	if err != nil {
		t.Fatalf("Start with KUBEBUILDER_ASSETS=%s: %v", assets, err)
	}
	defer func() {
		if err := env.Stop(); err != nil {
			t.Error(err)
		}
	}()
	if err := env.EnsureNamespace(ctx, "from-assets"); err != nil {
		t.Fatalf("the control plane from KUBEBUILDER_ASSETS does not serve: %v", err)
	}
}
