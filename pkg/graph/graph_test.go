// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package graph_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/graph"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/objects"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/spec"
)

// The scenario of these tests, written so that every expected line below can
// be checked by reading it.
//
// Namespace infra: Gateway gw with listeners http (80, HTTP, from All) and
// https (443, HTTPS, from Same); ListenerSet ls attached to gw with listener
// extra (8080, HTTP, from All). Namespace app: routes. Namespace hidden is
// not read (outside --namespaces).
const scenario = `
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: infra}
spec:
  listeners:
  - {name: http, port: 80, protocol: HTTP, allowedRoutes: {namespaces: {from: All}}}
  - name: https
    port: 443
    protocol: HTTPS
    tls: {certificateRefs: [{name: local-cert}, {name: shared-cert, namespace: certs}, {name: other-cert, namespace: certs}, {name: denied, namespace: nogrant}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: ListenerSet
metadata: {name: ls, namespace: infra}
spec:
  parentRef: {name: gw}
  listeners:
  - {name: extra, port: 8080, protocol: HTTP, allowedRoutes: {namespaces: {from: All}}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r1, namespace: app}
spec:
  parentRefs:
  - {name: gw, namespace: infra, sectionName: http}
  - {name: gw, namespace: infra, sectionName: nosuch}
  - {name: missing, namespace: infra}
  - {group: gateway.networking.k8s.io, kind: Gateway, name: gw, namespace: infra, sectionName: https}
  - {name: gw, namespace: infra}
  - {group: "", kind: Service, name: mesh-svc}
  - {name: far, namespace: hidden}
  rules:
  - name: api
    backendRefs: [{name: local, port: 8080}, {name: remote, namespace: backends, port: 80}]
  - backendRefs: [{name: named-only, namespace: backends}, {name: elsewhere, namespace: hidden}, {group: example.com, kind: Bucket, name: b, namespace: backends}]
status:
  parents:
  - parentRef: {group: gateway.networking.k8s.io, kind: Gateway, name: gw, namespace: infra, sectionName: http}
    controllerName: one.example/ctl
    conditions: [{type: Accepted, status: "False"}]
  - parentRef: {group: gateway.networking.k8s.io, kind: Gateway, name: gw, namespace: infra, sectionName: http}
    controllerName: two.example/ctl
    conditions: [{type: Accepted, status: "True"}]
  - parentRef: {name: gw, namespace: infra, sectionName: nosuch}
    conditions: [{type: Accepted, status: "True"}]
  - parentRef: {name: gw, namespace: infra, sectionName: https}
    conditions: [{type: Accepted, status: "False"}, {type: ResolvedRefs, status: "True"}]
  - parentRef: {name: gw, namespace: infra}
    controllerName: kuadrant.io/policy-controller
    conditions: [{type: kuadrant.io/AuthPolicyAffected, status: "True"}]
  - parentRef: {name: far, namespace: hidden}
    conditions: [{type: Accepted, status: "True"}]
  - parentRef: {name: old-gw, namespace: infra}
    conditions: [{type: Accepted, status: "True"}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r2, namespace: app}
spec:
  parentRefs: [{kind: ListenerSet, name: ls, namespace: infra}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r3, namespace: app}
spec:
  parentRefs: [{name: gw, namespace: infra}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: g1, namespace: infra}
spec:
  parentRefs: [{name: gw}]
---
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: to-services, namespace: backends}
spec:
  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: app}]
  to: [{group: "", kind: Service, name: remote}]
---
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: wrong-from, namespace: backends}
spec:
  from: [{group: gateway.networking.k8s.io, kind: GRPCRoute, namespace: app}]
  to: [{group: "", kind: Service}]
---
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: certs, namespace: certs}
spec:
  from: [{group: gateway.networking.k8s.io, kind: Gateway, namespace: infra}]
  to: [{group: "", kind: Secret, name: shared-cert}]
---
apiVersion: kuadrant.io/v1
kind: AuthPolicy
metadata: {name: on-route, namespace: app}
spec:
  targetRef: {group: gateway.networking.k8s.io, kind: HTTPRoute, name: r1, sectionName: api}
---
apiVersion: kuadrant.io/v1
kind: AuthPolicy
metadata: {name: wrong-namespace, namespace: infra}
spec:
  targetRef: {group: gateway.networking.k8s.io, kind: HTTPRoute, name: r1}
---
apiVersion: kuadrant.io/v1
kind: RateLimitPolicy
metadata: {name: on-gateway, namespace: infra}
spec:
  targetRef: {group: gateway.networking.k8s.io, kind: Gateway, name: gw}
---
apiVersion: kuadrant.io/v1
kind: DNSPolicy
metadata: {name: on-https, namespace: infra}
spec:
  targetRef: {group: gateway.networking.k8s.io, kind: Gateway, name: gw, sectionName: https}
---
apiVersion: kuadrant.io/v1
kind: DNSPolicy
metadata: {name: on-http, namespace: infra}
spec:
  targetRef: {group: gateway.networking.k8s.io, kind: Gateway, name: gw, sectionName: http}
---
apiVersion: kuadrant.io/v1
kind: TLSPolicy
metadata: {name: no-listener, namespace: infra}
spec:
  targetRef: {group: gateway.networking.k8s.io, kind: Gateway, name: gw, sectionName: nosuch}
---
apiVersion: example.com/v1
kind: QuotaPolicy
metadata: {name: multi, namespace: infra}
spec:
  targetRefs:
  - {group: gateway.networking.k8s.io, kind: ListenerSet, name: ls}
  - {group: gateway.networking.k8s.io, kind: Gateway, name: missing}
  - {group: "", kind: Service, name: svc}
  - {group: gateway.networking.k8s.io, kind: HTTPRoute, name: r1, namespace: app, sectionName: nosuch}
`

