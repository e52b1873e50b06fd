// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package current

// The attachment graph (METRICS.md, "The attachment graph") on today's CRDs:
// one scenario, in two namespaces of its own, in which every graph family of
// the embedded spec has samples. No controller runs here: the routes'
// statuses are written through the status subresource as a Gateway
// controller (example.com/gateway-controller) and Kuadrant's policy
// controller (kuadrant.io/policy-controller) would write them.
//
// Every expected line below is written by hand from the objects, with the
// reason it is what it is; none was copied from the exporter.

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kuadrant/gateway-api-metrics-exporter/internal/harness"
	"github.com/kuadrant/gateway-api-metrics-exporter/internal/testenv"
)

// graphScenario is where the scenario lives: ${A} holds the Gateway, the
// ListenerSet, four routes and the policies; ${B} holds the
// ReferenceGrants, a UDPRoute attached across namespaces and a policy in the
// wrong namespace. The names do not depend on the test that writes them:
// TestEveryFamilyServed writes the scenario too when it runs first
// (ensureGraphScenario).
type graphScenario struct{ a, b string }

var theGraphScenario = graphScenario{a: "cur-graph-a", b: "cur-graph-b"}

// namespacesFlag is the exporter's --namespaces for the scenario.
func (s graphScenario) namespacesFlag() string { return "--namespaces=" + s.a + "," + s.b }

func (s graphScenario) replace(text string) string {
	return strings.NewReplacer("${A}", s.a, "${B}", s.b).Replace(text)
}

// graphScenarioState: the scenario is written once per API server, by
// whichever test needs it first; it is never changed afterwards, so every
// test (and -count=N) sees the same objects.
var graphScenarioState struct {
	sync.Mutex
	done bool
	err  error
}

// ensureGraphScenario writes the scenario unless it is written already, and
// returns where it is.
func ensureGraphScenario(t *testing.T, env *testenv.Env) graphScenario {
	t.Helper()
	s := theGraphScenario
	graphScenarioState.Lock()
	defer graphScenarioState.Unlock()
	if !graphScenarioState.done {
		_, graphScenarioState.err = env.Apply(ctxFor(t), s.a, []byte(s.replace(graphObjects)))
		graphScenarioState.done = true
	}
	if graphScenarioState.err != nil {
		t.Fatalf("writing the graph scenario: %v", graphScenarioState.err)
	}
	return s
}

// Conditions of the statuses below.
const (
	condAccepted    = `{type: Accepted, status: "True", reason: Accepted, message: ok, lastTransitionTime: "2026-01-10T09:00:00Z", observedGeneration: 1}`
	condNotAccepted = `{type: Accepted, status: "False", reason: NotAllowedByListeners, message: no listener admits the route, lastTransitionTime: "2026-01-10T09:00:00Z", observedGeneration: 1}`
	condRefDenied   = `{type: ResolvedRefs, status: "False", reason: RefNotPermitted, message: no grant for legacy, lastTransitionTime: "2026-01-10T09:09:00Z", observedGeneration: 1}`
	condAuthAffect  = `{type: kuadrant.io/AuthPolicyAffected, status: "True", reason: Accepted, message: affected, lastTransitionTime: "2026-02-01T12:00:00Z", observedGeneration: 1}`
)

