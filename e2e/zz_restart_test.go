package e2e

// This file sorts last, so TestAPIServerRestart runs after every other test of
// the package (go test runs tests in source order): stopping the shared
// kube-apiserver cannot disturb them.

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/testenv"
)

// TestAPIServerRestart: while the API server is down a scrape still answers
// 200 within Prometheus' scrape timeout, with every kind down and none of
// their families; once it is back the next scrape is complete again, with
// the same lines as before, without restarting the exporter.
func TestAPIServerRestart(t *testing.T) {
	env := testenv.Current(t)
	ns := nsFor(t)
	applySamples(t, env, ns)
	// Discovery off: its watch on CRDs is a long-running request, which
	// kube-apiserver's graceful shutdown waits for (up to its 60s
	// --shutdown-timeout), past testenv's 20s stop bound.
	x := startExporter(t, "--kubeconfig="+env.Kubeconfig, "--namespaces="+ns, "--discover-policies=false")

	before := x.scrape(t)
	parseText(t, before.Body)
	beforeLines := sampleLines(before.Body)
	assertAllUp(t, beforeLines)
	want := without(beforeLines, "gateway_metrics_scrape_duration_seconds")

	if err := env.StopAPIServer(); err != nil {
		t.Fatal(err)
	}
	stopped := true
	t.Cleanup(func() {
		if stopped { // leave the Env usable whatever happened
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			if err := env.RestartAPIServer(ctx); err != nil {
				t.Errorf("restart in cleanup: %v", err)
			}
		}
	})

	down := x.scrape(t, "X-Prometheus-Scrape-Timeout-Seconds", "3")
	if down.Took >= 5*time.Second {
		t.Errorf("scrape took %s with the API server down, want < 5s (scrape timeout 3s)", down.Took.Round(time.Millisecond))
	}
	t.Logf("scrape with the API server down took %s", down.Took.Round(time.Millisecond))
	parseText(t, down.Body)
	downLines := sampleLines(down.Body)
	var wantDown []string
	for _, k := range defaultKinds {
		// Discovery fails too; the series keeps the version last read, so
		// the outage does not start a new series under another label.
		wantDown = append(wantDown, upLine(k.Group, k.Kind, k.ReadVersion, "0"))
	}
	assertLines(t, "API server down: gateway_metrics_up", withPrefix(downLines, "gateway_metrics_up"), wantDown)
	for _, l := range downLines {
		if !strings.HasPrefix(l, "gateway_metrics_") {
			t.Errorf("API server down: a kind family is still served: %s", l)
		}
	}
	if st := x.get(t, x.MetricsURL+"/healthz").Status; st != http.StatusOK {
		t.Errorf("/healthz while the API server is down: %d, want 200", st)
	}

	// An exporter started while the API server is unreachable still starts,
	// serves every kind as down and is not ready...
	late := startExporter(t, "--kubeconfig="+env.Kubeconfig, "--namespaces="+ns)
	lateDown := sampleLines(late.scrape(t, "X-Prometheus-Scrape-Timeout-Seconds", "3").Body)
	if n := len(withPrefix(lateDown, "gateway_metrics_up")); n != len(defaultKinds) || len(withPrefix(lateDown, "gatewayapi_")) != 0 {
		t.Errorf("exporter started during the outage: %d up series, want %d, all 0:\n%s", n, len(defaultKinds), strings.Join(lateDown, "\n"))
	}
	if st := late.get(t, late.TelemetryURL+"/readyz").Status; st != http.StatusServiceUnavailable {
		t.Errorf("/readyz of an exporter that never reached the API server: %d, want 503", st)
	}

	if err := env.RestartAPIServer(ctxFor(t)); err != nil {
		t.Fatal(err)
	}
	stopped = false

	// ...and recovers without a restart once the API server is back.
	lateUp := sampleLines(late.scrape(t).Body)
	assertAllUp(t, lateUp)
	if st := late.get(t, late.TelemetryURL+"/readyz").Status; st != http.StatusOK {
		t.Errorf("/readyz after the API server came back: %d, want 200", st)
	}

	after := x.scrape(t)
	parseText(t, after.Body)
	afterLines := sampleLines(after.Body)
	assertAllUp(t, afterLines)
	assertLines(t, "after the restart", without(afterLines, "gateway_metrics_scrape_duration_seconds"), want)
	if st := x.get(t, x.TelemetryURL+"/readyz").Status; st != http.StatusOK {
		t.Errorf("/readyz after the restart: %d, want 200", st)
	}
}
