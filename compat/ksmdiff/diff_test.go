// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package ksmdiff

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/kuadrant/gateway-api-metrics-exporter/internal/refdata"
	metricsspec "github.com/kuadrant/gateway-api-metrics-exporter/metrics-spec"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/engine"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/exposition"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/objects"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/spec"
)

const (
	textAccept = "text/plain"
	omAccept   = "application/openmetrics-text;version=1.0.0"
)

// shared returns the reference-data folder (internal/refdata): without it
// the proofs against real KSM output skip locally and fail in CI.
func shared(t *testing.T) string {
	t.Helper()
	return refdata.Require(t, "anchors")
}

func oldConfig(t *testing.T, name string) []byte {
	data, err := os.ReadFile(filepath.Join(shared(t), "anchors/gateway-api-state-metrics/config", name, "custom-resource-state.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func ours(t testing.TB, plan *spec.Plan, objs []map[string]any, accept string) []byte {
	t.Helper()
	format, _ := exposition.NegotiateAccept(accept)
	body, _ := engine.RenderObjects(plan, objs, format, nil)
	return body
}

func oursFromConfig(t testing.TB, config []byte, objs []map[string]any, accept string) []byte {
	t.Helper()
	plan, _, err := spec.Load("config", config)
	if err != nil {
		t.Fatal(err)
	}
	return ours(t, plan, objs, accept)
}

// oursStreamed is what `render` does: objects cut from the files one at a
// time and decoded through their kind's projection.
func oursStreamed(t testing.TB, config []byte, path, accept string) []byte {
	t.Helper()
	plan, _, err := spec.Load("config", config)
	if err != nil {
		t.Fatal(err)
	}
	format, _ := exposition.NegotiateAccept(accept)
	off := engine.NewOffline(plan, nil)
	if err := off.AddFiles([]string{path}, runtime.GOMAXPROCS(0)); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := off.WriteTo(&buf, format); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func oracle(t testing.TB, config []byte, objs []map[string]any, accept string) []byte {
	t.Helper()
	o, err := NewOracle(config)
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Add(objs); err != nil {
		t.Fatal(err)
	}
	return o.Write(accept)
}

func requireSame(t *testing.T, what string, ours, ksm []byte, onlyKSM bool) int {
	t.Helper()
	n, diffs := Diff(ours, ksm, onlyKSM)
	for i, d := range diffs {
		if i == 30 {
			t.Errorf("%s: ... and %d more differences", what, len(diffs)-30)
			break
		}
		t.Errorf("%s: %s", what, d)
	}
	if n == 0 {
		t.Errorf("%s: compared no lines", what)
	}
	return n
}

// The real KSM v2.20.0 binary's output for the objects as the API server
// stored them: the byte-compatibility reference.
func TestRealKSMGolden(t *testing.T) {
	dir := filepath.Join(shared(t), "anchors/ksm-golden")
	objs, err := objects.ReadAll(filepath.Join(dir, "objects"))
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, cfg := range []string{"kuadrant", "default"} {
		config := oldConfig(t, cfg)
		for _, f := range []struct{ accept, file string }{
			{textAccept, "ksm-" + cfg + "-config.metrics.txt"},
			{omAccept, "ksm-" + cfg + "-config.openmetrics.txt"},
		} {
			golden, err := os.ReadFile(filepath.Join(dir, f.file))
			if err != nil {
				t.Fatal(err)
			}
			total += requireSame(t, "ours vs "+f.file, oursFromConfig(t, config, objs, f.accept), golden, false)
			total += requireSame(t, "ours streamed (render) vs "+f.file, oursStreamed(t, config, filepath.Join(dir, "objects"), f.accept), golden, false)
			// The oracle is only as good as its fidelity to the real binary.
			requireSame(t, "KSM library vs "+f.file, oracle(t, config, objs, f.accept), golden, false)
		}
	}
	t.Logf("real KSM golden: %d lines compared, 0 differences", total)
}

// The old project's own test manifests, through both of its configs.
func TestOldManifests(t *testing.T) {
	manifests := filepath.Join(shared(t), "anchors/gateway-api-state-metrics/tests/manifests")
	objs, err := objects.ReadAll(manifests)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, cfg := range []string{"kuadrant", "default"} {
		config := oldConfig(t, cfg)
		for _, accept := range []string{textAccept, omAccept} {
			ksm := oracle(t, config, objs, accept)
			total += requireSame(t, cfg+" "+accept+" streamed", oursStreamed(t, config, manifests, accept), ksm, false)
			total += requireSame(t, cfg+" "+accept, oursFromConfig(t, config, objs, accept), ksm, false)
		}
	}
	t.Logf("old manifests: %d lines compared, 0 differences", total)
}

// kinds lists what the old kuadrant config reads, at its versions.
var kinds = []struct{ apiVersion, kind string }{
	{"gateway.networking.k8s.io/v1beta1", "Gateway"},
	{"gateway.networking.k8s.io/v1beta1", "GatewayClass"},
	{"gateway.networking.k8s.io/v1beta1", "HTTPRoute"},
	{"gateway.networking.k8s.io/v1alpha2", "GRPCRoute"},
	{"gateway.networking.k8s.io/v1alpha2", "TLSRoute"},
	{"gateway.networking.k8s.io/v1alpha2", "TCPRoute"},
	{"gateway.networking.k8s.io/v1alpha2", "UDPRoute"},
	{"gateway.networking.k8s.io/v1alpha2", "BackendTLSPolicy"},
	{"kuadrant.io/v1", "AuthPolicy"},
	{"kuadrant.io/v1", "RateLimitPolicy"},
	{"kuadrant.io/v1", "DNSPolicy"},
	{"kuadrant.io/v1", "TLSPolicy"},
	{"kuadrant.io/v1alpha1", "DNSRecord"},
	{"kuadrant.io/v1alpha1", "DNSHealthCheckProbe"},
}

func generated(seed uint64, perKind int) []map[string]any {
	g := NewGen(seed)
	var objs []map[string]any
	for _, k := range kinds {
		for i := 0; i < perKind; i++ {
			objs = append(objs, g.Object(k.apiVersion, k.kind))
		}
	}
	return objs
}

// Generated objects with odd values, missing fields and wrong types, through
// both old configs: every rule of KSM's evaluation is exercised.
func TestGeneratedObjectsOldConfigs(t *testing.T) {
	objs := generated(1, 150)
	total, dups := 0, 0
	for _, cfg := range []string{"kuadrant", "default"} {
		config := oldConfig(t, cfg)
		for _, accept := range []string{textAccept, omAccept} {
			o, ksm, d := Normalize(oursFromConfig(t, config, objs, accept), oracle(t, config, objs, accept))
			dups += d
			total += requireSame(t, cfg+" "+accept, o, ksm, false)
		}
	}
	if total < 10000 {
		t.Errorf("compared only %d lines; the generator should exercise thousands", total)
	}
	t.Logf("generated objects (%d), old configs: %d lines compared, 0 differences (%d samples of series KSM writes more than once, written once by us)", len(objs), total, dups)
}

// rulesConfig exercises the corners of the CRS format that the Gateway API
// configs do not: StateSet, labelFromKey, prefixed stars, list indexes and
// lookups, the one-segment valueFrom over a map, common labels at both levels,
// an empty and a missing metricNamePrefix.
const rulesConfig = `
kind: CustomResourceStateMetrics
spec:
  resources:
  - groupVersionKind: {group: example.com, version: v1, kind: Widget}
    commonLabels: {source: crs, team: resource-level}
    labelsFromPath: {name: [metadata, name], ns: [metadata, namespace], phase: [status, phase]}
    metrics:
    - name: phase
      help: "Phase as a state set"
      commonLabels: {team: metric-level}
      each:
        type: StateSet
        stateSet: {labelName: phase, path: [status], valueFrom: [phase], list: [Running, Failed, Pending]}
    - name: item_phase
      help: "Per-item state set"
      each:
        type: StateSet
        stateSet: {labelName: state, path: [spec, items], valueFrom: [phase], list: [Running, Failed], labelsFromPath: {k: [k]}}
    - name: map_values
      help: "A gauge over a map, keyed"
      each:
        type: Gauge
        gauge: {path: [spec, map], labelFromKey: key}
    - name: map_pick
      help: "One-segment valueFrom over a map"
      each:
        type: Gauge
        gauge: {path: [spec, map], valueFrom: [n], labelFromKey: key, labelsFromPath: {phase: [phase]}}
    - name: map_info
      help: "Info over a map"
      each:
        type: Info
        info: {path: [spec], labelFromKey: field, labelsFromPath: {a: [a], "lbl_*": [map]}}
    - name: items
      help: "Items with lookups and indexes"
      each:
        type: Gauge
        gauge: {path: [spec, items], valueFrom: [v], labelsFromPath: {k: [k], on: [on]}}
    - name: first_item
      help: "Index and negative index"
      each:
        type: Gauge
        gauge: {path: [spec, items, "0"], valueFrom: [on], labelsFromPath: {last: ["..", "-1"], k: [k]}}
    - name: lookup
      help: "List lookup by key, by number and by bool"
      each:
        type: Info
        info: {path: [spec], labelsFromPath: {one: [items, "[k=1]", phase], on: [items, "[on=true]", k], eq: [map, "phase=Running"]}}
    - name: fields
      help: "Every odd field as a label and as a value"
      each:
        type: Info
        info: {labelsFromPath: {f0: [spec, f0], f1: [spec, f1], f2: [spec, f2], f3: [spec, f3], "**": [metadata, labels], "*": [spec, map]}}
    - name: f4
      help: "A field as a value\nwith a \\ in its help"
      each:
        type: Gauge
        gauge: {path: [spec, f4], nilIsZero: true}
    - name: f5
      help: ""
      each:
        type: Gauge
        gauge: {path: [spec, f5]}
  - groupVersionKind: {group: example.com, version: v1, kind: Gadget}
    metricNamePrefix: ""
    resourcePlural: gadgetz
    metrics:
    - name: gadget_f0
      help: "No prefix at all"
      labelsFromPath: {name: [metadata, name]}
      each:
        type: Gauge
        gauge: {path: [spec, f0], valueFrom: []}
`

func TestGeneratedObjectsRulesConfig(t *testing.T) {
	g := NewGen(2)
	var objs []map[string]any
	for i := 0; i < 400; i++ {
		objs = append(objs, g.Object("example.com/v1", "Widget"), g.Object("example.com/v1", "Gadget"))
	}
	total := 0
	for _, accept := range []string{textAccept, omAccept} {
		o, ksm, _ := Normalize(oursFromConfig(t, []byte(rulesConfig), objs, accept), oracle(t, []byte(rulesConfig), objs, accept))
		total += requireSame(t, accept, o, ksm, false)
	}
	t.Logf("generated objects (%d), rules config: %d lines compared, 0 differences", len(objs), total)
}

// The embedded metrics-spec keeps every legacy family of the old kuadrant
// config, except where it reads newer shapes on purpose (METRICS.md).
func TestEmbeddedSpecKeepsLegacyFamilies(t *testing.T) {
	plan, warnings, err := spec.LoadFS(metricsspec.FS)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range warnings {
		t.Errorf("embedded spec warning: %s", w)
	}
	objs := generated(3, 150)
	deliberate := map[string]string{
		"gatewayapi_gatewayclass_status_supported_features": "labels the {name} objects of Gateway API >= v1.2",
		"gatewayapi_backendtlspolicy_target_info":           "also reads the v1 spec.targetRefs list",
		// Kuadrant v1 policies target a Gateway listener with sectionName; the
		// alerts and dashboards need it to tell listener from Gateway scope.
		// Lines of objects without sectionName are unchanged.
		"gatewayapi_authpolicy_target_info":      "labels spec.targetRef.sectionName (target_section_name)",
		"gatewayapi_ratelimitpolicy_target_info": "labels spec.targetRef.sectionName (target_section_name)",
		"gatewayapi_dnspolicy_target_info":       "labels spec.targetRef.sectionName (target_section_name)",
		"gatewayapi_tlspolicy_target_info":       "labels spec.targetRef.sectionName (target_section_name)",
	}
	config := oldConfig(t, "kuadrant")
	total := 0
	for _, accept := range []string{textAccept, omAccept} {
		o, ksm, _ := Normalize(ours(t, plan, objs, accept), oracle(t, config, objs, accept))
		n, diffs := Diff(o, ksm, true)
		total += n
		for _, d := range diffs {
			fam := strings.Fields(strings.TrimPrefix(d, "family "))[0]
			fam = strings.TrimSuffix(fam, ":")
			if _, ok := deliberate[fam]; ok {
				continue
			}
			t.Error(d)
		}
	}
	t.Logf("embedded spec vs old kuadrant config on %d generated objects: %d lines compared; deliberate differences only in %v", len(objs), total, keys(deliberate))
}

func keys(m map[string]string) []string {
	var out []string
	for k, v := range m {
		out = append(out, fmt.Sprintf("%s (%s)", k, v))
	}
	return out
}