// graphObjects is the scenario; objects without a namespace go to ${A}.
var graphObjects = `
# edge: one listener per protocol. Listeners default to allowedRoutes
# from: Same (the CRD's default), http and udp admit every namespace.
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: edge}
spec:
  gatewayClassName: cur-graph
  allowedListeners: {namespaces: {from: Same}}
  listeners:
  - {name: http, port: 80, protocol: HTTP, allowedRoutes: {namespaces: {from: All}}}
  - name: https
    port: 443
    protocol: HTTPS
    hostname: api.example.com
    tls:
      mode: Terminate
      certificateRefs:
      - {name: edge-cert}
      - {name: shared-cert, namespace: ${B}}
      - {name: other-cert, namespace: ${B}}
  - {name: tls, port: 8443, protocol: TLS, hostname: vault.example.com, tls: {mode: Passthrough}}
  - {name: tcp, port: 5432, protocol: TCP}
  - {name: udp, port: 53, protocol: UDP, allowedRoutes: {namespaces: {from: All}}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: ListenerSet
metadata: {name: extra}
spec:
  parentRef: {group: gateway.networking.k8s.io, kind: Gateway, name: edge}
  listeners:
  - name: extra-https
    port: 9443
    protocol: HTTPS
    hostname: extra.example.com
    tls:
      mode: Terminate
      certificateRefs:
      - {name: extra-cert}
      - {name: shared-cert, namespace: ${B}}
---
# Grants in ${B}: edge (a Gateway, not the ListenerSet) may use the Secret
# shared-cert; HTTPRoutes and GRPCRoutes of ${A} (not TCPRoutes) the Service
# cart (no other Service).
apiVersion: gateway.networking.k8s.io/v1
kind: ReferenceGrant
metadata: {name: gateway-certs, namespace: ${B}}
spec:
  from: [{group: gateway.networking.k8s.io, kind: Gateway, namespace: ${A}}]
  to: [{group: "", kind: Secret, name: shared-cert}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: ReferenceGrant
metadata: {name: routes-to-cart, namespace: ${B}}
spec:
  from:
  - {group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: ${A}}
  - {group: gateway.networking.k8s.io, kind: GRPCRoute, namespace: ${A}}
  to: [{group: "", kind: Service, name: cart}]
---
apiVersion: gateway.networking.x-k8s.io/v1alpha1
kind: XBackend
metadata: {name: partner}
spec:
  type: ExternalHostname
  externalHostname: {hostname: api.partner.example}
  port: {port: 443}
  protocol: HTTP2
---
# shop: accepted on edge/https; attached to the ListenerSet, where only
# Kuadrant has written an entry (no Accepted: pending); a Gateway that does
# not exist although an entry says Accepted; and an entry left behind for
# edge/http, which spec.parentRefs no longer names.
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: shop}
spec:
  hostnames: [api.example.com]
  parentRefs:
  - {name: edge, sectionName: https}
  - {group: gateway.networking.k8s.io, kind: ListenerSet, name: extra}
  - {name: ghost}
  rules:
  - name: login
    backendRefs:
    - {name: shop, port: 8080}
    - {name: cart, namespace: ${B}, port: 8080}
  - backendRefs:
    - {name: legacy, namespace: ${B}, port: 80}
status:
  parents:
  - parentRef: {group: gateway.networking.k8s.io, kind: Gateway, namespace: ${A}, name: edge, sectionName: https}
    controllerName: example.com/gateway-controller
    conditions:
    - ` + condAccepted + `
    - ` + condRefDenied + `
  - parentRef: {group: gateway.networking.k8s.io, kind: ListenerSet, namespace: ${A}, name: extra}
    controllerName: kuadrant.io/policy-controller
    conditions:
    - ` + condAuthAffect + `
  - parentRef: {group: gateway.networking.k8s.io, kind: Gateway, namespace: ${A}, name: ghost}
    controllerName: example.com/gateway-controller
    conditions:
    - ` + condAccepted + `
  - parentRef: {group: gateway.networking.k8s.io, kind: Gateway, namespace: ${A}, name: edge, sectionName: http}
    controllerName: example.com/gateway-controller
    conditions:
    - ` + condAccepted + `
---
# api: the whole of edge (every listener that admits a GRPCRoute of ${A}:
# http and https), not accepted.
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: api}
spec:
  parentRefs: [{name: edge}]
  rules: [{backendRefs: [{name: cart, namespace: ${B}, port: 9000}]}]
status:
  parents:
  - parentRef: {group: gateway.networking.k8s.io, kind: Gateway, namespace: ${A}, name: edge}
    controllerName: example.com/gateway-controller
    conditions:
    - ` + condNotAccepted + `
---
# vault: accepted on edge/tls; edge has no listener tls-legacy.
apiVersion: gateway.networking.k8s.io/v1
kind: TLSRoute
metadata: {name: vault}
spec:
  hostnames: [vault.example.com]
  parentRefs: [{name: edge, sectionName: tls}, {name: edge, sectionName: tls-legacy}]
  rules: [{backendRefs: [{name: vault, port: 8200}]}]
status:
  parents:
  - parentRef: {group: gateway.networking.k8s.io, kind: Gateway, namespace: ${A}, name: edge, sectionName: tls}
    controllerName: example.com/gateway-controller
    conditions:
    - ` + condAccepted + `
---
# db: edge's listeners on port 5432 (tcp); no controller has written a
# status.
apiVersion: gateway.networking.k8s.io/v1
kind: TCPRoute
metadata: {name: db}
spec:
  parentRefs: [{name: edge, port: 5432}]
  rules: [{backendRefs: [{name: postgres, namespace: ${B}, port: 5432}]}]
---
# dns, in ${B}: edge/udp across namespaces, accepted; Kuadrant says an
# AuthPolicy affects it, although no AuthPolicy of the graph applies to it.
apiVersion: gateway.networking.k8s.io/v1
kind: UDPRoute
metadata: {name: dns, namespace: ${B}}
spec:
  parentRefs: [{name: edge, namespace: ${A}, sectionName: udp}]
  rules: [{backendRefs: [{name: coredns, port: 53}, {name: resolver, namespace: ${A}, port: 53}]}]
status:
  parents:
  - parentRef: {group: gateway.networking.k8s.io, kind: Gateway, namespace: ${A}, name: edge, sectionName: udp}
    controllerName: example.com/gateway-controller
    conditions:
    - ` + condAccepted + `
  - parentRef: {group: gateway.networking.k8s.io, kind: Gateway, namespace: ${A}, name: edge, sectionName: udp}
    controllerName: kuadrant.io/policy-controller
    conditions:
    - ` + condAuthAffect + `
---
# Policies. Kuadrant's targetRefs have no namespace: they target objects of
# the policy's own namespace.
apiVersion: kuadrant.io/v1
kind: AuthPolicy
metadata: {name: edge-auth}
spec:
  targetRef: {group: gateway.networking.k8s.io, kind: Gateway, name: edge, sectionName: https}
  rules:
    authorization:
      deny-all: {opa: {rego: "allow = false"}}
---
apiVersion: kuadrant.io/v1
kind: AuthPolicy
metadata: {name: gone-auth}
spec:
  targetRef: {group: gateway.networking.k8s.io, kind: HTTPRoute, name: gone}
  rules:
    authorization:
      deny-all: {opa: {rego: "allow = false"}}
---
apiVersion: kuadrant.io/v1
kind: RateLimitPolicy
metadata: {name: shop-limits}
spec:
  targetRef: {group: gateway.networking.k8s.io, kind: HTTPRoute, name: shop}
  limits:
    per-user: {rates: [{limit: 10, window: 1m}]}
---
apiVersion: kuadrant.io/v1
kind: DNSPolicy
metadata: {name: edge-dns}
spec:
  targetRef: {group: gateway.networking.k8s.io, kind: Gateway, name: edge}
  providerRefs: [{name: aws-credentials}]
---
apiVersion: kuadrant.io/v1
kind: DNSPolicy
metadata: {name: ghost-dns}
spec:
  targetRef: {group: gateway.networking.k8s.io, kind: Gateway, name: ghost}
  providerRefs: [{name: aws-credentials}]
---
apiVersion: kuadrant.io/v1
kind: TLSPolicy
metadata: {name: edge-tls}
spec:
  targetRef: {group: gateway.networking.k8s.io, kind: Gateway, name: edge}
  issuerRef: {group: cert-manager.io, kind: ClusterIssuer, name: letsencrypt}
---
apiVersion: kuadrant.io/v1alpha1
kind: TokenRateLimitPolicy
metadata: {name: shop-tokens}
spec:
  targetRef: {group: gateway.networking.k8s.io, kind: HTTPRoute, name: shop}
  limits:
    free: {rates: [{limit: 20000, window: 24h}]}
---
apiVersion: kuadrant.io/v1alpha1
kind: TokenRateLimitPolicy
metadata: {name: edge-tokens}
spec:
  targetRef: {group: gateway.networking.k8s.io, kind: Gateway, name: edge, sectionName: grpc}
  limits:
    free: {rates: [{limit: 20000, window: 24h}]}
---
apiVersion: extensions.kuadrant.io/v1alpha1
kind: OIDCPolicy
metadata: {name: shop-oidc}
spec:
  targetRef: {group: gateway.networking.k8s.io, kind: HTTPRoute, name: shop, sectionName: login}
  provider: {issuerURL: "https://issuer.example.com", clientID: shop}
---
apiVersion: extensions.kuadrant.io/v1alpha1
kind: PlanPolicy
metadata: {name: api-plans}
spec:
  targetRef: {group: gateway.networking.k8s.io, kind: GRPCRoute, name: api}
  plans: [{tier: gold, predicate: "true", limits: {daily: 1000}}]
---
apiVersion: extensions.kuadrant.io/v1alpha1
kind: TelemetryPolicy
metadata: {name: edge-telemetry}
spec:
  targetRef: {group: gateway.networking.k8s.io, kind: Gateway, name: edge, sectionName: tcp}
  metrics: {default: {labels: {user: auth.identity.userid}}}
---
apiVersion: extensions.kuadrant.io/v1alpha1
kind: ThreatPolicy
metadata: {name: edge-threats}
spec:
  targetRef: {group: gateway.networking.k8s.io, kind: Gateway, name: edge, sectionName: http}
  threshold: 5
---
# In ${B}: targets ${B}/shop, which does not exist (shop is in ${A}).
apiVersion: extensions.kuadrant.io/v1alpha1
kind: ThreatPolicy
metadata: {name: misplaced-threats, namespace: ${B}}
spec:
  targetRef: {group: gateway.networking.k8s.io, kind: HTTPRoute, name: shop}
  threshold: 5
---
# Backend policies: an XBackend that exists, one that does not, and a
# Service (a kind the exporter does not read: no sample).
apiVersion: gateway.networking.k8s.io/v1
kind: BackendTLSPolicy
metadata: {name: partner-tls}
spec:
  targetRefs:
  - {group: gateway.networking.x-k8s.io, kind: XBackend, name: partner}
  - {group: gateway.networking.x-k8s.io, kind: XBackend, name: gone}
  - {group: "", kind: Service, name: cart}
  validation:
    caCertificateRefs: [{group: "", kind: ConfigMap, name: partner-ca}]
    hostname: api.partner.example
---
apiVersion: gateway.networking.x-k8s.io/v1alpha1
kind: XBackendTrafficPolicy
metadata: {name: partner-sessions}
spec:
  targetRefs:
  - {group: gateway.networking.x-k8s.io, kind: XBackend, name: partner}
  - {group: gateway.networking.x-k8s.io, kind: XBackend, name: gone}
  - {group: "", kind: Service, name: cart}
  sessionPersistence: {type: Cookie, sessionName: partner-session}
`

