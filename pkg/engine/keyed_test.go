// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package engine_test

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/engine"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/exposition"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/objects"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/spec"
)

// keyedSpec iterates maps whose values are lists, the key as a label: at a
// nested level (recordConditions under status) and at the top level
// (labelFromKey beside nested: every entry of the map is an element).
const keyedSpec = `kind: CustomResourceStateMetrics
spec:
  resources:
    - groupVersionKind: {group: kuadrant.io, version: v1, kind: DNSPolicy}
      metricNamePrefix: t_dnspolicy
      labelsFromPath: {name: [metadata, name], namespace: [metadata, namespace]}
      metrics:
      - name: record_conditions
        help: "per root host"
        each:
          type: Gauge
          gauge:
            path: [status]
            nested:
              path: [recordConditions]
              labelFromKey: root_host
              labelsFromPath: {type: [type]}
              valueFrom: [status]
      - name: record_condition_info
        help: "top-level keyed"
        each:
          type: Info
          info:
            path: [status, recordConditions]
            labelFromKey: root_host
            nested:
              path: [reason]
              labelsFromPath: {reason: []}
`

const keyedObjects = `apiVersion: kuadrant.io/v1
kind: DNSPolicy
metadata: {name: dns, namespace: ns}
status:
  recordConditions:
    b.example.com:
    - {type: Ready, status: "False", reason: ProviderError}
    - {type: Healthy, status: "True", reason: Probed}
    a.example.com:
    - {type: Ready, status: "True", reason: ProviderSuccess}
    empty.example.com: []
---
apiVersion: kuadrant.io/v1
kind: DNSPolicy
metadata: {name: none, namespace: ns}
status: {}
`

func keyedPlan(t *testing.T) *spec.Plan {
	t.Helper()
	plan, ws, err := spec.Load("keyed.yaml", []byte(keyedSpec))
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range ws {
		t.Errorf("warning: %s", w)
	}
	return plan
}

func TestNestedMapOfListsKeyAsLabel(t *testing.T) {
	plan := keyedPlan(t)
	body := render(t, plan, keyedObjects, exposition.Text)
	c := `customresource_group="kuadrant.io",customresource_kind="DNSPolicy",customresource_version="v1",name="dns",namespace="ns"`
	want := []string{
		`t_dnspolicy_record_conditions{` + c + `,root_host="a.example.com",type="Ready"} 1`,
		`t_dnspolicy_record_conditions{` + c + `,root_host="b.example.com",type="Healthy"} 1`,
		`t_dnspolicy_record_conditions{` + c + `,root_host="b.example.com",type="Ready"} 0`,
	}
	if got := lines(body, "t_dnspolicy_record_conditions"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	wantInfo := []string{
		`t_dnspolicy_record_condition_info{` + c + `,reason="Probed",root_host="b.example.com"} 1`,
		`t_dnspolicy_record_condition_info{` + c + `,reason="ProviderError",root_host="b.example.com"} 1`,
		`t_dnspolicy_record_condition_info{` + c + `,reason="ProviderSuccess",root_host="a.example.com"} 1`,
	}
	if got := lines(body, "t_dnspolicy_record_condition_info"); strings.Join(got, "\n") != strings.Join(wantInfo, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantInfo, "\n"))
	}
	parseStrict(t, body)
}

// The scrape path decodes only Projection(kind); it must keep every key of a
// keyed map and what each list element is read for.
func TestNestedMapOfListsProjection(t *testing.T) {
	plan := keyedPlan(t)
	objs, err := objects.Parse([]byte(keyedObjects))
	if err != nil {
		t.Fatal(err)
	}
	full, _ := engine.RenderObjects(plan, objs, exposition.Text, nil)
	proj := engine.Projection(plan.Kinds[0])
	var projected []map[string]any
	for _, o := range objs {
		data, err := json.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		v, err := objects.DecodeProjected(data, proj)
		if err != nil {
			t.Fatal(err)
		}
		projected = append(projected, v.(map[string]any))
	}
	got, _ := engine.RenderObjects(plan, projected, exposition.Text, nil)
	if string(got) != string(full) {
		t.Errorf("projected render differs:\n%s\nfull:\n%s", got, full)
	}
	if !strings.Contains(string(full), `root_host="a.example.com"`) {
		t.Fatalf("nothing rendered:\n%s", full)
	}
}