var (
	gatewayGK = graph.GK{Group: "gateway.networking.k8s.io", Kind: "Gateway"}
	lsGK      = graph.GK{Group: "gateway.networking.k8s.io", Kind: "ListenerSet"}
	httpGK    = graph.GK{Group: "gateway.networking.k8s.io", Kind: "HTTPRoute"}
	grpcGK    = graph.GK{Group: "gateway.networking.k8s.io", Kind: "GRPCRoute"}
	grantGK   = graph.GK{Group: "gateway.networking.k8s.io", Kind: "ReferenceGrant"}
	authGK    = graph.GK{Group: "kuadrant.io", Kind: "AuthPolicy"}
	rlpGK     = graph.GK{Group: "kuadrant.io", Kind: "RateLimitPolicy"}
	dnsGK     = graph.GK{Group: "kuadrant.io", Kind: "DNSPolicy"}
	tlsGK     = graph.GK{Group: "kuadrant.io", Kind: "TLSPolicy"}
	quotaGK   = graph.GK{Group: "example.com", Kind: "QuotaPolicy"}
)

func parse(t testing.TB, y string) []map[string]any {
	t.Helper()
	objs, err := objects.Parse([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

func gkOf(obj map[string]any) graph.GK {
	av, _ := obj["apiVersion"].(string)
	k, _ := obj["kind"].(string)
	return graph.GK{Group: av[:max(strings.LastIndexByte(av, '/'), 0)], Kind: k}
}

// build is a graph of the objects, every kind of them known (Served) except
// those in unknown, and namespace "hidden" not read.
func build(t testing.TB, y string, unknown ...graph.GK) *graph.Graph {
	g := graph.New(func(ns string) bool { return ns != "hidden" }, false)
	kinds := map[graph.GK]bool{}
	for _, obj := range parse(t, y) {
		gk := gkOf(obj)
		kinds[gk] = true
		g.Insert(graph.Extract(gk, obj))
	}
	for _, gk := range []graph.GK{gatewayGK, lsGK, httpGK, grpcGK, grantGK, authGK, rlpGK, dnsGK, tlsGK, quotaGK} {
		kinds[gk] = true
	}
	for gk := range kinds {
		if !slices.Contains(unknown, gk) {
			g.SetKind(gk, graph.Served, true)
		}
	}
	return g
}

// lines renders one relation of one object as `{labels} value` lines, sorted,
// and its problems as "error: ..." lines.
func lines(g *graph.Graph, rel spec.Relation, gk graph.GK, ns, name string) []string {
	n := g.Lookup(gk, ns, name)
	if n == nil {
		return []string{"no such node"}
	}
	var out []string
	var buf graph.Buffer
	g.Samples(rel, n, &buf, func(msg string) { out = append(out, "error: "+msg) })
	for i := range buf.Len() {
		labels, v := buf.Sample(i)
		var b strings.Builder
		for i, l := range labels {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "%s=%q", l.Name, l.Value)
		}
		out = append(out, fmt.Sprintf("{%s} %g", b.String(), v))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func check(t *testing.T, got []string, want ...string) {
	t.Helper()
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("got:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func parent(name, ns, section, state string) string {
	return parent4("gateway.networking.k8s.io", "Gateway", name, ns, section, state)
}

func parent4(group, kind, name, ns, section, state string) string {
	return fmt.Sprintf(`{parent_group=%q,parent_kind=%q,parent_name=%q,parent_namespace=%q,parent_port="",parent_section_name=%q,state=%q} 1`, group, kind, name, ns, section, state)
}

func TestParentAttachment(t *testing.T) {
	g := build(t, scenario)
	check(t, lines(g, spec.ParentAttachment, httpGK, "app", "r1"),
		// One controller says False, another True: some entry is True.
		parent("gw", "infra", "http", "Accepted"),
		// A status entry says Accepted, but gw has no such listener: the
		// graph's verdict wins.
		parent("gw", "infra", "nosuch", "ParentNotFound"),
		// No such Gateway; no status entry either.
		parent("missing", "infra", "", "ParentNotFound"),
		// Entries for it carry Accepted, none True.
		parent("gw", "infra", "https", "NotAccepted"),
		// Only Kuadrant's entry, which holds no Accepted: no controller
		// has acknowledged the route for the whole Gateway.
		parent("gw", "infra", "", "Pending"),
		// A Service (mesh): a kind the graph does not judge; no status.
		parent4("", "Service", "mesh-svc", "app", "", "Pending"),
		// A namespace not read: judged from status alone.
		parent("far", "hidden", "", "Accepted"),
		// Accepted by a controller for a parentRef the route no longer has.
		parent("old-gw", "infra", "", "Stale"),
	)
	// The GRPCRoute's parentRef has no namespace: the route's own.
	check(t, lines(g, spec.ParentAttachment, grpcGK, "infra", "g1"), parent("gw", "infra", "", "Pending"))
	check(t, lines(g, spec.ParentAttachment, httpGK, "app", "r2"),
		parent4("gateway.networking.k8s.io", "ListenerSet", "ls", "infra", "", "Pending"))
}

func TestParentAttachmentOfUnknownKinds(t *testing.T) {
	// Gateways could not be read: nothing is ParentNotFound, everything is
	// judged from status alone.
	g := build(t, scenario, gatewayGK)
	check(t, lines(g, spec.ParentAttachment, httpGK, "app", "r1"),
		parent("gw", "infra", "http", "Accepted"),
		parent("gw", "infra", "nosuch", "Accepted"),
		parent("missing", "infra", "", "Pending"),
		parent("gw", "infra", "https", "NotAccepted"),
		parent("gw", "infra", "", "Pending"),
		parent4("", "Service", "mesh-svc", "app", "", "Pending"),
		parent("far", "hidden", "", "Accepted"),
		parent("old-gw", "infra", "", "Stale"),
	)
}

func policy(gk graph.GK, ns, name, via string) string {
	return fmt.Sprintf(`{policy_group=%q,policy_kind=%q,policy_name=%q,policy_namespace=%q,via=%q} 1`, gk.Group, gk.Kind, name, ns, via)
}

func TestEffectivePolicies(t *testing.T) {
	g := build(t, scenario)
	check(t, lines(g, spec.EffectivePolicy, httpGK, "app", "r1"),
		// Its own targetRef (with a sectionName: a rule).
		policy(authGK, "app", "on-route", "route"),
		// The same route name from another namespace: not this route.
		// QuotaPolicy "multi" targets r1's rule "nosuch" in app explicitly.
		policy(quotaGK, "infra", "multi", "route"),
		// Through gw (parentRefs http, https and the whole Gateway).
		policy(rlpGK, "infra", "on-gateway", "gateway"),
		// Listener http by name, and listener https by name.
		policy(dnsGK, "infra", "on-http", "listener"),
		policy(dnsGK, "infra", "on-https", "listener"),
		// The policy on listener "nosuch" applies to nothing: r1's parentRef
		// to gw/nosuch is ParentNotFound and carries no policies.
	)
	// r2 attaches through ListenerSet ls: the policy on ls applies through
	// a listener, the one on gw through the Gateway; the policies on gw's
	// own listeners do not.
	check(t, lines(g, spec.EffectivePolicy, httpGK, "app", "r2"),
		policy(quotaGK, "infra", "multi", "listener"),
		policy(rlpGK, "infra", "on-gateway", "gateway"),
	)
	// r3 attaches to gw without a sectionName from namespace app: http
	// admits it (from: All), https does not (from: Same, default).
	check(t, lines(g, spec.EffectivePolicy, httpGK, "app", "r3"),
		policy(rlpGK, "infra", "on-gateway", "gateway"),
		policy(dnsGK, "infra", "on-http", "listener"),
	)
	// g1 is a GRPCRoute in infra itself: both listeners admit it (HTTP and
	// HTTPS carry GRPCRoute; https admits its own namespace).
	check(t, lines(g, spec.EffectivePolicy, grpcGK, "infra", "g1"),
		policy(rlpGK, "infra", "on-gateway", "gateway"),
		policy(dnsGK, "infra", "on-http", "listener"),
		policy(dnsGK, "infra", "on-https", "listener"),
	)
}

func coverage(gk graph.GK, v int) string {
	return fmt.Sprintf(`{policy_group=%q,policy_kind=%q} %d`, gk.Group, gk.Kind, v)
}

func TestPolicyCoverage(t *testing.T) {
	g := build(t, scenario)
	// AuthPolicy and RateLimitPolicy: always, their CRDs being installed;
	// DNSPolicy, TLSPolicy and QuotaPolicy: a policy of theirs targets a
	// route or a Gateway.
	check(t, lines(g, spec.PolicyCoverage, httpGK, "app", "r1"),
		coverage(authGK, 1), coverage(rlpGK, 1), coverage(dnsGK, 1), coverage(tlsGK, 0), coverage(quotaGK, 1))
	check(t, lines(g, spec.PolicyCoverage, httpGK, "app", "r3"),
		coverage(authGK, 0), coverage(rlpGK, 1), coverage(dnsGK, 1), coverage(tlsGK, 0), coverage(quotaGK, 0))

	// Without AuthPolicy's CRD and without any policy but a
	// kuadrant.io/AuthPolicyAffected condition: the condition alone covers,
	// once a policy of the kind targets something; no sample without.
	y := `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: app}
spec: {parentRefs: [{name: gw}]}
status:
  parents:
  - parentRef: {name: gw}
    conditions: [{type: kuadrant.io/AuthPolicyAffected, status: "True"}, {type: kuadrant.io/RateLimitPolicyAffected, status: "False"}]
`
	g = graph.New(nil, false)
	for _, o := range parse(t, y) {
		g.Insert(graph.Extract(httpGK, o))
	}
	g.SetKind(httpGK, graph.Served, true)
	g.SetKind(authGK, graph.NotServed, true)
	check(t, lines(g, spec.PolicyCoverage, httpGK, "app", "r"))
	g.SetKind(authGK, graph.Served, true)
	g.SetKind(rlpGK, graph.Served, true)
	check(t, lines(g, spec.PolicyCoverage, httpGK, "app", "r"), coverage(authGK, 1), coverage(rlpGK, 0))
}

func backend(group, kind, name, ns, port, permitted, rule string) string {
	return fmt.Sprintf(`{backend_group=%q,backend_kind=%q,backend_name=%q,backend_namespace=%q,backend_port=%q,permitted=%q,rule=%q} 1`,
		group, kind, name, ns, port, permitted, rule)
}

func TestBackendRefs(t *testing.T) {
	g := build(t, scenario)
	check(t, lines(g, spec.BackendRefs, httpGK, "app", "r1"),
		backend("", "Service", "local", "app", "8080", "true", "api"),
		// Granted by name.
		backend("", "Service", "remote", "backends", "80", "true", "api"),
		// The grant to Services names another; the one to every Service is
		// from GRPCRoutes.
		backend("", "Service", "named-only", "backends", "", "false", "1"),
		// Namespace not read: its grants are unknown.
		backend("", "Service", "elsewhere", "hidden", "", "unknown", "1"),
		backend("example.com", "Bucket", "b", "backends", "", "false", "1"),
	)
	g = build(t, scenario, grantGK)
	check(t, lines(g, spec.BackendRefs, httpGK, "app", "r1"),
		backend("", "Service", "local", "app", "8080", "true", "api"),
		backend("", "Service", "remote", "backends", "80", "unknown", "api"),
		backend("", "Service", "named-only", "backends", "", "unknown", "1"),
		backend("", "Service", "elsewhere", "hidden", "", "unknown", "1"),
		backend("example.com", "Bucket", "b", "backends", "", "unknown", "1"),
	)
}

func TestListenerCertificateRefs(t *testing.T) {
	g := build(t, scenario)
	cert := func(name, ns, permitted string) string {
		return fmt.Sprintf(`{listener_name="https",permitted=%q,ref_group="",ref_kind="Secret",ref_name=%q,ref_namespace=%q} 1`, permitted, name, ns)
	}
	check(t, lines(g, spec.ListenerCertificateRefs, gatewayGK, "infra", "gw"),
		cert("local-cert", "infra", "true"), cert("shared-cert", "certs", "true"),
		cert("other-cert", "certs", "false"), cert("denied", "nogrant", "false"))
}

func TestTargetResolved(t *testing.T) {
	g := build(t, scenario)
	check(t, lines(g, spec.TargetResolved, quotaGK, "infra", "multi"),
		`{target_group="gateway.networking.k8s.io",target_kind="ListenerSet",target_name="ls"} 1`,
		`{target_group="gateway.networking.k8s.io",target_kind="Gateway",target_name="missing"} 0`,
		// No such rule in r1 (its one named rule is "api"). The Service is
		// of a kind not read: no sample.
		`{target_group="gateway.networking.k8s.io",target_kind="HTTPRoute",target_name="r1",target_namespace="app",target_section_name="nosuch"} 0`,
	)
	check(t, lines(g, spec.TargetResolved, authGK, "app", "on-route"),
		`{target_group="gateway.networking.k8s.io",target_kind="HTTPRoute",target_name="r1",target_section_name="api"} 1`)
	check(t, lines(g, spec.TargetResolved, authGK, "infra", "wrong-namespace"),
		`{target_group="gateway.networking.k8s.io",target_kind="HTTPRoute",target_name="r1"} 0`)
	check(t, lines(g, spec.TargetResolved, tlsGK, "infra", "no-listener"),
		`{target_group="gateway.networking.k8s.io",target_kind="Gateway",target_name="gw",target_section_name="nosuch"} 0`)
	check(t, lines(g, spec.TargetResolved, dnsGK, "infra", "on-https"),
		`{target_group="gateway.networking.k8s.io",target_kind="Gateway",target_name="gw",target_section_name="https"} 1`)
	// A kind the graph does not know: no sample.
	g = build(t, scenario, lsGK)
	check(t, lines(g, spec.TargetResolved, quotaGK, "infra", "multi"),
		`{target_group="gateway.networking.k8s.io",target_kind="Gateway",target_name="missing"} 0`,
		`{target_group="gateway.networking.k8s.io",target_kind="HTTPRoute",target_name="r1",target_namespace="app",target_section_name="nosuch"} 0`,
	)
}

// Bad input never fails: references of the wrong shape are skipped and
// reported with the relation they are missing from; a ListenerSet naming a
// ListenerSet (which the API forbids) is no cycle.
func TestBadInput(t *testing.T) {
	var refs strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&refs, "  - {name: gw-%d, namespace: infra}\n", i)
	}
	y := `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: many, namespace: app}
spec:
  parentRefs:
` + refs.String() + `
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: odd, namespace: app}
spec:
  parentRefs: [7, {namespace: infra}, "gw", {name: gw, namespace: infra, port: 99999999}, null]
  rules: [{backendRefs: [{port: 80}, [1]]}, "rule", {backendRefs: "b"}]
status:
  parents: ["x", {parentRef: 3}, {parentRef: {name: gw, namespace: infra}, conditions: "c"}, {parentRef: {name: gw, namespace: infra}, conditions: [7, {type: Accepted}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: ListenerSet
metadata: {name: loop, namespace: infra}
spec:
  parentRef: {kind: ListenerSet, name: loop}
  listeners: [{name: l, protocol: HTTP, allowedRoutes: {namespaces: {from: All}}}, "x", {tls: {certificateRefs: [{kind: Secret}]}}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: via-loop, namespace: app}
spec:
  parentRefs: [{kind: ListenerSet, name: loop, namespace: infra}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: infra}
spec: {listeners: 5}
---
apiVersion: kuadrant.io/v1
kind: AuthPolicy
metadata: {name: on-loop, namespace: infra}
spec: {targetRef: {group: gateway.networking.k8s.io, kind: ListenerSet, name: loop}}
---
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: g, namespace: x}
spec: {from: 1, to: [null, {}]}
`
	g := build(t, y)
	got := lines(g, spec.ParentAttachment, httpGK, "app", "many")
	if len(got) != 1000 {
		t.Errorf("many: %d samples, want 1000", len(got))
	}
	check(t, lines(g, spec.ParentAttachment, httpGK, "app", "odd"),
		// The port is out of range: read as no port. The status entry with
		// an Accepted condition without a status is "not True".
		parent("gw", "infra", "", "NotAccepted"),
		"error: spec.parentRefs[0]: not a reference with a name",
		"error: spec.parentRefs[1]: not a reference with a name",
		"error: spec.parentRefs[2]: not a reference with a name",
		"error: spec.parentRefs[4]: not a reference with a name",
		"error: status.parents[0].parentRef: not a reference with a name",
		"error: status.parents[1].parentRef: not a reference with a name",
	)
	check(t, lines(g, spec.BackendRefs, httpGK, "app", "odd"),
		"error: spec.rules[0].backendRefs[0]: not a reference with a name",
		"error: spec.rules[0].backendRefs[1]: not a reference with a name",
	)
	check(t, lines(g, spec.ParentAttachment, httpGK, "app", "via-loop"),
		parent4("gateway.networking.k8s.io", "ListenerSet", "loop", "infra", "", "Pending"))
	check(t, lines(g, spec.EffectivePolicy, httpGK, "app", "via-loop"),
		policy(authGK, "infra", "on-loop", "listener"))
	check(t, lines(g, spec.ListenerCertificateRefs, lsGK, "infra", "loop"),
		"error: spec.listeners[2].tls.certificateRefs[0]: not a reference with a name")
}

func TestDefaultsBeforeComparing(t *testing.T) {
	// The status entry spells out every default; spec leaves them all out.
	g := build(t, `
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: app}
spec: {listeners: [{name: http, protocol: HTTP}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: app}
spec: {parentRefs: [{name: gw}]}
status:
  parents:
  - parentRef: {group: gateway.networking.k8s.io, kind: Gateway, namespace: app, name: gw}
    conditions: [{type: Accepted, status: "True"}]
`)
	check(t, lines(g, spec.ParentAttachment, httpGK, "app", "r"), parent("gw", "app", "", "Accepted"))
}
