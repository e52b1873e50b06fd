// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package policies_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	metricsspec "github.com/kuadrant/gateway-api-metrics-exporter/metrics-spec"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/engine"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/exposition"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/objects"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/policies"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/spec"
)

// CRDs written for these tests, trimmed to what detection reads.
const crds = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: quotapolicies.policies.example.test, labels: {gateway.networking.k8s.io/policy: Direct}}
spec:
  group: policies.example.test
  scope: Namespaced
  names: {kind: QuotaPolicy, plural: quotapolicies}
  versions:
  - {name: v1alpha1, served: true, storage: false, schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}
  - {name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}
  - {name: v2alpha1, served: true, storage: false, schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: securitypolicies.gateway.envoyproxy.io}
spec:
  group: gateway.envoyproxy.io
  scope: Namespaced
  names: {kind: SecurityPolicy, plural: securitypolicies}
  versions:
  - name: v1alpha1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {type: object, properties: {targetRefs: {type: array}, cors: {type: object}}}
          status: {type: object, properties: {ancestors: {type: array}}}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: meshpolicies.mesh.example.test}
spec:
  group: mesh.example.test
  scope: Cluster
  names: {kind: MeshPolicy, plural: meshpolicies}
  versions:
  - name: v1beta1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        properties:
          spec: {properties: {targetRef: {type: object}}}
          status: {properties: {conditions: {type: array}}}
---
# Not served: detection ignores it.
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: oldpolicies.mesh.example.test, labels: {gateway.networking.k8s.io/policy: Inherited}}
spec:
  group: mesh.example.test
  scope: Namespaced
  names: {kind: OldPolicy, plural: oldpolicies}
  versions:
  - {name: v1, served: false, storage: true}
---
# A route: parentRefs, not targetRefs.
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: fooroutes.routes.example.test}
spec:
  group: routes.example.test
  scope: Namespaced
  names: {kind: FooRoute, plural: fooroutes}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        properties:
          spec: {properties: {parentRefs: {type: array}}}
          status: {properties: {parents: {type: array}, conditions: {type: array}}}
---
# A targetRef but no status of a policy's shape.
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: scalers.autoscale.example.test}
spec:
  group: autoscale.example.test
  scope: Namespaced
  names: {kind: Scaler, plural: scalers}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        properties:
          spec: {properties: {targetRef: {type: object}}}
          status: {properties: {replicas: {type: integer}}}
---
# Declared in metrics-spec: discovery leaves it to its declared families.
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: backendtlspolicies.gateway.networking.k8s.io, labels: {gateway.networking.k8s.io/policy: Direct}}
spec:
  group: gateway.networking.k8s.io
  scope: Namespaced
  names: {kind: BackendTLSPolicy, plural: backendtlspolicies}
  versions:
  - {name: v1, served: true, storage: true}