// graphWant is the expected lines of one object: kind, namespace, name and
// its lines in short form, `family{labels} value` (family after the kind's
// prefix gatewayapi_<kind>_).
type graphWant struct {
	kind      string
	namespace string // ${A} or ${B}
	name      string
	lines     []string
}

// Labels written often below.
const (
	gwAPI = `gateway.networking.k8s.io`
	kuadr = `kuadrant.io`
	ext   = `extensions.kuadrant.io`
)

func parent(kind, name, ns, port, section, state string) string {
	return fmt.Sprintf(`parent_attachment{parent_group=%q,parent_kind=%q,parent_name=%q,parent_namespace=%q,parent_port=%q,parent_section_name=%q,state=%q} 1`,
		gwAPI, kind, name, ns, port, section, state)
}

func effective(group, kind, ns, name, via string) string {
	return fmt.Sprintf(`effective_policy_info{policy_group=%q,policy_kind=%q,policy_name=%q,policy_namespace=%q,via=%q} 1`, group, kind, name, ns, via)
}

// coverage lists the policy_coverage lines of a route: the kinds in covered
// are 1, every other kind of coverageKinds 0.
func coverage(covered ...string) []string {
	var out []string
	for _, k := range coverageKinds {
		v := 0
		if slices.Contains(covered, k[1]) {
			v = 1
		}
		out = append(out, fmt.Sprintf(`policy_coverage{policy_group=%q,policy_kind=%q} %d`, k[0], k[1], v))
	}
	return out
}

