// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package engine_test

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	metricsspec "github.com/kuadrant/gateway-api-metrics-exporter/metrics-spec"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/engine"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/exposition"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/objects"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/spec"
)

const nestedObjects = `
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: ns, creationTimestamp: "2024-05-16T16:17:38Z"}
spec:
  gatewayClassName: cls
  listeners:
  - {name: http, port: 80, protocol: HTTP}
  - {name: https, port: 443, protocol: HTTPS, hostname: a.example.com, tls: {mode: Terminate}}
  - {name: grpc, port: 8443, protocol: HTTPS}
  - {name: tcp, port: 9000, protocol: TCP}
status:
  listeners:
  - name: http
    attachedRoutes: 2
    conditions:
    - {type: Accepted, status: "True"}
    - {type: Programmed, status: "True"}
    - {type: ResolvedRefs, status: "True"}
  - name: https
    attachedRoutes: 1
    conditions:
    - {type: Accepted, status: "True"}
    - {type: Programmed, status: "False"}
    - {type: ResolvedRefs, status: "False"}
  - name: grpc
    attachedRoutes: 0
    conditions:
    - {type: Accepted, status: "Unknown"}
    - {type: Programmed, status: "Unknown"}
  - name: tcp
    attachedRoutes: 0
    conditions:
    - {type: Accepted, status: "True"}
    - {type: Conflicted, status: "True"}
    - {type: Programmed, status: "True"}
    - {type: ResolvedRefs, status: "True"}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: route, namespace: ns, creationTimestamp: "2024-05-16T16:17:38Z"}
spec:
  parentRefs:
  - {name: gw, sectionName: http}
  - {name: gw, sectionName: https}
  - {name: other, namespace: infra, port: 8080}
status:
  parents:
  - parentRef: {group: gateway.networking.k8s.io, kind: Gateway, name: gw, namespace: ns, sectionName: http}
    controllerName: istio.io/gateway-controller
    conditions:
    - {type: Accepted, status: "True"}
    - {type: ResolvedRefs, status: "True"}
  - parentRef: {group: gateway.networking.k8s.io, kind: Gateway, name: gw, namespace: ns, sectionName: https}
    controllerName: istio.io/gateway-controller
    conditions:
    - {type: Accepted, status: "False"}
    - {type: ResolvedRefs, status: "True"}
  - parentRef: {group: gateway.networking.k8s.io, kind: Gateway, name: other, namespace: infra, port: 8080}
    controllerName: kuadrant.io/policy-controller
    conditions:
    - {type: kuadrant.io/AuthPolicyAffected, status: "True"}
    - {type: kuadrant.io/RateLimitPolicyAffected, status: "False"}
`