`

func detectAll(t *testing.T) []policies.CRD {
	t.Helper()
	objs, err := objects.Parse([]byte(crds))
	if err != nil {
		t.Fatal(err)
	}
	var out []policies.CRD
	for _, o := range objs {
		if c, ok := policies.Detect(o); ok {
			out = append(out, c)
		}
	}
	return out
}

func TestDetect(t *testing.T) {
	var got []string
	for _, c := range detectAll(t) {
		got = append(got, fmt.Sprintf("%s %s/%s %s namespaced=%v (%s)", c.Name, c.Group, c.Version, c.Kind, c.Namespaced, c.Why))
	}
	want := []string{
		"quotapolicies.policies.example.test policies.example.test/v1 QuotaPolicy namespaced=true (label gateway.networking.k8s.io/policy=Direct)",
		"securitypolicies.gateway.envoyproxy.io gateway.envoyproxy.io/v1alpha1 SecurityPolicy namespaced=true (schema of v1alpha1)",
		"meshpolicies.mesh.example.test mesh.example.test/v1beta1 MeshPolicy namespaced=false (schema of v1beta1)",
		"backendtlspolicies.gateway.networking.k8s.io gateway.networking.k8s.io/v1 BackendTLSPolicy namespaced=true (label gateway.networking.k8s.io/policy=Direct)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// Odd CRD objects are not policies, and do not panic.
func TestDetectMalformed(t *testing.T) {
	for _, o := range []map[string]any{
		nil,
		{},
		{"spec": "x"},
		{"metadata": map[string]any{"labels": map[string]any{policies.Label: "Direct"}}, "spec": map[string]any{"group": "g", "names": map[string]any{"kind": "K", "plural": "ks"}}},
		{"spec": map[string]any{"group": "g", "names": map[string]any{"kind": "K", "plural": "ks"}, "versions": []any{"v1", map[string]any{"name": 3, "served": true}}}},
	} {
		if c, ok := policies.Detect(o); ok {
			t.Errorf("Detect(%v) = %+v, want not a policy", o, c)
		}
	}
}

func defaultPlan(t *testing.T) *spec.Plan {
	plan, _, err := spec.LoadFS(metricsspec.FS)
	if err != nil {
		t.Fatal(err)
	}
	return plan
}

func TestKindsSkipDeclaredAndFilter(t *testing.T) {
	kinds := policies.Kinds(detectAll(t), defaultPlan(t), nil)
	var got []string
	for _, k := range kinds {
		got = append(got, k.GVK.Group+"/"+k.GVK.Version+"/"+k.GVK.Kind+" "+k.Plural)
		if !k.Discovered {
			// What makes a 403 on it a skip rather than a failure (pkg/scrape).
			t.Errorf("%s: not marked Discovered", k.GVK.Kind)
		}
	}
	for _, k := range defaultPlan(t).Kinds {
		if k.Discovered {
			t.Errorf("declared kind %s marked Discovered", k.GVK.Kind)
		}
	}
	want := "gateway.envoyproxy.io/v1alpha1/SecurityPolicy securitypolicies mesh.example.test/v1beta1/MeshPolicy meshpolicies policies.example.test/v1/QuotaPolicy quotapolicies"
	if strings.Join(got, " ") != want {
		t.Errorf("kinds = %q, want %q", strings.Join(got, " "), want)
	}

	// --metric-denylist=gatewayapi_policy_target_info keeps the others.
	kinds = policies.Kinds(detectAll(t), defaultPlan(t), func(f *spec.Family) bool { return f.Name != "gatewayapi_policy_target_info" })
	for _, f := range kinds[0].Families {
		if f.Name == "gatewayapi_policy_target_info" {
			t.Error("denied family kept")
		}
	}
	if len(kinds) != 3 || len(kinds[0].Families) != len(policies.Template().Families)-2 {
		t.Errorf("want 3 kinds with every family but the two target_info declarations, got %d kinds", len(kinds))
	}
	// An allowlist that matches no policy family: nothing is read at all.
	if kinds := policies.Kinds(detectAll(t), defaultPlan(t), func(f *spec.Family) bool { return strings.HasPrefix(f.Name, "gatewayapi_gateway_") }); len(kinds) != 0 {
		t.Errorf("want no kinds when every policy family is filtered out, got %d", len(kinds))
	}
}

// Objects written as Envoy Gateway and a made-up controller write them.
const policyObjects = `
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: SecurityPolicy
metadata: {name: sp, namespace: app, generation: 2, creationTimestamp: "2026-01-01T00:00:00Z"}
spec:
  targetRefs:
  - {group: gateway.networking.k8s.io, kind: HTTPRoute, name: web}
  - {group: gateway.networking.k8s.io, kind: Gateway, name: eg, sectionName: https}
status:
  ancestors:
  - ancestorRef: {group: gateway.networking.k8s.io, kind: Gateway, name: eg, namespace: app, sectionName: https}
    controllerName: gateway.envoyproxy.io/gatewayclass-controller
    conditions:
    - {type: Accepted, status: "True", reason: Accepted, message: "Policy has been accepted.", observedGeneration: 2, lastTransitionTime: "2026-01-01T00:01:00Z"}
    - {type: Overridden, status: "False", reason: Overridden, message: "x", observedGeneration: 1, lastTransitionTime: "2026-01-01T00:02:00Z"}
---
apiVersion: policies.example.test/v1
kind: QuotaPolicy
metadata: {name: q, namespace: app, generation: 1, creationTimestamp: "2026-01-01T00:00:00Z"}
spec:
  targetRef: {group: gateway.networking.k8s.io, kind: Gateway, name: eg}
status:
  conditions:
  - {type: Enforced, status: "False", reason: Pending, message: "waiting", observedGeneration: 1, lastTransitionTime: "2026-01-01T00:02:00Z"}
