// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package engine_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/kuadrant/gateway-api-metrics-exporter/compat"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/engine"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/exposition"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/objects"
)

// hostileGateway builds a Gateway whose label keys and values, class name and
// condition type come from the fuzzer, passed through JSON as an API server
// would pass them (invalid UTF-8 becomes U+FFFD there).
func hostileGateway(t testing.TB, k1, v1, k2, v2, class string) map[string]any {
	o := map[string]any{
		"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
		"metadata": map[string]any{"name": "gw", "namespace": "ns", "labels": map[string]any{k1: v1, k2: v2}},
		"spec":     map[string]any{"gatewayClassName": class},
		"status": map[string]any{"conditions": []any{map[string]any{"type": v1, "status": v2}},
			"listeners": []any{map[string]any{"name": k1, "conditions": []any{map[string]any{"type": class, "status": "True"}}}}},
	}
	data, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	v, err := objects.DecodeJSON(data)
	if err != nil {
		t.Fatal(err)
	}
	return v.(map[string]any)
}

// FuzzRenderParses renders objects with arbitrary label keys and values and
// parses the result back with Prometheus' parser: the exposition must always be
// valid, and every value must come back unchanged.
func FuzzRenderParses(f *testing.F) {
	f.Add("app.kubernetes.io/name", `a "quoted" \ value`, "9lives", "line\nbreak", "class")
	f.Add("", "", "ünï", "\xff\xfe", `\`)
	f.Add("a-b", strings.Repeat("x", 5000), "__reserved", "}", "{")
	plan := defaultPlan(f)
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2, class string) {
		obj := hostileGateway(t, k1, v1, k2, v2, class)
		body, _ := engine.RenderObjects(plan, []map[string]any{obj}, exposition.Text, nil)
		parser := expfmt.NewTextParser(model.LegacyValidation)
		fams, err := parser.TextToMetricFamilies(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("invalid exposition: %v\n%s", err, body)
		}
		labels := obj["metadata"].(map[string]any)["labels"].(map[string]any)
		want := map[string]string{}
		for k, v := range labels {
			name := compat.FixLabelName(compat.SanitizeLabelName(k))
			if _, clash := want[name]; clash {
				return // two keys that sanitise alike: one wins, by design
			}
			want[name] = v.(string)
		}
		if _, clash := want["name"]; clash {
			return
		}
		fam := fams["gatewayapi_gateway_labels"]
		if fam == nil || len(fam.Metric) != 1 {
			t.Fatalf("want one labels sample, got %v", fam)
		}
		got := map[string]string{}
		for _, l := range fam.Metric[0].Label {
			got[l.GetName()] = l.GetValue()
		}
		for name, v := range want {
			if strings.HasPrefix(name, "customresource_") || name == "namespace" {
				continue // base labels lose to element labels only where they clash
			}
			if got[name] != v {
				t.Errorf("label %s: got %q, want %q", name, got[name], v)
			}
		}
		if info := fams["gatewayapi_gateway_info"]; info != nil {
			for _, l := range info.Metric[0].Label {
				if l.GetName() == "gatewayclass_name" && l.GetValue() != obj["spec"].(map[string]any)["gatewayClassName"] {
					t.Errorf("gatewayclass_name: got %q", l.GetValue())
				}
			}
		}
	})
}

// A thousand labels and very long values still make valid exposition.
func TestThousandLabels(t *testing.T) {
	labels := map[string]any{}
	for i := 0; i < 1000; i++ {
		labels[fmt.Sprintf("example.com/key-%d", i)] = strings.Repeat("v", i)
	}
	obj := map[string]any{"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
		"metadata": map[string]any{"name": "gw", "namespace": "ns", "labels": labels}}
	body, _ := engine.RenderObjects(defaultPlan(t), []map[string]any{obj}, exposition.Text, nil)
	counts := parseStrict(t, body)
	if counts["gatewayapi_gateway_labels"] != 1 {
		t.Fatalf("labels family: %d samples", counts["gatewayapi_gateway_labels"])
	}
	parser := expfmt.NewTextParser(model.LegacyValidation)
	fams, _ := parser.TextToMetricFamilies(bytes.NewReader(body))
	if n := len(fams["gatewayapi_gateway_labels"].Metric[0].Label); n != 1000+5 {
		t.Errorf("got %d labels, want 1005 (1000 + name, namespace, 3 customresource_*)", n)
	}
}
