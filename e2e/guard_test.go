// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kuadrant/gateway-api-metrics-exporter/internal/harness"
	"github.com/kuadrant/gateway-api-metrics-exporter/internal/testenv"
)

// guardSpec has one family that multiplies objects by a map (one sample per
// Kubernetes label of each route), one with a duplicate series per route
// (its two parentRefs name the same Gateway), one that fails to evaluate for
// every hostname (a string where a number is expected), and a plain one.
const guardSpec = `kind: CustomResourceStateMetrics
spec:
  resources:
  - groupVersionKind: {group: gateway.networking.k8s.io, version: v1, kind: HTTPRoute}
    metricNamePrefix: guard_route
    labelsFromPath: {name: [metadata, name], namespace: [metadata, namespace]}
    metrics:
    - {name: created, help: c, each: {type: Gauge, gauge: {path: [metadata, creationTimestamp]}}}
    - {name: label, help: l, each: {type: Info, info: {path: [metadata, labels], labelFromKey: key}}}
    - {name: parent, help: p, each: {type: Info, info: {path: [spec, parentRefs], labelsFromPath: {parent: [name]}}}}
    - {name: hostname, help: h, each: {type: Gauge, gauge: {path: [spec, hostnames]}}}
`

const (
	guardRoutes = 20
	guardLabels = 50 // guard_route_label: 20 x 50 = 1,000 samples
)

func guardRoute(ns string, i int) string {
	var labels []string
	for l := range guardLabels {
		labels = append(labels, fmt.Sprintf("k%03d: %q", l, "v"))
	}
	return fmt.Sprintf(`apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r%02d, labels: {%s}}
spec:
  hostnames: [a%02d.example.com, b%02d.example.com]
  parentRefs: [{name: gw, sectionName: http}, {name: gw, sectionName: https}]
---
`, i, strings.Join(labels, ", "), i, i)
}

// telemetryValues is the telemetry port's samples of the given families,
// keyed by their line without the value.
func telemetryValues(t *testing.T, x *exporter, families ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, l := range harness.SampleLines(x.get(t, x.TelemetryURL+"/metrics").Body) {
		for _, f := range families {
			if harness.MetricName(l) == f {
				out[seriesOf(l)] = l[strings.LastIndexByte(l, ' ')+1:]
			}
		}
	}
	return out
}

// withoutFamily drops a family's samples, HELP and TYPE, and the scrape
// durations (they differ from body to body), from a text body.
func withoutFamily(body []byte, family string) string {
	var out []string
	for _, l := range strings.SplitAfter(string(body), "\n") {
		if harness.MetricName(l) == family || strings.HasPrefix(l, "# HELP "+family+" ") || strings.HasPrefix(l, "# TYPE "+family+" ") ||
			strings.HasPrefix(l, "gateway_metrics_scrape_duration_seconds{") {
			continue
		}
		out = append(out, l)
	}
	return strings.Join(out, "")
}