`

func render(t *testing.T, yaml string) (body []byte, evalErrors []string) {
	t.Helper()
	objs, err := objects.Parse([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	plan := &spec.Plan{Kinds: policies.Kinds(detectAll(t), defaultPlan(t), nil)}
	body, unmatched := engine.RenderObjects(plan, objs, exposition.Text, func(f *spec.Family, err error) {
		evalErrors = append(evalErrors, f.Name+": "+err.Error())
	})
	if unmatched != 0 {
		t.Fatalf("%d objects matched no kind", unmatched)
	}
	return body, evalErrors
}

func samples(body []byte) []string {
	var out []string
	for _, l := range strings.Split(string(body), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

const (
	sp = `customresource_group="gateway.envoyproxy.io",customresource_kind="SecurityPolicy",customresource_version="v1alpha1",name="sp",namespace="app",policy_group="gateway.envoyproxy.io",policy_kind="SecurityPolicy"`
	q  = `customresource_group="policies.example.test",customresource_kind="QuotaPolicy",customresource_version="v1",name="q",namespace="app",policy_group="policies.example.test",policy_kind="QuotaPolicy"`
	eg = `ancestor_group="gateway.networking.k8s.io",ancestor_kind="Gateway",ancestor_name="eg",ancestor_namespace="app",ancestor_section_name="https",controller_name="gateway.envoyproxy.io/gatewayclass-controller"`
)

// Every family of both kinds, each family contiguous across the two kinds.
func TestFamilies(t *testing.T) {
	body, errs := render(t, policyObjects)
	want := []string{
		`gatewayapi_policy_created{` + sp + `} 1.7672256e+09`,
		`gatewayapi_policy_created{` + q + `} 1.7672256e+09`,
		`gatewayapi_policy_deleted{` + sp + `} 0`,
		`gatewayapi_policy_deleted{` + q + `} 0`,
		`gatewayapi_policy_metadata_generation{` + sp + `} 2`,
		`gatewayapi_policy_metadata_generation{` + q + `} 1`,
		// The lowest observedGeneration of q's conditions (sp has none at the
		// top level), and of the conditions of sp's ancestor (2 and 1).
		`gatewayapi_policy_status_observed_generation{` + q + `} 1`,
		`gatewayapi_policy_ancestor_observed_generation{` + eg + `,` + sp + `} 1`,
		// spec.targetRef of every kind, then spec.targetRefs, each sorted by labels.
		`gatewayapi_policy_target_info{` + q + `,target_group="gateway.networking.k8s.io",target_kind="Gateway",target_name="eg"} 1`,
		`gatewayapi_policy_target_info{` + sp + `,target_group="gateway.networking.k8s.io",target_kind="Gateway",target_name="eg",target_section_name="https"} 1`,
		`gatewayapi_policy_target_info{` + sp + `,target_group="gateway.networking.k8s.io",target_kind="HTTPRoute",target_name="web"} 1`,
		`gatewayapi_policy_status_condition{` + q + `,type="Enforced"} 0`,
		`gatewayapi_policy_status_condition_observed_generation{` + q + `,type="Enforced"} 1`,
		`gatewayapi_policy_status_condition_last_transition_time{` + q + `,type="Enforced"} 1.76722572e+09`,
		`gatewayapi_policy_ancestor_condition{` + eg + `,` + sp + `,type="Accepted"} 1`,
		`gatewayapi_policy_ancestor_condition{` + eg + `,` + sp + `,type="Overridden"} 0`,
		`gatewayapi_policy_ancestor_condition_observed_generation{` + eg + `,` + sp + `,type="Accepted"} 2`,
		`gatewayapi_policy_ancestor_condition_observed_generation{` + eg + `,` + sp + `,type="Overridden"} 1`,
		`gatewayapi_policy_ancestor_condition_last_transition_time{` + eg + `,` + sp + `,type="Accepted"} 1.76722566e+09`,
		`gatewayapi_policy_ancestor_condition_last_transition_time{` + eg + `,` + sp + `,type="Overridden"} 1.76722572e+09`,
	}
	if got := samples(body); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(errs) != 0 {
		t.Errorf("evaluation errors: %q", errs)
	}
	if strings.Count(string(body), "# TYPE gatewayapi_policy_target_info gauge\n") != 1 {
		t.Error("want one TYPE line per family")
	}
	parseStrict(t, body)
	om := renderOM(t, policyObjects)
	if !bytes.Contains(om, []byte("# TYPE gatewayapi_policy_target_info info\n")) {
		t.Error("target_info is an info family in OpenMetrics")
	}
}

func renderOM(t *testing.T, yaml string) []byte {
	objs, err := objects.Parse([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := engine.RenderObjects(&spec.Plan{Kinds: policies.Kinds(detectAll(t), defaultPlan(t), nil)}, objs, exposition.OpenMetrics, nil)
	return body
}

// parseStrict parses with Prometheus' own parser and checks that every
// family's samples are contiguous and no series repeats.
func parseStrict(t *testing.T, body []byte) {
	t.Helper()
	p := expfmt.NewTextParser(model.LegacyValidation)
	if _, err := p.TextToMetricFamilies(bytes.NewReader(body)); err != nil {
		t.Fatalf("Prometheus' parser rejects the body: %v", err)
	}
	done := map[string]bool{}
	seen := map[string]bool{}
	last := ""
	for _, l := range samples(body) {
		name := l[:strings.IndexAny(l, "{ ")]
		if name != last && done[name] {
			t.Errorf("family %s is not contiguous", name)
		}
		done[name], last = true, name
		series := l[:strings.LastIndexByte(l, ' ')]
		if seen[series] {
			t.Errorf("duplicate series %s", series)
		}
		seen[series] = true
	}
}

// Objects of a policy CRD that do not follow GEP-713's shape. What they yield
// is documented in METRICS.md ("Discovered policies"): no sample for a value
// of the wrong type, a single object where a list is expected read as a list
// of one; never an error for the whole kind.
const badObjects = `
apiVersion: policies.example.test/v1
kind: QuotaPolicy
metadata: {name: bad, namespace: app, generation: 1, creationTimestamp: "2026-01-01T00:00:00Z"}
spec:
  targetRef: eg
  targetRefs: "eg, other"
