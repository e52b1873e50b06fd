// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package engine_test

import (
	"strings"
	"testing"

	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/engine"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/exposition"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/objects"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/spec"
)

const aggregateSpec = `kind: CustomResourceStateMetrics
spec:
  resources:
  - groupVersionKind: {group: example.com, version: v1, kind: Widget}
    metricNamePrefix: w
    labelsFromPath: {name: [metadata, name]}
    metrics:
    - name: parent_min
      each:
        type: Gauge
        gauge:
          path: [status, parents]
          labelsFromPath: {parent: [ref]}
          nested: {path: [conditions], valueFrom: [observedGeneration], aggregate: min}
    - name: parent_max
      each:
        type: Gauge
        gauge:
          path: [status, parents]
          labelsFromPath: {parent: [ref]}
          nested: {path: [conditions], valueFrom: [observedGeneration], aggregate: max}
    - name: top_min
      each:
        type: Gauge
        gauge:
          path: [status]
          nested: {path: [conditions], valueFrom: [observedGeneration], aggregate: min}
    - name: top_min_nil_is_zero
      each:
        type: Gauge
        gauge:
          path: [status]
          nested: {path: [conditions], valueFrom: [observedGeneration], nilIsZero: true, aggregate: min}
`

// Written by hand from the objects: one sample per parent with the lowest
// (highest) observedGeneration of its conditions; conditions without one are
// skipped (a parent with none has no sample), unless nilIsZero; a value that
// is no number is skipped and reported.
func TestAggregateMinMax(t *testing.T) {
	plan, _, err := spec.Load("agg.yaml", []byte(aggregateSpec))
	if err != nil {
		t.Fatal(err)
	}
	const objs = `
apiVersion: example.com/v1
kind: Widget
metadata: {name: a}
status:
  conditions:
  - {type: Ready, observedGeneration: 7}
  - {type: Synced, observedGeneration: 5}
  - {type: Old}
  parents:
  - ref: p1
    conditions:
    - {type: Accepted, observedGeneration: 3}
    - {type: ResolvedRefs, observedGeneration: 2}
    - {type: Programmed, observedGeneration: 4}
  - ref: p2
    conditions:
    - {type: Accepted}
  - ref: p3
    conditions:
    - {type: Accepted, observedGeneration: "x"}
    - {type: Programmed, observedGeneration: 9}
  - ref: p4
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: b}
`
	var errs []string
	p, err := objects.Parse([]byte(objs))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := engine.RenderObjects(plan, p, exposition.Text, func(f *spec.Family, err error) { errs = append(errs, f.Name+": "+err.Error()) })
	want := []string{
		`w_parent_min{customresource_group="example.com",customresource_kind="Widget",customresource_version="v1",name="a",parent="p1"} 2`,
		`w_parent_min{customresource_group="example.com",customresource_kind="Widget",customresource_version="v1",name="a",parent="p3"} 9`,
		`w_parent_max{customresource_group="example.com",customresource_kind="Widget",customresource_version="v1",name="a",parent="p1"} 4`,
		`w_parent_max{customresource_group="example.com",customresource_kind="Widget",customresource_version="v1",name="a",parent="p3"} 9`,
		`w_top_min{customresource_group="example.com",customresource_kind="Widget",customresource_version="v1",name="a"} 5`,
		`w_top_min_nil_is_zero{customresource_group="example.com",customresource_kind="Widget",customresource_version="v1",name="a"} 0`,
	}
	if got := sampleLines(body); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(errs) != 2 || !strings.Contains(errs[0], "w_parent_min: [conditions]: [observedGeneration]") {
		t.Errorf("errors: %q, want one per aggregating family for p3's \"x\"", errs)
	}
}

func TestAggregateSpecErrors(t *testing.T) {
	const head = "spec:\n  resources:\n  - groupVersionKind: {group: g, version: v, kind: K}\n    metrics:\n    - name: a\n      each:\n"
	for _, c := range []struct{ name, each, want string }{
		{"unknown", "        type: Gauge\n        gauge: {path: [s], nested: {path: [c], valueFrom: [v], aggregate: avg}}\n", `"avg" is not an aggregate (min or max)`},
		{"info", "        type: Info\n        info: {path: [s], nested: {path: [c], aggregate: min}}\n", "only a Gauge has values to aggregate"},
		{"labels", "        type: Gauge\n        gauge: {path: [s], nested: {path: [c], valueFrom: [v], labelsFromPath: {t: [type]}, aggregate: min}}\n", "takes no labelsFromPath or labelFromKey"},
		{"labelFromKey", "        type: Gauge\n        gauge: {path: [s], nested: {path: [c], valueFrom: [v], labelFromKey: k, aggregate: min}}\n", "takes no labelsFromPath or labelFromKey"},
		{"outer level", "        type: Gauge\n        gauge: {path: [s], nested: {path: [c], aggregate: min, nested: {path: [d], valueFrom: [v]}}}\n", "belongs to the innermost level"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := spec.Load("a.yaml", []byte(head+c.each))
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "a.yaml:") {
				t.Errorf("error %v, want one with a.yaml:line and %q", err, c.want)
			}
		})
	}
}

// sampleLines are a body's sample lines, in order.
func sampleLines(body []byte) []string {
	var out []string
	for _, l := range strings.Split(string(body), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}