// TestCardinalityGuard, in list and watch mode on the real API server: a
// family over --max-series-per-family (or dropped, largest first, to fit
// --max-series) serves nothing while the rest of the body is byte for byte
// that of an exporter without a limit; the log names it once; the telemetry
// port's family gauges say so, with the same values in both modes; and the
// duplicates and evaluation errors are a state, the same in both modes and
// however many scrapes and changes there were.
func TestCardinalityGuard(t *testing.T) {
	env := testenv.Current(t)
	ns := nsFor(t)
	var objs strings.Builder
	for i := range guardRoutes {
		objs.WriteString(guardRoute(ns, i))
	}
	routes := applyYAML(t, env, ns, objs.String())
	deleteAfter(t, env, routes)
	cfg := filepath.Join(t.TempDir(), "guard.yaml")
	if err := os.WriteFile(cfg, []byte(guardSpec), 0o600); err != nil {
		t.Fatal(err)
	}
	base := []string{"--kubeconfig=" + env.Kubeconfig, "--namespaces=" + ns, "--custom-resource-state-config-file=" + cfg, "--discover-policies=false"}
	arg := func(extra ...string) []string { return append(append([]string{}, base...), extra...) }
	xs := map[string]*exporter{
		"list":             startExporter(t, arg()...),
		"list-per-family":  startExporter(t, arg("--max-series-per-family=500")...),
		"list-body":        startExporter(t, arg("--max-series=100")...),
		"watch":            startExporter(t, arg("--collection=watch")...),
		"watch-per-family": startExporter(t, arg("--collection=watch", "--max-series-per-family=500")...),
		"watch-body":       startExporter(t, arg("--collection=watch", "--max-series=100")...),
	}
	// Watch mode serves once its stores hold every route.
	routesServed := func(x *exporter) bool {
		return len(harness.WithPrefix(harness.SampleLines(x.scrape(t).Body), "guard_route_created")) == guardRoutes
	}
	deadline := time.Now().Add(60 * time.Second)
	for name, x := range xs {
		for !routesServed(x) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: the %d routes are not all served:\n%s", name, guardRoutes, x.scrape(t).Body)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}

	full := xs["list"].scrape(t).Body
	if n := len(harness.WithPrefix(harness.SampleLines(full), "guard_route_label")); n != guardRoutes*guardLabels {
		t.Fatalf("guard_route_label has %d samples without a limit, want %d", n, guardRoutes*guardLabels)
	}
	want := withoutFamily(full, "guard_route_label")
	for _, name := range []string{"list-per-family", "list-body", "watch-per-family", "watch-body"} {
		for range 3 {
			if got := withoutFamily(xs[name].scrape(t).Body, "guard_route_label"); got != want {
				t.Fatalf("%s: the body without guard_route_label differs from an unlimited exporter's:\n%s\nwant:\n%s", name, got, want)
			}
			if strings.Contains(string(xs[name].scrape(t).Body), "guard_route_label") {
				t.Fatalf("%s serves guard_route_label, over its limit", name)
			}
		}
	}
	if got := withoutFamily(xs["watch"].scrape(t).Body, ""); got != withoutFamily(full, "") {
		t.Errorf("watch mode without a limit serves another body than list mode:\n%s\nwant:\n%s", got, withoutFamily(full, ""))
	}

	// The gauges, the same in both modes. Expected from the objects: 20
	// routes, 50 labels, 2 parentRefs naming one Gateway (one duplicate per
	// route), 2 hostnames that are no numbers (2 errors per route); the
	// bytes of guard_route_label from the unlimited body's own lines.
	labelBytes := 0
	for _, l := range strings.SplitAfter(string(full), "\n") {
		if harness.MetricName(l) == "guard_route_label" {
			labelBytes += len(l)
		}
	}
	fams := []string{"gateway_metrics_family_series", "gateway_metrics_family_bytes", "gateway_metrics_family_duplicates",
		"gateway_metrics_family_evaluation_errors", "gateway_metrics_family_over_limit"}
	states := func(limit string) map[string]string {
		m := map[string]string{
			`gateway_metrics_family_series{family="guard_route_created"}`:             "20",
			`gateway_metrics_family_series{family="guard_route_label"}`:               "1000",
			`gateway_metrics_family_series{family="guard_route_parent"}`:              "20",
			`gateway_metrics_family_series{family="guard_route_hostname"}`:            "0",
			`gateway_metrics_family_bytes{family="guard_route_label"}`:                fmt.Sprint(labelBytes),
			`gateway_metrics_family_bytes{family="guard_route_hostname"}`:             "0",
			`gateway_metrics_family_duplicates{family="guard_route_created"}`:         "0",
			`gateway_metrics_family_duplicates{family="guard_route_label"}`:           "0",
			`gateway_metrics_family_duplicates{family="guard_route_parent"}`:          "20",
			`gateway_metrics_family_duplicates{family="guard_route_hostname"}`:        "0",
			`gateway_metrics_family_evaluation_errors{family="guard_route_created"}`:  "0",
			`gateway_metrics_family_evaluation_errors{family="guard_route_label"}`:    "0",
			`gateway_metrics_family_evaluation_errors{family="guard_route_parent"}`:   "0",
			`gateway_metrics_family_evaluation_errors{family="guard_route_hostname"}`: "40",
		}
		if limit != "" {
			m[`gateway_metrics_family_over_limit{family="guard_route_label",limit="`+limit+`"}`] = "1"
		}
		return m
	}
	check := func(when string) {
		t.Helper()
		for name, x := range xs {
			limit := ""
			switch {
			case strings.HasSuffix(name, "-per-family"):
				limit = "max-series-per-family"
			case strings.HasSuffix(name, "-body"):
				limit = "max-series"
			}
			got := telemetryValues(t, x, fams...)
			for k, v := range states(limit) {
				if got[k] != v {
					t.Errorf("%s, %s: %s = %q, want %s", when, name, k, got[k], v)
				}
			}
			for k := range got {
				if strings.HasPrefix(k, "gateway_metrics_family_over_limit") && limit == "" {
					t.Errorf("%s, %s: %s without a limit", when, name, k)
				}
			}
			// Byte counts of the families that are served agree across
			// modes (list's and watch's come from different code).
			if ref := telemetryValues(t, xs["list"], "gateway_metrics_family_bytes"); name != "list" {
				for k, v := range ref {
					if got[k] != v {
						t.Errorf("%s, %s: %s = %q, list mode %s", when, name, k, got[k], v)
					}
				}
			}
			if n := len(x.logLines("guard_route_label")); limit != "" && n != 1 {
				t.Errorf("%s, %s: guard_route_label named %d times in the log, want once:\n%s", when, name, n, strings.Join(x.logLines("guard_route_label"), "\n"))
			}
		}
	}
	check("after 4 scrapes")

	// A change to a route (watch mode re-renders it) and more scrapes
	// leave the state the same.
	for _, r := range routes[:5] {
		ri, err := env.ResourceFor(ctxFor(t), r)
		if err != nil {
			t.Fatal(err)
		}
		u, err := ri.Get(ctxFor(t), r.GetName(), metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if err := unstructured.SetNestedStringMap(u.Object, map[string]string{"touched": "yes"}, "metadata", "annotations"); err != nil {
			t.Fatal(err)
		}
		if _, err := ri.Update(ctxFor(t), u, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 {
		for _, x := range xs {
			x.scrape(t)
		}
	}
	check("after changes and more scrapes")
}
