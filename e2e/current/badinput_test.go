// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package current

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// widgetCRD serves a kind whose schema accepts any status, so that objects
// can carry statuses of shapes no controller should write.
const widgetCRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.shapes.example.com}
spec:
  group: shapes.example.com
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
`

// widgetSpec reads Widgets the way the embedded spec reads Gateways and
// DNSPolicies: top-level conditions, conditions per listener, conditions per
// key of a map of lists, and a number.
const widgetSpec = `kind: CustomResourceStateMetrics
spec:
  resources:
    - groupVersionKind: {group: shapes.example.com, version: v1, kind: Widget}
      metricNamePrefix: widget
      labelsFromPath: {name: [metadata, name], namespace: [metadata, namespace]}
      metrics:
      - name: status
        help: "status condition"
        each:
          type: Gauge
          gauge:
            path: [status, conditions]
            labelsFromPath: {type: [type]}
            valueFrom: [status]
      - name: listeners_conditions
        help: "conditions per listener"
        each:
          type: Gauge
          gauge:
            path: [status, listeners]
            labelsFromPath: {listener_name: [name]}
            nested:
              path: [conditions]
              labelsFromPath: {type: [type]}
              valueFrom: [status]
      - name: record_conditions
        help: "conditions per root host"
        each:
          type: Gauge
          gauge:
            path: [status]
            nested:
              path: [recordConditions]
              labelFromKey: root_host
              labelsFromPath: {type: [type]}
              valueFrom: [status]
      - name: total
        help: "a number"
        each:
          type: Gauge
          gauge:
            path: [status, total]
`

// good has every field in the expected shape; bad has a string where a list
// is expected (conditions, a listener's conditions), a string where a map of
// lists is, and a map where a number is.
const widgets = `apiVersion: shapes.example.com/v1
kind: Widget
metadata: {name: good}
status:
  conditions: [{type: Ready, status: "True"}]
  listeners: [{name: http, conditions: [{type: Accepted, status: "False"}]}]
  recordConditions: {a.example.com: [{type: Ready, status: "True"}]}
  total: 7
---
apiVersion: shapes.example.com/v1
kind: Widget
metadata: {name: bad}
status:
  conditions: "Ready"
  listeners: [{name: http, conditions: "Accepted"}, "https"]
  recordConditions: "a.example.com"
  total: {count: 7}
`

// TestStatusOfUnexpectedShape: statuses of the wrong shape cost only the
// samples that cannot be read; every family's error is counted and logged
// once, across scrapes; the scrape is complete and the kind up.
func TestStatusOfUnexpectedShape(t *testing.T) {
	env := envFor(t)
	ns := nsFor(t)
	crd := filepath.Join(t.TempDir(), "widgets.yaml")
	if err := os.WriteFile(crd, []byte(widgetCRD), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := env.InstallCRDs(ctxFor(t), crd); err != nil {
		t.Fatal(err)
	}
	applyYAML(t, env, ns, widgets)
	cfg := filepath.Join(t.TempDir(), "spec.yaml")
	if err := os.WriteFile(cfg, []byte(widgetSpec), 0o600); err != nil {
		t.Fatal(err)
	}
	x := &exporter{startWithArgs(t, env, "--namespaces="+ns, "--custom-resource-state-config-file="+cfg)}

	c := `customresource_group="shapes.example.com",customresource_kind="Widget",customresource_version="v1"`
	want := []string{
		`widget_status{` + c + `,name="good",namespace="` + ns + `",type="Ready"} 1`,
		`widget_listeners_conditions{` + c + `,listener_name="http",name="good",namespace="` + ns + `",type="Accepted"} 0`,
		`widget_record_conditions{` + c + `,name="good",namespace="` + ns + `",root_host="a.example.com",type="Ready"} 1`,
		`widget_total{` + c + `,name="good",namespace="` + ns + `"} 7`,
		// A map where a number is expected: kube-state-metrics' reading
		// (one sample per entry) is kept, and the error reported below.
		`widget_total{` + c + `,name="bad",namespace="` + ns + `"} 7`,
		`gateway_metrics_up{group="shapes.example.com",kind="Widget",version="v1"} 1`,
	}
	for i := 0; i < 2; i++ {
		lines := x.scrape(t)
		var got []string
		for _, l := range lines {
			// Only the Widget's up series: the cluster's policy CRDs that this
			// spec does not declare are discovered (--discover-policies).
			if strings.HasPrefix(l, "widget_") || strings.HasPrefix(l, `gateway_metrics_up{group="shapes.example.com"`) {
				got = append(got, l)
			}
		}
		assertLines(t, "scrape", got, want)
	}

	// Each family's errors in the objects as they are (a state, not a
	// count of scrapes).
	errs := map[string]string{}
	for _, l := range x.telemetry(t) {
		if strings.HasPrefix(l, "gateway_metrics_family_evaluation_errors{") {
			errs[l[strings.Index(l, `family="`)+8:strings.Index(l, `"}`)]] = l[strings.LastIndexByte(l, ' ')+1:]
		}
	}
	for fam, n := range map[string]string{
		"widget_status": "1", // conditions is a string
		// The listener whose conditions are a string, and the listener that
		// is a string.
		"widget_listeners_conditions": "2",
		"widget_record_conditions":    "1",
		"widget_total":                "1",
	} {
		if errs[fam] != n {
			t.Errorf("gateway_metrics_family_evaluation_errors{family=%q} = %q, want %s (all: %v)", fam, errs[fam], n, errs)
		}
	}
	// Logged once per family and problem, however many scrapes hit it.
	logged := x.LogLines("cannot evaluate family")
	perFamily := map[string]int{}
	for _, l := range logged {
		for fam := range errs {
			if strings.Contains(l, "family="+fam+" ") {
				perFamily[fam]++
			}
		}
	}
	for fam, n := range map[string]int{"widget_status": 1, "widget_listeners_conditions": 2, "widget_record_conditions": 1, "widget_total": 1} {
		if perFamily[fam] != n {
			t.Errorf("%s logged %d times, want %d:\n%s", fam, perFamily[fam], n, strings.Join(logged, "\n"))
		}
	}
}