func TestKeyedNestedSpecErrors(t *testing.T) {
	header := "kind: CustomResourceStateMetrics\nspec:\n  resources:\n  - groupVersionKind: {group: g, version: v1, kind: K}\n    metrics:\n"
	bad := header + "    - name: a\n      each:\n        type: Gauge\n        gauge:\n          path: [status]\n          nested: {path: [m], labelFromKey: \"1bad\", valueFrom: [status]}\n"
	_, ws, err := spec.Load("w.yaml", []byte(bad))
	if err != nil {
		t.Fatal(err)
	}
	if len(ws) != 1 || !strings.Contains(ws[0].String(), `label name "1bad" is not valid`) {
		t.Errorf("want one warning about the label name, got %v", ws)
	}
}

// badShapes are statuses of unexpected shapes, each next to a well-formed
// field of the same object: the broken family loses only its own samples and
// reports an error, the others are complete, nothing panics.
const badShapes = `apiVersion: kuadrant.io/v1
kind: DNSPolicy
metadata: {name: strings, namespace: ns}
status:
  conditions: "Ready"
  recordConditions: "a.example.com"
  totalRecords: 3
---
apiVersion: kuadrant.io/v1
kind: DNSPolicy
metadata: {name: maps, namespace: ns}
status:
  conditions:
  - {type: Ready, status: {nested: "True"}}
  recordConditions:
    a.example.com: "Ready"
    b.example.com:
    - "Ready"
    - {type: Ready, status: "True"}
  totalRecords: {count: 3}
`

func TestUnexpectedShapesReportErrors(t *testing.T) {
	const shapeSpec = keyedSpec + `
      - name: total_records
        help: "total"
        each:
          type: Gauge
          gauge:
            path: [status, totalRecords]
      - name: status
        help: "status condition"
        each:
          type: Gauge
          gauge:
            path: [status, conditions]
            labelsFromPath: {type: [type]}
            valueFrom: [status]
`
	plan, _, err := spec.Load("shapes.yaml", []byte(shapeSpec))
	if err != nil {
		t.Fatal(err)
	}
	objs, err := objects.Parse([]byte(badShapes))
	if err != nil {
		t.Fatal(err)
	}
	errs := map[string][]string{}
	body, _ := engine.RenderObjects(plan, objs, exposition.Text, func(f *spec.Family, err error) {
		errs[f.Name] = append(errs[f.Name], err.Error())
	})
	c := func(name string) string {
		return `customresource_group="kuadrant.io",customresource_kind="DNSPolicy",customresource_version="v1",name="` + name + `",namespace="ns"`
	}
	want := []string{
		`t_dnspolicy_record_conditions{` + c("maps") + `,root_host="b.example.com",type="Ready"} 1`,
		// A map where a number is expected keeps kube-state-metrics'
		// reading (one sample per entry) and is reported below.
		`t_dnspolicy_total_records{` + c("maps") + `} 3`,
		`t_dnspolicy_total_records{` + c("strings") + `} 3`,
	}
	var got []string
	for _, l := range strings.Split(string(body), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			got = append(got, l)
		}
	}
	sort.Strings(got)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	wantErrs := map[string][]string{
		"t_dnspolicy_record_conditions": {
			`[recordConditions]: labelFromKey root_host expects a map, got string`, // strings: a string, not a map
			`[recordConditions]: [status]: expected an object, got string`,         // maps: a.example.com's "Ready"
			`[recordConditions]: [status]: expected an object, got string`,         // maps: b.example.com's first element
		},
		"t_dnspolicy_record_condition_info": {
			`[status,recordConditions]: labelFromKey root_host expects a map, got string`,
			`[reason]: expected an object or a list, got string`,
			`[reason]: expected an object or a list, got string`,
		},
		"t_dnspolicy_total_records": {`[status,totalRecords]: expected a number, got a map (read entry by entry, as kube-state-metrics does)`},
		"t_dnspolicy_status": {
			`[status,conditions]: [status]: expected an object, got string`,
			`[status,conditions]: [0]: [status]: expected number but was map[nested:True]`,
		},
	}
	for fam, w := range wantErrs {
		g := errs[fam]
		sort.Strings(g)
		sort.Strings(w)
		if fmt.Sprint(g) != fmt.Sprint(w) {
			t.Errorf("errors of %s:\n got %q\nwant %q", fam, g, w)
		}
	}
	for fam := range errs {
		if _, ok := wantErrs[fam]; !ok {
			t.Errorf("unexpected errors for %s: %q", fam, errs[fam])
		}
	}
	parseStrict(t, body)
}
