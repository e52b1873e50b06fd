// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package envoygateway

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kuadrant/gateway-api-metrics-exporter/internal/testenv"
)

var (
	current    *Controller
	skipReason string
)

// Main is for TestMain: it starts the package's control plane (testenv), the
// CRDs Envoy Gateway installs and one controller, runs setup (if not nil) and
// the tests, and stops the controller and then the control plane. Without the
// controller's binary, or where the sandbox cannot be made (not root), it
// exits 1 in CI and otherwise runs the tests, each of which skips (Current).
//
// It must be the first thing TestMain does: the test binary re-executes
// itself as the sandbox of each container (sandbox_linux.go), and Main runs
// that instead of the tests.
func Main(m *testing.M, setup func(*testenv.Env, *Controller) error) {
	if os.Getenv(sandboxEnv) != "" {
		os.Exit(runSandbox())
	}
	missing := CheckBinary()
	if missing == nil {
		missing = checkSandbox()
	}
	if missing == nil {
		missing = testenv.CheckBinaries()
	}
	if missing != nil {
		if testenv.InCI() {
			fmt.Fprintf(os.Stderr, "FAIL: envoygateway: %v\nCI=true: Envoy Gateway must run; `make eg-bin kube-bins` builds what it needs, as root.\n", missing)
			os.Exit(1)
		}
		skipReason = fmt.Sprintf("envoygateway: %v; skipping (in CI this fails)", missing)
		fmt.Fprintln(os.Stderr, skipReason)
		os.Exit(m.Run())
	}
	testenv.MainWithTeardown(m, testenv.Options{}, func(env *testenv.Env) error {
		ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
		defer cancel()
		if err := InstallCRDs(ctx, env); err != nil {
			return err
		}
		c, err := Start(ctx, env)
		if err != nil {
			return err
		}
		current = c
		if testing.Verbose() {
			fmt.Fprintf(os.Stderr, "envoygateway: %s leads; its log: %s\n", Version, c.LogPath())
		}
		if setup != nil {
			return setup(env, c)
		}
		return nil
	}, func(*testenv.Env) error {
		if current == nil {
			return nil
		}
		err := current.Stop()
		keepLog(current)
		return err
	})
}

// keepLog copies the controller's log out of the Env's directory (which Stop
// removes) when a test failed, and says where.
func keepLog(c *Controller) {
	if !failed.Load() {
		return
	}
	dst := filepath.Join(os.TempDir(), fmt.Sprintf("envoy-gateway-%d.log", os.Getpid()))
	if b, err := os.ReadFile(c.LogPath()); err == nil && os.WriteFile(dst, b, 0o644) == nil {
		fmt.Fprintf(os.Stderr, "envoygateway: the controller's log is kept in %s\n", dst)
	}
}

// failed is set when a test that called Current failed.
var failed atomic.Bool

// Current returns the package's Env and Controller, or skips the test where
// Main could not start them. A failing test keeps the controller's log.
func Current(t testing.TB) (*testenv.Env, *Controller) {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
	env := testenv.Current(t)
	if current == nil {
		t.Fatal("envoygateway: no controller: call envoygateway.Main(m, setup) in TestMain")
	}
	t.Cleanup(func() {
		if t.Failed() {
			failed.Store(true)
			t.Logf("envoygateway: last lines of the controller's log %s:\n%s", current.LogPath(), current.LogTail(40))
		}
	})
	return env, current
}