status:
  ancestors: oops
  conditions: {type: Ready, status: "True"}
---
apiVersion: policies.example.test/v1
kind: QuotaPolicy
metadata: {name: bad2, namespace: app, generation: 1, creationTimestamp: "2026-01-01T00:00:00Z"}
spec:
  targetRefs: [eg, 7, null, {kind: Gateway, name: eg}]
status:
  ancestors:
    ancestorRef: {kind: Gateway, name: eg}
    controllerName: example.test/ctl
    conditions: [{type: Accepted, status: maybe}, {type: Programmed, status: "True"}]
`

func TestBadShapes(t *testing.T) {
	body, errs := render(t, badObjects)
	b := `customresource_group="policies.example.test",customresource_kind="QuotaPolicy",customresource_version="v1",name="bad",namespace="app",policy_group="policies.example.test",policy_kind="QuotaPolicy"`
	b2 := `customresource_group="policies.example.test",customresource_kind="QuotaPolicy",customresource_version="v1",name="bad2",namespace="app",policy_group="policies.example.test",policy_kind="QuotaPolicy"`
	anc := `ancestor_kind="Gateway",ancestor_name="eg",controller_name="example.test/ctl"`
	want := []string{
		`gatewayapi_policy_created{` + b + `} 1.7672256e+09`,
		`gatewayapi_policy_created{` + b2 + `} 1.7672256e+09`,
		`gatewayapi_policy_deleted{` + b + `} 0`,
		`gatewayapi_policy_deleted{` + b2 + `} 0`,
		`gatewayapi_policy_metadata_generation{` + b + `} 1`,
		`gatewayapi_policy_metadata_generation{` + b2 + `} 1`,
		// Strings and numbers in place of references have no labels: no sample.
		`gatewayapi_policy_target_info{` + b2 + `,target_kind="Gateway",target_name="eg"} 1`,
		// One condition object in place of a list: read as a list of one.
		`gatewayapi_policy_status_condition{` + b + `,type="Ready"} 1`,
		// Same for one ancestor object; "maybe" is no condition status, so
		// that condition has no sample (and counts as an evaluation error).
		`gatewayapi_policy_ancestor_condition{` + anc + `,` + b2 + `,type="Programmed"} 1`,
	}
	if got := samples(body); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Each family that reads a value of the wrong shape counts an error
	// (logged once): the ancestors string of "bad" for the four ancestor
	// families, and the condition status "maybe" of "bad2".
	wantErrs := []string{
		"gatewayapi_policy_ancestor_observed_generation: [conditions]: expected an object or a list, got string",
		"gatewayapi_policy_ancestor_condition: [conditions]: expected an object or a list, got string",
		"gatewayapi_policy_ancestor_condition_observed_generation: [conditions]: expected an object or a list, got string",
		"gatewayapi_policy_ancestor_condition_last_transition_time: [conditions]: expected an object or a list, got string",
		`gatewayapi_policy_ancestor_condition: [conditions]: [status]: strconv.ParseFloat: parsing "maybe": invalid syntax`,
		// The attachment graph reads the targets too, when the graph
		// families are rendered (after every object is in): each target
		// that is not a reference with a kind and a name counts once, and
		// the one that is ({kind: Gateway, name: eg}, core group) has no
		// sample as no core Gateway kind is read.
		"gatewayapi_policy_target_resolved: spec.targetRef: not a reference with a kind and a name",
		"gatewayapi_policy_target_resolved: spec.targetRefs: not a list",
		"gatewayapi_policy_target_resolved: spec.targetRefs[0]: not a reference with a kind and a name",
		"gatewayapi_policy_target_resolved: spec.targetRefs[1]: not a reference with a kind and a name",
		"gatewayapi_policy_target_resolved: spec.targetRefs[2]: not a reference with a kind and a name",
	}
	if strings.Join(errs, "\n") != strings.Join(wantErrs, "\n") {
		t.Errorf("evaluation errors:\n%s\nwant:\n%s", strings.Join(errs, "\n"), strings.Join(wantErrs, "\n"))
	}
	parseStrict(t, body)
}

// Label values are escaped, whatever they hold; no free-text field (message,
// reason) becomes a label.
func TestOddLabelValues(t *testing.T) {
	y := `