// coverageKinds are the policy kinds every route gets a policy_coverage
// sample of here: AuthPolicy and RateLimitPolicy because their CRDs are
// installed, the others because one of their policies targets a route or a
// Gateway (an unresolved target counts). BackendTLSPolicy and
// XBackendTrafficPolicy are not among them: theirs target XBackends and a
// Service only.
var coverageKinds = [][2]string{
	{kuadr, "AuthPolicy"}, {kuadr, "RateLimitPolicy"}, {kuadr, "DNSPolicy"}, {kuadr, "TLSPolicy"}, {kuadr, "TokenRateLimitPolicy"},
	{ext, "OIDCPolicy"}, {ext, "PlanPolicy"}, {ext, "TelemetryPolicy"}, {ext, "ThreatPolicy"},
}

func backend(rule, ns, name, port, permitted string) string {
	return fmt.Sprintf(`backend_ref_info{backend_group="",backend_kind="Service",backend_name=%q,backend_namespace=%q,backend_port=%q,permitted=%q,rule=%q} 1`,
		name, ns, port, permitted, rule)
}

func cert(listener, ns, name, permitted string) string {
	return fmt.Sprintf(`listener_certificate_ref_info{listener_name=%q,permitted=%q,ref_group="",ref_kind="Secret",ref_name=%q,ref_namespace=%q} 1`,
		listener, permitted, name, ns)
}

