// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package spec

import (
	"strings"
	"testing"
)

const header = "kind: CustomResourceStateMetrics\nspec:\n  resources:\n  - groupVersionKind: {group: example.com, version: v1, kind: Widget}\n    metrics:\n"

func TestLoadErrorsNameFileLineAndReason(t *testing.T) {
	cases := []struct {
		name, yaml, line, reason string
	}{
		{"malformed YAML", "spec:\n  resources: [\n", "w.yaml:", "yaml:"},
		{"wrong type", "spec:\n  resources:\n  - metrics: 3\n", "w.yaml:3", "cannot unmarshal"},
		{"unknown each.type", header + "    - name: a\n      each:\n        type: Counter\n        gauge: {path: [x]}\n", "w.yaml:8", "unknown metric type Counter"},
		{"missing block", header + "    - name: a\n      each:\n        type: Gauge\n", "w.yaml:7", "expected each.gauge to not be nil"},
		{"bad list lookup", header + "    - name: a\n      each:\n        type: Gauge\n        gauge:\n          path: [status, \"[type]\"]\n", "w.yaml:10", "invalid list lookup: [type]"},
		{"bad label path", header + "    - name: a\n      each:\n        type: Info\n        info:\n          labelsFromPath: {t: [\"[oops]\"]}\n", "w.yaml:10", "invalid list lookup"},
		{"nested with outer valueFrom", header + "    - name: a\n      each:\n        type: Gauge\n        gauge:\n          path: [status, listeners]\n          valueFrom: [x]\n          nested: {path: [conditions], valueFrom: [status]}\n", "w.yaml:12", "valueFrom and nested exclude each other"},
		{"nested without path", header + "    - name: a\n      each:\n        type: Gauge\n        gauge:\n          path: [status, listeners]\n          nested: {valueFrom: [status]}\n", "w.yaml:11", "path is required"},
		{"nested on StateSet", header + "    - name: a\n      each:\n        type: StateSet\n        stateSet:\n          path: [status]\n          nested: {path: [x]}\n", "w.yaml:11", "nested is only supported for Gauge and Info"},
		{"nested valueFrom on Info", header + "    - name: a\n      each:\n        type: Info\n        info:\n          path: [status, listeners]\n          nested: {path: [conditions], valueFrom: [status]}\n", "w.yaml:11", "an Info family has no value"},
		{"missing gvk", "spec:\n  resources:\n  - groupVersionKind: {group: example.com}\n    metrics: []\n", "w.yaml:3", "groupVersionKind needs group, version and kind"},
		{"empty", "", "w.yaml:1", "empty spec"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := Load("w.yaml", []byte(c.yaml))
			if err == nil {
				t.Fatal("want an error")
			}
			if !strings.HasPrefix(err.Error(), c.line) || !strings.Contains(err.Error(), c.reason) {
				t.Errorf("error %q: want prefix %q and reason %q", err, c.line, c.reason)
			}
		})
	}
}

func TestLoadWarnsWhereKSMIsSilent(t *testing.T) {
	y := header + `    - name: a
      help: x
      each:
        type: Gauge
        gauge:
          path: [status, conditions]
          valuesFrom: [status]
          labelsFromPath: {"9lives": [x]}
    - name: a
      help: x
      commonLabels: {"weird-key": v}
      each:
        type: Info
        info: {path: [x], labelsFromPath: {y: [y]}}
`
	plan, ws, err := Load("w.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range ws {
		got = append(got, w.String())
	}
	all := strings.Join(got, "\n")
	for _, want := range []string{
		`w.yaml:12: unknown key "spec.resources.metrics.each.gauge.valuesFrom" (did you mean "valueFrom"?)`,
		`w.yaml:6: family kube_customresource_a: label "9lives" starts with a digit after sanitising; it is served as "_9lives"`,
		`w.yaml:14: family kube_customresource_a is declared twice (first at w.yaml:6)`,
		`w.yaml:14: family kube_customresource_a: commonLabels key "weird-key" is not a valid label name; it is served as "weird_key"`,
	} {
		if !strings.Contains(all, want) {
			t.Errorf("missing warning %q in:\n%s", want, all)
		}
	}
	// KSM still serves it: the typo'd valueFrom is simply not there.
	if f := plan.Kinds[0].Families[0]; len(f.Each.ValueFrom) != 0 || f.Name != "kube_customresource_a" {
		t.Errorf("family compiled as %+v", f)
	}
}

func TestPrefixRules(t *testing.T) {
	y := "spec:\n  resources:\n  - groupVersionKind: {group: g, version: v, kind: K}\n    metricNamePrefix: \"\"\n    metrics:\n    - {name: stars, each: {type: Gauge, gauge: {path: [x]}}}\n  - groupVersionKind: {group: g, version: v, kind: L}\n    metrics:\n    - {name: generation, each: {type: gauge, gauge: {path: [x]}}}\n"
	plan, _, err := Load("p.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	if got := plan.Kinds[0].Families[0].Name; got != "stars" {
		t.Errorf("empty prefix: got %q", got)
	}
	if got := plan.Kinds[1].Families[0].Name; got != "kube_customresource_generation" {
		t.Errorf("default prefix: got %q", got)
	}
}

// optIn is the project's own mark: a user's config keeps kube-state-metrics'
// meaning (the key is unknown there, so warned about and ignored, and the
// family served), while the project's own files (LoadOwn) make it opt-in.
func TestOptInOnlyInOwnFiles(t *testing.T) {
	y := header + "    - name: a\n      optIn: true\n      each: {type: Gauge, gauge: {path: [x]}}\n    - name: b\n      each: {type: Gauge, gauge: {path: [y]}}\n"
	user, ws, err := Load("user.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	if f := user.Kinds[0].Families; f[0].OptIn || f[1].OptIn {
		t.Errorf("a user's config has an opt-in family: %+v %+v", f[0], f[1])
	}
	if len(ws) != 1 || !strings.Contains(ws[0].String(), `user.yaml:7: unknown key "spec.resources.metrics.optIn"`) {
		t.Errorf("warnings %v, want the unknown key optIn at user.yaml:7", ws)
	}
	own, ws, err := LoadOwn("own.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	if f := own.Kinds[0].Families; !f[0].OptIn || f[1].OptIn {
		t.Errorf("own file: OptIn %v %v, want true false", f[0].OptIn, f[1].OptIn)
	}
	if len(ws) != 0 {
		t.Errorf("own file: warnings %v", ws)
	}
}
