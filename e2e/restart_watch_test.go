// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

// Its test stops the API server of restartEnv, as restart_test.go's do.

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kuadrant/gateway-api-metrics-exporter/internal/harness"
)

// TestAPIServerRestartWatchMode: in watch mode, an API server that goes away
// turns every kind down with none of its families (the watches broke and
// relisting fails, so the kept bytes may be stale), and once it is back the
// same lines are served again, without restarting the exporter.
func TestAPIServerRestartWatchMode(t *testing.T) {
	env := restartEnv(t)
	ns := nsFor(t)
	applySamples(t, env, ns)
	x := startExporter(t, "--kubeconfig="+env.Kubeconfig, "--namespaces="+ns, "--collection=watch")
	var want []string
	poll(t, "watch mode up", func() bool {
		l := harness.SampleLines(x.scrape(t).Body)
		want = kindLines(x.scrape(t).Body)
		return len(harness.WithPrefix(l, "gatewayapi_")) > 100 && !anySuffix(harness.WithPrefix(l, "gateway_metrics_up"), " 0")
	})
	assertAllUp(t, harness.SampleLines(x.scrape(t).Body))

	if err := env.StopAPIServer(); err != nil {
		// Open watches can hold a graceful stop past testenv's grace
		// period; it then kills the API server, which is down either way.
		t.Logf("stopping the API server: %v", err)
	}
	stopped := true
	t.Cleanup(func() {
		if stopped {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			if err := env.RestartAPIServer(ctx); err != nil {
				t.Errorf("restart in cleanup: %v", err)
			}
		}
	})
	poll(t, "every kind down with no families", func() bool {
		l := harness.SampleLines(x.scrape(t, "X-Prometheus-Scrape-Timeout-Seconds", "3").Body)
		ups := harness.WithPrefix(l, "gateway_metrics_up")
		return len(ups) > 0 && !anySuffix(ups, " 1") && len(harness.WithPrefix(l, "gatewayapi_")) == 0 && len(harness.WithPrefix(l, "kuadrant_")) == 0
	})

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := env.RestartAPIServer(ctx); err != nil {
		t.Fatal(err)
	}
	stopped = false
	var got []string
	poll(t, "the same lines after the restart", func() bool {
		got = kindLines(x.scrape(t).Body)
		return strings.Join(got, "\n") == strings.Join(want, "\n")
	})
}

// poll waits for cond; the bound is a liveness guard, not a performance
// expectation.
func poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("never %s", what)
}

func anySuffix(lines []string, suffix string) bool {
	for _, l := range lines {
		if strings.HasSuffix(l, suffix) {
			return true
		}
	}
	return false
}
