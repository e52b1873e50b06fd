// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package testenv

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/kuadrant/gateway-api-metrics-exporter/internal/refdata"
)

var (
	current    *Env
	skipReason string
	mainUsed   bool

	mu         sync.Mutex
	separate   map[string]*separateEnv // by name, see Separate
	afterTests []func() error
)

// InCI reports whether CI=true (or 1): there missing binaries are a hard failure.
func InCI() bool { return refdata.InCI() }

// Main is for TestMain: it starts one Env for the test package, runs setup (if
// not nil), runs the tests and stops the Env, then exits. If the binaries are
// missing it exits 1 in CI; locally the tests run but every Current() call skips.
// A failing start or setup exits 1.
func Main(m *testing.M, setup func(*Env) error) {
	os.Exit(runMain(m, Options{}, setup, nil))
}

// MainWithOptions is Main with Options for Start (e.g. ExtraTokens for RBAC tests).
// Options.Dir is normally left empty.
func MainWithOptions(m *testing.M, opts Options, setup func(*Env) error) {
	os.Exit(runMain(m, opts, setup, nil))
}

// MainWithTeardown is MainWithOptions with teardown, run after the tests (and
// after a failed setup) while the Env still runs, e.g. to stop a controller
// started in setup before its API server goes away. A teardown error fails
// the package.
func MainWithTeardown(m *testing.M, opts Options, setup, teardown func(*Env) error) {
	os.Exit(runMain(m, opts, setup, teardown))
}

func runMain(m *testing.M, opts Options, setup, teardown func(*Env) error) int {
	mainUsed = true
	if !flag.Parsed() {
		flag.Parse() // for testing.Verbose and -test.* flags
	}
	if err := CheckBinaries(); err != nil {
		if InCI() {
			fmt.Fprintf(os.Stderr, "FAIL: testenv: %v\nCI=true: a real kube-apiserver is required; run `make kube-bins` first.\n", err)
			return 1
		}
		skipReason = fmt.Sprintf("testenv: %v; skipping tests that need a kube-apiserver (in CI this fails)", err)
		fmt.Fprintln(os.Stderr, skipReason)
		return m.Run()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t0 := time.Now()
	env, err := Start(ctx, opts)
	if err != nil {
		cancel()
		fmt.Fprintf(os.Stderr, "FAIL: testenv: start: %v\n", err)
		return 1
	}
	startSecs := time.Since(t0).Seconds()
	if setup != nil {
		if err := setup(env); err != nil {
			cancel()
			fmt.Fprintf(os.Stderr, "FAIL: testenv: setup: %v\nkube-apiserver log tail:\n%s\n", err, env.LogTail("kube-apiserver", 20))
			if teardown != nil {
				if err := teardown(env); err != nil {
					fmt.Fprintf(os.Stderr, "testenv: teardown: %v\n", err)
				}
			}
			_ = env.Stop()
			return 1
		}
	}
	cancel()
	if testing.Verbose() {
		fmt.Fprintf(os.Stderr, "testenv: started in %.1fs, setup done after %.1fs, %s\n", startSecs, time.Since(t0).Seconds(), env.URL)
	}
	current = env
	defer func() {
		if r := recover(); r != nil {
			if teardown != nil {
				_ = teardown(env)
			}
			_ = env.Stop()
			panic(r)
		}
	}()
	code := m.Run()
	for _, check := range afterTests {
		if err := check(); err != nil {
			fmt.Fprintf(os.Stderr, "FAIL: after the tests: %v\n", err)
			code = 1
		}
	}
	mu.Lock()
	for name, s := range separate {
		if s.env == nil {
			continue
		}
		if err := s.env.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "testenv: stop %s: %v\n", name, err)
			if code == 0 {
				code = 1
			}
		}
	}
	mu.Unlock()
	if teardown != nil {
		if err := teardown(env); err != nil {
			fmt.Fprintf(os.Stderr, "FAIL: testenv: teardown: %v\n", err)
			code = 1
		}
	}
	if err := env.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "testenv: stop: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// AfterTests registers, from TestMain before Main, a check that Main runs
// once every test of the package has run (in whatever order -shuffle ran
// them), before it stops the Env: a check over what the tests did together,
// such as the families they saw served. An error fails the package's run.
func AfterTests(check func() error) { afterTests = append(afterTests, check) }

type separateEnv struct {
	once sync.Once
	env  *Env
	err  error
}

// Separate returns the package's Env named name, other than Current's,
// started on its first use with opts and setup, and stopped by Main after
// the tests: for tests that must not share Current's control plane, such as
// those that stop its API server (whatever order they run in, no other test
// sees the outage). Tests that use it share it, one after the other. It
// skips and fails as Current does.
func Separate(tb testing.TB, name string, opts Options, setup func(*Env) error) *Env {
	tb.Helper()
	Current(tb)
	mu.Lock()
	if separate == nil {
		separate = map[string]*separateEnv{}
	}
	s := separate[name]
	if s == nil {
		s = &separateEnv{}
		separate[name] = s
	}
	mu.Unlock()
	s.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		env, err := Start(ctx, opts)
		if err == nil && setup != nil {
			if err = setup(env); err != nil {
				_ = env.Stop()
			}
		}
		if err != nil {
			s.err = err
			return
		}
		mu.Lock()
		s.env = env
		mu.Unlock()
	})
	if s.err != nil {
		tb.Fatalf("testenv: the separate Env %q: %v", name, s.err)
	}
	return s.env
}

// Current returns the Env started by Main. Locally without binaries it skips
// the test; if Main was not used it fails the test.
func Current(tb testing.TB) *Env {
	tb.Helper()
	switch {
	case skipReason != "":
		tb.Skip(skipReason)
	case current == nil && !mainUsed:
		tb.Fatal("testenv: no Env: call testenv.Main(m, setup) in TestMain")
	case current == nil:
		tb.Fatal("testenv: no Env")
	}
	return current
}

// Require is Current for a test that only needs the Env to exist.
func Require(tb testing.TB) { tb.Helper(); Current(tb) }