apiVersion: policies.example.test/v1
kind: QuotaPolicy
metadata: {name: odd, namespace: app, generation: 1, creationTimestamp: "2026-01-01T00:00:00Z"}
status:
  ancestors:
  - ancestorRef: {kind: "Gate\"way", name: "eg\\1", sectionName: "line\nbreak"}
    controllerName: "例え.example/ctl"
    conditions:
    - {type: "a=b,c}", status: "True", reason: "R\"", message: "free text that must not become a label"}
`
	body, errs := render(t, y)
	want := `gatewayapi_policy_ancestor_condition{ancestor_kind="Gate\"way",ancestor_name="eg\\1",ancestor_section_name="line\nbreak",controller_name="例え.example/ctl",customresource_group="policies.example.test",customresource_kind="QuotaPolicy",customresource_version="v1",name="odd",namespace="app",policy_group="policies.example.test",policy_kind="QuotaPolicy",type="a=b,c}"} 1`
	got := ""
	for _, l := range samples(body) {
		if strings.HasPrefix(l, "gatewayapi_policy_ancestor_condition{") {
			got += l
		}
	}
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	if strings.Contains(string(body), "free text") || strings.Contains(string(body), "reason=") || len(errs) != 0 {
		t.Errorf("message or reason leaked into labels, or errors %q", errs)
	}
	parseStrict(t, body)
}

// A policy with 1,000 targetRefs: no cap, one series per reference (the API
// server bounds an object's size, and Gateway API's own policies allow 16);
// the rest of the kind is complete.
func TestThousandTargetRefs(t *testing.T) {
	var b strings.Builder
	b.WriteString("apiVersion: policies.example.test/v1\nkind: QuotaPolicy\nmetadata: {name: many, namespace: app, generation: 1, creationTimestamp: \"2026-01-01T00:00:00Z\"}\nspec:\n  targetRefs:\n")
	for i := range 1000 {
		fmt.Fprintf(&b, "  - {group: gateway.networking.k8s.io, kind: HTTPRoute, name: r%04d}\n", i)
	}
	b.WriteString("status:\n  conditions: [{type: Accepted, status: \"True\"}]\n")
	body, errs := render(t, b.String())
	n := 0
	for _, l := range samples(body) {
		if strings.HasPrefix(l, "gatewayapi_policy_target_info{") {
			n++
		}
	}
	if n != 1000 || len(errs) != 0 {
		t.Errorf("target_info samples = %d, want 1000; errors %q", n, errs)
	}
	if !strings.Contains(string(body), `target_name="r0999"} 1`) || !strings.Contains(string(body), `type="Accepted"} 1`) {
		t.Error("want the last reference and the condition served")
	}
	parseStrict(t, body)
}