// resolved is a target_resolved line; section may be empty (Kuadrant's and
// these Gateway API targetRefs have no namespace: no target_namespace).
func resolved(group, kind, name, section, v string) string {
	s := ""
	if section != "" {
		s = fmt.Sprintf(`,target_section_name=%q`, section)
	}
	return fmt.Sprintf(`target_resolved{target_group=%q,target_kind=%q,target_name=%q%s} %s`, group, kind, name, s, v)
}

// graphWants: every graph line the scenario gives, by object.
func graphWants() []graphWant {
	const A, B = "${A}", "${B}"
	const none = ""
	// Through edge without a sectionName (directly, or through the
	// ListenerSet extra whose parent edge is): edge-dns and edge-tls.
	viaEdge := []string{effective(kuadr, "DNSPolicy", A, "edge-dns", "gateway"), effective(kuadr, "TLSPolicy", A, "edge-tls", "gateway")}
	return []graphWant{
		{"HTTPRoute", A, "shop", slices.Concat([]string{
			parent("Gateway", "edge", A, none, "https", "Accepted"),
			// Kuadrant's entry holds no Accepted condition.
			parent("ListenerSet", "extra", A, none, none, "Pending"),
			// No Gateway ghost, whatever the status says.
			parent("Gateway", "ghost", A, none, none, "ParentNotFound"),
			parent("Gateway", "edge", A, none, "http", "Stale"),
		}, viaEdge, []string{
			// edge's listener https, which the first parentRef names.
			// edge-threats is on edge/http, which shop does not attach to
			// (its stale entry is no parentRef); a policy on one of edge's
			// listeners does not apply through the ListenerSet.
			effective(kuadr, "AuthPolicy", A, "edge-auth", "listener"),
			effective(kuadr, "RateLimitPolicy", A, "shop-limits", "route"),
			effective(kuadr, "TokenRateLimitPolicy", A, "shop-tokens", "route"),
			effective(ext, "OIDCPolicy", A, "shop-oidc", "route"),
			// Not: gone-auth (HTTPRoute gone), ghost-dns (ghost is not
			// found: no policies through it), misplaced-threats (${B}/shop).
		}, coverage("AuthPolicy", "RateLimitPolicy", "DNSPolicy", "TLSPolicy", "TokenRateLimitPolicy", "OIDCPolicy"), []string{
			backend("login", A, "shop", "8080", "true"),
			backend("login", B, "cart", "8080", "true"), // routes-to-cart
			backend("1", B, "legacy", "80", "false"),    // the grant names cart only
		})},
		{"GRPCRoute", A, "api", slices.Concat([]string{
			parent("Gateway", "edge", A, none, none, "NotAccepted"),
		}, viaEdge, []string{
			// Listeners of edge that admit a GRPCRoute of ${A}: http (All)
			// and https (Same); not tls, tcp, udp (their protocols).
			effective(kuadr, "AuthPolicy", A, "edge-auth", "listener"),
			effective(ext, "ThreatPolicy", A, "edge-threats", "listener"),
			effective(ext, "PlanPolicy", A, "api-plans", "route"),
			// Not: edge-tokens (edge has no listener grpc), edge-telemetry
			// (tcp).
		}, coverage("AuthPolicy", "DNSPolicy", "TLSPolicy", "PlanPolicy", "ThreatPolicy"), []string{
			backend("0", B, "cart", "9000", "true"),
		})},
		{"TLSRoute", A, "vault", slices.Concat([]string{
			parent("Gateway", "edge", A, none, "tls", "Accepted"),
			parent("Gateway", "edge", A, none, "tls-legacy", "ParentNotFound"),
		}, viaEdge, coverage("DNSPolicy", "TLSPolicy"), []string{
			backend("0", A, "vault", "8200", "true"),
		})},
		{"TCPRoute", A, "db", slices.Concat([]string{
			parent("Gateway", "edge", A, "5432", none, "Pending"),
		}, viaEdge, []string{
			// edge's listener on port 5432: tcp.
			effective(ext, "TelemetryPolicy", A, "edge-telemetry", "listener"),
		}, coverage("DNSPolicy", "TLSPolicy", "TelemetryPolicy"), []string{
			backend("0", B, "postgres", "5432", "false"), // routes-to-cart does not list TCPRoute
		})},
		{"UDPRoute", B, "dns", slices.Concat([]string{
			parent("Gateway", "edge", A, none, "udp", "Accepted"),
		}, viaEdge,
			// AuthPolicy from Kuadrant's condition alone.
			coverage("AuthPolicy", "DNSPolicy", "TLSPolicy"), []string{
				backend("0", B, "coredns", "53", "true"),
				backend("0", A, "resolver", "53", "false"), // ${A} has no grants
			})},
		{"Gateway", A, "edge", []string{
			cert("https", A, "edge-cert", "true"),
			cert("https", B, "shared-cert", "true"), // gateway-certs
			cert("https", B, "other-cert", "false"), // the grant names shared-cert only
		}},
		{"ListenerSet", A, "extra", []string{
			cert("extra-https", A, "extra-cert", "true"),
			cert("extra-https", B, "shared-cert", "false"), // gateway-certs is for Gateways
		}},
		{"AuthPolicy", A, "edge-auth", []string{resolved(gwAPI, "Gateway", "edge", "https", "1")}},
		{"AuthPolicy", A, "gone-auth", []string{resolved(gwAPI, "HTTPRoute", "gone", none, "0")}},
		{"RateLimitPolicy", A, "shop-limits", []string{resolved(gwAPI, "HTTPRoute", "shop", none, "1")}},
		{"DNSPolicy", A, "edge-dns", []string{resolved(gwAPI, "Gateway", "edge", none, "1")}},
		{"DNSPolicy", A, "ghost-dns", []string{resolved(gwAPI, "Gateway", "ghost", none, "0")}},
		{"TLSPolicy", A, "edge-tls", []string{resolved(gwAPI, "Gateway", "edge", none, "1")}},
		{"TokenRateLimitPolicy", A, "shop-tokens", []string{resolved(gwAPI, "HTTPRoute", "shop", none, "1")}},
		{"TokenRateLimitPolicy", A, "edge-tokens", []string{resolved(gwAPI, "Gateway", "edge", "grpc", "0")}},
		{"OIDCPolicy", A, "shop-oidc", []string{resolved(gwAPI, "HTTPRoute", "shop", "login", "1")}},
		{"PlanPolicy", A, "api-plans", []string{resolved(gwAPI, "GRPCRoute", "api", none, "1")}},
		{"TelemetryPolicy", A, "edge-telemetry", []string{resolved(gwAPI, "Gateway", "edge", "tcp", "1")}},
		{"ThreatPolicy", A, "edge-threats", []string{resolved(gwAPI, "Gateway", "edge", "http", "1")}},
		{"ThreatPolicy", B, "misplaced-threats", []string{resolved(gwAPI, "HTTPRoute", "shop", none, "0")}},
		// The Service targets: no sample.
		{"BackendTLSPolicy", A, "partner-tls", []string{
			resolved("gateway.networking.x-k8s.io", "XBackend", "partner", none, "1"),
			resolved("gateway.networking.x-k8s.io", "XBackend", "gone", none, "0"),
		}},
		{"XBackendTrafficPolicy", A, "partner-sessions", []string{
			resolved("gateway.networking.x-k8s.io", "XBackend", "partner", none, "1"),
			resolved("gateway.networking.x-k8s.io", "XBackend", "gone", none, "0"),
		}},
	}
}

