// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"context"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kuadrant/gateway-api-metrics-exporter/internal/harness"
	"github.com/kuadrant/gateway-api-metrics-exporter/internal/testenv"
)

// freshRoute has two parents whose conditions were written at different
// generations, one condition without observedGeneration, and a third parent
// none of whose conditions has one.
const freshRoute = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: fresh}
spec:
  parentRefs: [{name: edge, sectionName: http}]
status:
  parents:
  - parentRef: {group: gateway.networking.k8s.io, kind: Gateway, name: edge, sectionName: http}
    controllerName: example.com/gw
    conditions:
    - {type: Accepted, status: "True", reason: Accepted, message: ok, lastTransitionTime: "2026-01-10T09:00:00Z", observedGeneration: 3}
    - {type: ResolvedRefs, status: "True", reason: ResolvedRefs, message: ok, lastTransitionTime: "2026-01-10T09:09:00Z", observedGeneration: 2}
  - parentRef: {group: gateway.networking.k8s.io, kind: Gateway, name: edge, sectionName: http}
    controllerName: kuadrant.io/policy-controller
    conditions:
    - {type: kuadrant.io/AuthPolicyAffected, status: "True", reason: Accepted, message: ok, lastTransitionTime: "2026-01-10T09:00:00Z", observedGeneration: 4}
    - {type: kuadrant.io/RateLimitPolicyAffected, status: "True", reason: Accepted, message: ok, lastTransitionTime: "2026-01-10T09:00:00Z"}
  - parentRef: {group: gateway.networking.k8s.io, kind: Gateway, name: other}
    controllerName: example.com/other
    conditions:
    - {type: Accepted, status: "False", reason: NotAllowed, message: "not allowed", lastTransitionTime: "2026-01-10T09:00:00Z"}
`

// TestLeanDefaultAndOptIn, on the real API server and in both modes: by
// default one observedGeneration per route parent entry (the lowest of its
// conditions'), none per condition and no lastTransitionTime;
// --metric-opt-in-list adds exactly the families it names. Expected lines
// written by hand from freshRoute.
func TestLeanDefaultAndOptIn(t *testing.T) {
	env := testenv.Current(t)
	ns := nsFor(t)
	deleteAfter(t, env, applyYAML(t, env, ns, freshRoute))
	const route = `customresource_group="gateway.networking.k8s.io",customresource_kind="HTTPRoute",customresource_version="v1beta1",name="fresh",namespace="${NS}"`
	const edge = `parent_group="gateway.networking.k8s.io",parent_kind="Gateway",parent_name="edge",parent_section_name="http"`
	entries := []string{
		`gatewayapi_httproute_status_parents_observed_generation{controller_name="example.com/gw",` + route + `,` + edge + `} 2`,
		`gatewayapi_httproute_status_parents_observed_generation{controller_name="kuadrant.io/policy-controller",` + route + `,` + edge + `} 4`,
	}
	perCondition := []string{
		`gatewayapi_httproute_status_parents_conditions_observed_generation{controller_name="example.com/gw",` + route + `,` + edge + `,type="Accepted"} 3`,
		`gatewayapi_httproute_status_parents_conditions_observed_generation{controller_name="example.com/gw",` + route + `,` + edge + `,type="ResolvedRefs"} 2`,
		`gatewayapi_httproute_status_parents_conditions_observed_generation{controller_name="kuadrant.io/policy-controller",` + route + `,` + edge + `,type="kuadrant.io/AuthPolicyAffected"} 4`,
	}
	freshness := func(lines []string) []string {
		var out []string
		for _, l := range harness.WithPrefix(lines, "gatewayapi_httproute_") {
			if n := harness.MetricName(l); isFreshness(n) && n != "gatewayapi_httproute_metadata_generation" {
				out = append(out, l)
			}
		}
		return out
	}
	for _, mode := range []string{"list", "watch"} {
		base := []string{"--kubeconfig=" + env.Kubeconfig, "--namespaces=" + ns, "--collection=" + mode}
		def := startExporter(t, base...)
		opted := startExporter(t, append(base, "--metric-opt-in-list=gatewayapi_httproute_status_parents_conditions_observed_generation")...)
		for name, c := range map[string]struct {
			x    *exporter
			want []string
		}{
			"default":                                {def, entries},
			"--metric-opt-in-list=<one family name>": {opted, append(append([]string{}, entries...), perCondition...)},
		} {
			want := expand(t, ns, nil, nil, c.want)
			// Watch mode serves once its store holds the route.
			lines := scrapeUntil(t, c.x, func(lines []string) bool { return hasAll(lines, want...) })
			assertLines(t, mode+", "+name, freshness(lines), want)
		}
	}
}

// deleteAfter deletes objs when the test ends: the namespace stays (a bare
// API server has no namespace controller to empty it), but its objects do
// not weigh on the tests that read every namespace after this one.
func deleteAfter(t *testing.T, env *testenv.Env, objs []*unstructured.Unstructured) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for _, o := range objs {
			ri, err := env.ResourceFor(ctx, o)
			if err != nil {
				t.Errorf("cleanup: %v", err)
				continue
			}
			if err := ri.Delete(ctx, o.GetName(), metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				t.Errorf("cleanup: delete %s %s: %v", o.GetKind(), o.GetName(), err)
			}
		}
	})
}
