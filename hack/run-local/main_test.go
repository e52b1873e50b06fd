package main

import (
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kuadrant/gateway-api-metrics-exporter/internal/harness"
	"github.com/kuadrant/gateway-api-metrics-exporter/internal/testenv"
)

// TestMain sets the control plane up as `make run-local` does, with its
// default channel and the demo objects.
func TestMain(m *testing.M) {
	testenv.Main(m, func(e *testenv.Env) error {
		_, err := setUp(context.Background(), e, defaultChannel, true)
		return err
	})
}

// scrape returns the sample lines of one /metrics body.
func scrape(t *testing.T, x *harness.Exporter) []string {
	t.Helper()
	resp, err := http.Get(x.MetricsURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %d %v", resp.StatusCode, err)
	}
	return harness.SampleLines(body)
}

// TestHealthyDemoLogsNoWarning: the exporter on the demo objects (a healthy
// cluster), in both collection modes, serves every kind (all up) and logs no
// warning or error, though absent optional fields are still counted as
// evaluation errors.
func TestHealthyDemoLogsNoWarning(t *testing.T) {
	env := testenv.Current(t)
	for _, mode := range []string{"list", "watch"} {
		t.Run(mode, func(t *testing.T) {
			x := harness.Start(t, "exporter("+mode+")", append(slices.Clone(harness.LoopbackArgs), "--kubeconfig="+env.Kubeconfig, "--collection="+mode)...)
			// Every kind up, and the demo objects served (watch mode may need
			// a moment to sync).
			var lines []string
			deadline := time.Now().Add(60 * time.Second)
			for {
				lines = scrape(t, x)
				down := slices.ContainsFunc(lines, func(l string) bool {
					return strings.HasPrefix(l, "gateway_metrics_up{") && strings.HasSuffix(l, " 0")
				})
				if !down && len(harness.WithPrefix(lines, "gatewayapi_gateway_info")) > 0 && len(harness.WithPrefix(lines, "kuadrant_dnsrecord_")) > 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("after 60s, a kind is down or the demo objects are not served:\n%s", strings.Join(harness.WithPrefix(lines, "gateway_metrics_up"), "\n"))
				}
				time.Sleep(200 * time.Millisecond)
			}
			scrape(t, x) // a second scrape evaluates everything again
			telemetry, err := http.Get(x.TelemetryURL + "/metrics")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(telemetry.Body)
			telemetry.Body.Close()
			if !strings.Contains(string(body), "gateway_metrics_evaluation_errors_total{") {
				t.Errorf("no evaluation error counted: the absent optional fields (deletionTimestamp) must still count")
			}
			for _, level := range []string{"level=WARN", "level=ERROR"} {
				if got := x.LogLines(level); len(got) > 0 {
					t.Errorf("the exporter logged %d %s lines on the healthy demo objects:\n%s", len(got), level, strings.Join(got, "\n"))
				}
			}
		})
	}
}