// expand makes whole lines of the wants: family gatewayapi_<kind>_<short>,
// the object's own labels added (its kind as read, see servedKinds), labels
// sorted as the exposition sorts them.
func (s graphScenario) expand(t *testing.T, wants []graphWant) []string {
	t.Helper()
	var out []string
	for _, w := range wants {
		var k *servedKind
		for i := range servedKinds {
			if servedKinds[i].Kind == w.kind {
				k = &servedKinds[i]
			}
		}
		if k == nil {
			t.Fatalf("kind %s is not in servedKinds", w.kind)
		}
		for _, short := range w.lines {
			m := shortRE.FindStringSubmatch(s.replace(short))
			if m == nil {
				t.Fatalf("bad expected line %q", short)
			}
			labels := map[string]string{
				"customresource_group": k.Group, "customresource_kind": k.Kind, "customresource_version": k.Version,
				"namespace": s.replace(w.namespace), "name": w.name,
			}
			for _, l := range labelRE.FindAllStringSubmatch(m[2], -1) {
				labels[l[1]] = l[2]
			}
			keys := make([]string, 0, len(labels))
			for key := range labels {
				keys = append(keys, key)
			}
			sort.Strings(keys)
			var b strings.Builder
			fmt.Fprintf(&b, "gatewayapi_%s_%s{", strings.ToLower(k.Kind), m[1])
			for i, key := range keys {
				if i > 0 {
					b.WriteByte(',')
				}
				fmt.Fprintf(&b, "%s=%q", key, labels[key])
			}
			b.WriteString("} " + m[3])
			out = append(out, b.String())
		}
	}
	return out
}