func render(t testing.TB, plan *spec.Plan, yaml string, f exposition.Format) []byte {
	t.Helper()
	objs, err := objects.Parse([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	body, unmatched := engine.RenderObjects(plan, objs, f, nil)
	if unmatched != 0 {
		t.Fatalf("%d objects matched no kind", unmatched)
	}
	return body
}

func defaultPlan(t testing.TB) *spec.Plan {
	plan, _, err := spec.LoadFS(metricsspec.FS)
	if err != nil {
		t.Fatal(err)
	}
	return plan
}

func lines(body []byte, family string) []string {
	var out []string
	for _, l := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(l, family+"{") {
			out = append(out, l)
		}
	}
	return out
}

const gwLabels = `customresource_group="gateway.networking.k8s.io",customresource_kind="Gateway",customresource_version="v1"`

func TestListenerConditions(t *testing.T) {
	body := render(t, defaultPlan(t), nestedObjects, exposition.Text)
	var want []string
	for _, c := range []struct{ l, typ, v string }{
		{"grpc", "Accepted", "0"}, {"grpc", "Programmed", "0"},
		{"http", "Accepted", "1"}, {"http", "Programmed", "1"}, {"http", "ResolvedRefs", "1"},
		{"https", "Accepted", "1"}, {"https", "Programmed", "0"}, {"https", "ResolvedRefs", "0"},
		{"tcp", "Accepted", "1"}, {"tcp", "Conflicted", "1"}, {"tcp", "Programmed", "1"}, {"tcp", "ResolvedRefs", "1"},
	} {
		want = append(want, fmt.Sprintf(`gatewayapi_gateway_status_listeners_conditions{%s,listener_name="%s",name="gw",namespace="ns",type="%s"} %s`, gwLabels, c.l, c.typ, c.v))
	}
	got := lines(body, "gatewayapi_gateway_status_listeners_conditions")
	sort.Strings(got)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	parseStrict(t, body)
}

func TestRouteParentConditions(t *testing.T) {
	body := render(t, defaultPlan(t), nestedObjects, exposition.Text)
	rl := `customresource_group="gateway.networking.k8s.io",customresource_kind="HTTPRoute",customresource_version="v1",name="route",namespace="ns"`
	gw := `parent_group="gateway.networking.k8s.io",parent_kind="Gateway",parent_name="gw",parent_namespace="ns"`
	other := `parent_group="gateway.networking.k8s.io",parent_kind="Gateway",parent_name="other",parent_namespace="infra",parent_port="8080"`
	want := []string{
		`gatewayapi_httproute_status_parents_conditions{controller_name="istio.io/gateway-controller",` + rl + `,` + gw + `,parent_section_name="http",type="Accepted"} 1`,
		`gatewayapi_httproute_status_parents_conditions{controller_name="istio.io/gateway-controller",` + rl + `,` + gw + `,parent_section_name="http",type="ResolvedRefs"} 1`,
		`gatewayapi_httproute_status_parents_conditions{controller_name="istio.io/gateway-controller",` + rl + `,` + gw + `,parent_section_name="https",type="Accepted"} 0`,
		`gatewayapi_httproute_status_parents_conditions{controller_name="istio.io/gateway-controller",` + rl + `,` + gw + `,parent_section_name="https",type="ResolvedRefs"} 1`,
		`gatewayapi_httproute_status_parents_conditions{controller_name="kuadrant.io/policy-controller",` + rl + `,` + other + `,type="kuadrant.io/AuthPolicyAffected"} 1`,
		`gatewayapi_httproute_status_parents_conditions{controller_name="kuadrant.io/policy-controller",` + rl + `,` + other + `,type="kuadrant.io/RateLimitPolicyAffected"} 0`,
	}
	got := lines(body, "gatewayapi_httproute_status_parents_conditions")
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	parseStrict(t, body)
}

// parseStrict parses a body with Prometheus' own text parser (legacy name
// validation, as a Prometheus 2 server does) and checks no series repeats.
func parseStrict(t *testing.T, body []byte) map[string]int {
	t.Helper()
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("Prometheus' parser rejects the body: %v", err)
	}
	counts := map[string]int{}
	seen := map[string]bool{}
	for name, f := range fams {
		counts[name] = len(f.Metric)
		for _, m := range f.Metric {
			var b strings.Builder
			b.WriteString(name)
			for _, l := range m.Label {
				fmt.Fprintf(&b, ",%s=%q", l.GetName(), l.GetValue())
			}
			if seen[b.String()] {
				t.Errorf("duplicate series %s", b.String())
			}
			seen[b.String()] = true
		}
	}
	return counts
}

// An object whose list holds two elements with the same labels yields one
// series, not two: the second is dropped and counted.
func TestDuplicateSeriesDropped(t *testing.T) {
	plan := defaultPlan(t)
	y := `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: ns}
status:
  conditions:
  - {type: Ready, status: "True"}
  - {type: Ready, status: "False"}
`
	objs, _ := objects.Parse([]byte(y))
	var kind *spec.Kind
	for _, k := range plan.Kinds {
		if k.GVK.Kind == "Gateway" {
			kind = k
		}
	}
	r := engine.NewRenderer(kind, engine.GVK{Group: "gateway.networking.k8s.io", Version: "v1", Kind: "Gateway"}, nil)
	r.Add(objs[0])
	body := r.AppendTo(nil, exposition.Text, map[string]struct{}{})
	got := lines(body, "gatewayapi_gateway_status")
	if len(got) != 1 || !strings.HasSuffix(got[0], `type="Ready"} 1`) {
		t.Errorf("want the first Ready condition only, got %q", got)
	}
	var status engine.FamilyStats
	for i, f := range kind.Families {
		if f.Name == "gatewayapi_gateway_status" {
			status = r.Stats()[i]
		}
	}
	if want := (engine.FamilyStats{Series: 1, Bytes: len(got[0]) + 1, Duplicates: 1}); status != want {
		t.Errorf("gatewayapi_gateway_status stats %+v, want %+v", status, want)
	}
	parseStrict(t, body)
}

func TestOpenMetricsKeepsInfoTypeAndEnds(t *testing.T) {
	body := render(t, defaultPlan(t), nestedObjects, exposition.OpenMetrics)
	if !bytes.HasSuffix(body, []byte("# EOF\n")) {
		t.Error("OpenMetrics body must end with # EOF")
	}
	if !bytes.Contains(body, []byte("# TYPE gatewayapi_gateway_info info\n")) {
		t.Error("Info families keep TYPE info in OpenMetrics")
	}
	text := render(t, defaultPlan(t), nestedObjects, exposition.Text)
	if bytes.Contains(text, []byte(" info\n")) || bytes.Contains(text, []byte("# EOF")) {
		t.Error("text format writes info as gauge and has no EOF")
	}
}
