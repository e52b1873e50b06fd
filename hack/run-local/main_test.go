// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"flag"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kuadrant/gateway-api-metrics-exporter/internal/harness"
	"github.com/kuadrant/gateway-api-metrics-exporter/internal/repo"
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
	return harness.SampleLines(x.Get(t, "/metrics"))
}

// waitAllUp scrapes until every kind is up and the demo objects are served
// (watch mode may need a moment to sync), and returns that body's lines.
func waitAllUp(t *testing.T, x *harness.Exporter) []string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		lines := scrape(t, x)
		down := slices.ContainsFunc(lines, func(l string) bool {
			return strings.HasPrefix(l, "gateway_metrics_up{") && strings.HasSuffix(l, " 0")
		})
		if !down && len(harness.WithPrefix(lines, "gatewayapi_gateway_info")) > 0 && len(harness.WithPrefix(lines, "kuadrant_dnsrecord_")) > 0 {
			return lines
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 60s, a kind is down or the demo objects are not served:\n%s", strings.Join(harness.WithPrefix(lines, "gateway_metrics_up"), "\n"))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestMetricsExamplesAreServed: every example line of METRICS.md (hack/
// metricsdoc renders them offline from the same demo objects, at the
// version it works out the exporter reads) is a line the exporter serves on
// run-local's API server, customresource_version included; only the
// *_created values differ (the API server stamps creationTimestamp).
func TestMetricsExamplesAreServed(t *testing.T) {
	env := testenv.Current(t)
	doc, err := repo.ReadFile("METRICS.md")
	if err != nil {
		t.Fatal(err)
	}
	// METRICS.md has an example of every family, the opt-in ones too.
	x := harness.Start(t, "exporter", append(slices.Clone(harness.LoopbackArgs), "--kubeconfig="+env.Kubeconfig, "--metric-opt-in-list=.*")...)
	served := map[string]bool{}
	for _, l := range waitAllUp(t, x) {
		served[l] = true
		if name := harness.MetricName(l); strings.HasSuffix(name, "_created") {
			served[l[:strings.LastIndexByte(l, ' ')]] = true
		}
	}
	n := 0
	for _, block := range strings.Split(string(doc), "Examples, as the exporter serves the demo objects")[1:] {
		start := strings.Index(block, "```\n")
		end := strings.Index(block[start+4:], "```")
		for _, l := range strings.Split(block[start+4:start+4+end], "\n") {
			if l == "" || strings.HasPrefix(l, "#") {
				continue
			}
			n++
			key := l
			if strings.HasSuffix(harness.MetricName(l), "_created") {
				key = l[:strings.LastIndexByte(l, ' ')]
			}
			if !served[key] {
				t.Errorf("METRICS.md example not served: %s", l)
			}
		}
	}
	if n < 100 {
		t.Fatalf("only %d example lines found in METRICS.md", n)
	}
	t.Logf("all %d example lines of METRICS.md are served", n)
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
			waitAllUp(t, x)
			scrape(t, x) // a second scrape evaluates everything again
			counted := false
			for _, l := range harness.WithPrefix(harness.SampleLines(x.Get(t, "telemetry:/metrics")), "gateway_metrics_family_evaluation_errors") {
				counted = counted || !strings.HasSuffix(l, " 0")
			}
			if !counted {
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

// TestOptionsDocumented: the README's table of run-local's options names
// every flag it has.
func TestOptionsDocumented(t *testing.T) {
	readme, err := repo.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	fs := flag.NewFlagSet("run-local", flag.ContinueOnError)
	newOptions(fs)
	n := 0
	fs.VisitAll(func(f *flag.Flag) {
		n++
		if !strings.Contains(string(readme), "`--"+f.Name+"`") {
			t.Errorf("README.md does not document run-local's --%s", f.Name)
		}
	})
	if n == 0 {
		t.Fatal("run-local has no flags?")
	}
}