// graphServed keeps the lines of the graph families.
func graphServed(lines []string) []string {
	var out []string
	for _, l := range lines {
		if isGraph(harness.MetricName(l)) {
			out = append(out, l)
		}
	}
	return out
}

// TestGraphEveryFamily: the scenario's graph lines, exactly, in list and in
// watch mode; every graph family of the embedded spec among them.
func TestGraphEveryFamily(t *testing.T) {
	env := envFor(t)
	s := ensureGraphScenario(t, env)
	want := s.expand(t, graphWants())

	// The scenario gives every graph family a sample (what
	// TestEveryFamilyServed counts on).
	have := map[string]bool{}
	for _, l := range want {
		have[harness.MetricName(l)] = true
	}
	var missing []string
	for f := range graphFamilies {
		if !have[f] {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		t.Errorf("graph families the scenario gives no line: %s", strings.Join(missing, ", "))
	}
	for f := range have {
		if !graphFamilies[f] {
			t.Errorf("expected family %s is not a graph family of the embedded spec", f)
		}
	}

	var up []string
	for _, k := range servedKinds {
		up = append(up, upLine(k, "1"))
	}
	for _, mode := range []string{"list", "watch"} {
		t.Run(mode, func(t *testing.T) {
			x := &exporter{startWithArgs(t, env, s.namespacesFlag(), "--collection="+mode)}
			// List mode builds the graph from the scrape's own LISTs: its
			// first scrape is the answer. Watch mode answers once its
			// watches have synced: polled, the bound only guards liveness.
			lines := x.scrape(t)
			for deadline := time.Now().Add(90 * time.Second); mode == "watch"; time.Sleep(250 * time.Millisecond) {
				if slices.Equal(sorted(graphServed(lines)), sorted(want)) &&
					slices.Equal(sorted(harness.WithPrefix(lines, "gateway_metrics_up")), sorted(up)) {
					break
				}
				if time.Now().After(deadline) {
					break
				}
				lines = x.scrape(t)
			}
			assertLines(t, "gateway_metrics_up", harness.WithPrefix(lines, "gateway_metrics_up"), up)
			assertLines(t, "graph families", graphServed(lines), want)
			// The objects are well formed: no reference is skipped. Each
			// graph family's gateway_metrics_family_series is the number of
			// its lines in the body, in both modes (watch mode counts them
			// in its groups, as it renders them again on graph changes).
			inBody := map[string]int{}
			for _, l := range lines {
				inBody[harness.MetricName(l)]++
			}
			counted := 0
			for _, l := range x.telemetry(t) {
				if strings.Contains(l, "evaluation_errors") && isGraph(labelValue(l, "family")) && !strings.HasSuffix(l, " 0") {
					t.Errorf("evaluation errors of a graph family on well-formed objects: %s", l)
				}
				if f := labelValue(l, "family"); strings.HasPrefix(l, "gateway_metrics_family_series{") && isGraph(f) {
					counted++
					if want := fmt.Sprintf(" %d", inBody[f]); !strings.HasSuffix(l, want) {
						t.Errorf("%s, but the body has %d lines of %s", l, inBody[f], f)
					}
				}
			}
			if counted != len(graphFamilies) {
				t.Errorf("gateway_metrics_family_series has %d graph families, want %d", counted, len(graphFamilies))
			}
		})
	}
}

func sorted(lines []string) []string {
	out := slices.Clone(lines)
	sort.Strings(out)
	return out
}

// labelValue is the value of label name in a sample line, or "".
func labelValue(line, name string) string {
	for _, m := range labelRE.FindAllStringSubmatch(line, -1) {
		if m[1] == name {
			return m[2]
		}
	}
	return ""
}
