// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

// The attachment graph (issue 21, METRICS.md "The attachment graph") on the
// real API server: one scenario, spread over four namespaces of the test, of
// which three are read (--namespaces) and one is deliberately not. Statuses
// are written by the test through the status subresource, as the route's
// controller (example.com/gateway-controller) and Kuadrant's policy
// controller would: no controller runs here.
//
// The expected lines below are written by hand from the objects, each with
// the reason it is what it is; none was copied from the exporter.

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/util/retry"

	"github.com/kuadrant/gateway-api-metrics-exporter/internal/harness"
	"github.com/kuadrant/gateway-api-metrics-exporter/internal/testenv"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/app"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/engine"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/exposition"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/scrape"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/spec"
)

// graphScope is the four namespaces of one test's scenario: ${APP} (routes,
// the ListenerSet, route policies), ${INFRA} (Gateways, their policies, one
// route), ${SHARED} (ReferenceGrants, referenced backends and Secrets, one
// route) and ${OUTSIDE}, which the exporter does not read.
type graphScope struct{ app, infra, shared, outside string }

// backendRefsOptIn serves the opt-in backend_ref_info families, which the
// scenario checks.
const backendRefsOptIn = "--metric-opt-in-list=_backend_ref_info$"

func newGraphScope(t *testing.T) graphScope {
	base := nsFor(t)
	return graphScope{app: base + "-app", infra: base + "-infra", shared: base + "-shared", outside: base + "-outside"}
}

// namespacesFlag reads the three namespaces of the scenario, not ${OUTSIDE}.
func (s graphScope) namespacesFlag() string {
	return "--namespaces=" + strings.Join([]string{s.app, s.infra, s.shared}, ",")
}

func (s graphScope) replacer() *strings.Replacer {
	return strings.NewReplacer("${APP}", s.app, "${INFRA}", s.infra, "${SHARED}", s.shared, "${OUTSIDE}", s.outside)
}

// apply creates the objects of a YAML stream, placeholders replaced, with
// their status (testenv.Env.Apply).
func (s graphScope) apply(t *testing.T, env *testenv.Env, yaml string) {
	t.Helper()
	if _, err := env.Apply(ctxFor(t), s.app, []byte(s.replacer().Replace(yaml))); err != nil {
		t.Fatalf("apply: %v", err)
	}
}

// lines expands the placeholders of expected lines.
func (s graphScope) lines(t *testing.T, lines []string) []string {
	t.Helper()
	r := s.replacer()
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = r.Replace(l)
		if strings.Contains(out[i], "${") {
			t.Fatalf("unexpanded placeholder in %s", out[i])
		}
	}
	return out
}

// graphFamilySuffixes name the graph families (METRICS.md): no other family
// of the embedded spec ends so.
var graphFamilySuffixes = []string{"_parent_attachment", "_effective_policy_info", "_policy_coverage",
	"_backend_ref_info", "_target_resolved", "_listener_certificate_ref_info"}

func isGraphFamily(name string) bool {
	for _, s := range graphFamilySuffixes {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}

// graphLines keeps the sample lines of the graph families.
func graphLines(lines []string) []string {
	var out []string
	for _, l := range lines {
		if isGraphFamily(harness.MetricName(l)) {
			out = append(out, l)
		}
	}
	return out
}

// waitGraph polls x until its graph lines are want, or fails with the
// difference; the bound is a liveness guard (watch mode syncs
// asynchronously, and list mode's answer is immediate).
func waitGraph(t *testing.T, what string, x *exporter, want []string) []string {
	t.Helper()
	var got []string
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		lines := harness.SampleLines(x.scrape(t).Body)
		got = graphLines(lines)
		if slices.Equal(sorted(got), sorted(want)) {
			checkNoDuplicateSeries(t, lines)
			return got
		}
		if time.Now().After(deadline) {
			break
		}
	}
	assertLines(t, what, got, want)
	return got
}

// change is a set of expected lines: those a change removes and those it
// adds, written by hand.
type change struct{ remove, add []string }

// applyChange returns want with c's lines removed and added; a line to
// remove that want does not hold is a mistake of the test.
func applyChange(t *testing.T, s graphScope, want []string, c change) []string {
	t.Helper()
	out := slices.Clone(want)
	for _, l := range s.lines(t, c.remove) {
		i := slices.Index(out, l)
		if i < 0 {
			t.Fatalf("the test removes a line it did not expect: %s", l)
		}
		out = slices.Delete(out, i, i+1)
	}
	return append(out, s.lines(t, c.add)...)
}

// Conditions as a controller writes them (every field the CRDs require).
const graphScenario = `
# ---- ${INFRA}: Gateways and their policies, one route ----
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: edge, namespace: ${INFRA}}
spec:
  gatewayClassName: graph-class
  allowedListeners: {namespaces: {from: All}}
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
      - {name: wildcard, namespace: ${SHARED}}
      - {group: "", kind: Secret, name: legacy-cert, namespace: ${OUTSIDE}}
  - {name: tls, port: 8443, protocol: TLS, hostname: secure.example.com, tls: {mode: Passthrough}, allowedRoutes: {namespaces: {from: All}}}
  - {name: tcp, port: 5432, protocol: TCP, allowedRoutes: {namespaces: {from: All}, kinds: [{kind: TCPRoute}]}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: internal, namespace: ${INFRA}}
spec:
  gatewayClassName: graph-class
  listeners:
  - {name: web, port: 8080, protocol: HTTP, allowedRoutes: {namespaces: {from: Selector, selector: {matchLabels: {team: a}}}}}
  - {name: grpc, port: 9090, protocol: HTTP, allowedRoutes: {namespaces: {from: All}, kinds: [{kind: GRPCRoute}]}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: ops, namespace: ${INFRA}}
spec:
  parentRefs: [{name: edge}]
  rules: [{backendRefs: [{name: ops-svc, port: 80}]}]
status:
  parents:
  - parentRef: {name: edge}
    controllerName: example.com/gateway-controller
    conditions: [{type: Accepted, status: "True", reason: Accepted, message: ok, lastTransitionTime: "2026-01-01T00:00:00Z"}]
---
apiVersion: kuadrant.io/v1
kind: RateLimitPolicy
metadata: {name: edge-rl, namespace: ${INFRA}}
spec:
  targetRef: {group: gateway.networking.k8s.io, kind: Gateway, name: edge}
---
apiVersion: kuadrant.io/v1
kind: AuthPolicy
metadata: {name: http-auth, namespace: ${INFRA}}
spec:
  targetRef: {group: gateway.networking.k8s.io, kind: Gateway, name: edge, sectionName: http}
---
apiVersion: kuadrant.io/v1
kind: RateLimitPolicy
metadata: {name: https-rl, namespace: ${INFRA}}
spec:
  targetRef: {group: gateway.networking.k8s.io, kind: Gateway, name: edge, sectionName: https}
---
# On a listener edge does not have (yet).
apiVersion: kuadrant.io/v1
kind: AuthPolicy
metadata: {name: h3-auth, namespace: ${INFRA}}
spec:
  targetRef: {group: gateway.networking.k8s.io, kind: Gateway, name: edge, sectionName: h3}
---
# On a Gateway that does not exist (yet).
apiVersion: kuadrant.io/v1
kind: RateLimitPolicy
metadata: {name: missing-rl, namespace: ${INFRA}}
spec:
  targetRef: {group: gateway.networking.k8s.io, kind: Gateway, name: missing-gw}
---
# In the wrong namespace: the route web is in ${APP}, and Kuadrant's
# targetRef has no namespace, so this names ${INFRA}/web.
apiVersion: kuadrant.io/v1
kind: AuthPolicy
metadata: {name: wrong-ns, namespace: ${INFRA}}
spec:
  targetRef: {group: gateway.networking.k8s.io, kind: HTTPRoute, name: web}
---
apiVersion: kuadrant.io/v1
kind: AuthPolicy
metadata: {name: grpc-auth, namespace: ${INFRA}}
spec:
  targetRef: {group: gateway.networking.k8s.io, kind: Gateway, name: internal, sectionName: grpc}
---
apiVersion: kuadrant.io/v1
kind: RateLimitPolicy
metadata: {name: internal-rl, namespace: ${INFRA}}
spec:
  targetRef: {group: gateway.networking.k8s.io, kind: Gateway, name: internal, sectionName: web}
---
# ---- ${APP}: the ListenerSet, routes and their policies ----
apiVersion: gateway.networking.k8s.io/v1
kind: ListenerSet
metadata: {name: extra, namespace: ${APP}}
spec:
  parentRef: {name: edge, namespace: ${INFRA}}
  listeners:
  - {name: extra-http, port: 8080, protocol: HTTP}
  - name: extra-https
    port: 8443
    protocol: HTTPS
    hostname: extra.example.com
    tls: {mode: Terminate, certificateRefs: [{name: extra-cert}, {name: wildcard, namespace: ${SHARED}}]}
  - {name: extra-tls, port: 9443, protocol: TLS, hostname: tls.example.com, tls: {mode: Passthrough}}
---
# Every state of parent_attachment.
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web, namespace: ${APP}}
spec:
  parentRefs:
  - {name: edge, namespace: ${INFRA}, sectionName: http}
  - {group: gateway.networking.k8s.io, kind: ListenerSet, name: extra, sectionName: extra-http}
  - {name: internal, namespace: ${INFRA}}
  - {name: missing-gw, namespace: ${INFRA}}
  - {name: edge, namespace: ${INFRA}, sectionName: h3}
  rules:
  - name: main
    backendRefs:
    - {name: web-svc, port: 8080}
    - {name: shared-svc, namespace: ${SHARED}, port: 80}
  - backendRefs:
    - {name: other-svc, namespace: ${SHARED}, port: 80}
status:
  parents:
  - parentRef: {group: gateway.networking.k8s.io, kind: Gateway, name: edge, namespace: ${INFRA}, sectionName: http}
    controllerName: example.com/gateway-controller
    conditions: [{type: Accepted, status: "True", reason: Accepted, message: ok, lastTransitionTime: "2026-01-01T00:00:00Z"}]
  - parentRef: {group: gateway.networking.k8s.io, kind: ListenerSet, name: extra, sectionName: extra-http}
    controllerName: example.com/gateway-controller
    conditions:
    - {type: Accepted, status: "False", reason: NotAllowedByListeners, message: not accepted, lastTransitionTime: "2026-01-01T00:00:00Z"}
    - {type: ResolvedRefs, status: "True", reason: ResolvedRefs, message: ok, lastTransitionTime: "2026-01-01T00:00:00Z"}
  - parentRef: {name: internal, namespace: ${INFRA}}
    controllerName: kuadrant.io/policy-controller
    conditions: [{type: kuadrant.io/AuthPolicyAffected, status: "True", reason: Accepted, message: affected, lastTransitionTime: "2026-01-01T00:00:00Z"}]
  - parentRef: {name: missing-gw, namespace: ${INFRA}}
    controllerName: example.com/gateway-controller
    conditions: [{type: Accepted, status: "True", reason: Accepted, message: ok, lastTransitionTime: "2026-01-01T00:00:00Z"}]
  - parentRef: {name: old-gw, namespace: ${INFRA}}
    controllerName: example.com/gateway-controller
    conditions: [{type: Accepted, status: "True", reason: Accepted, message: ok, lastTransitionTime: "2026-01-01T00:00:00Z"}]
---
# Every state of parent_attachment on a second route kind, through a
# ListenerSet too.
apiVersion: gateway.networking.k8s.io/v1
kind: TLSRoute
metadata: {name: secure, namespace: ${APP}}
spec:
  hostnames: [secure.example.com]
  parentRefs:
  - {name: edge, namespace: ${INFRA}, sectionName: tls, port: 8443}
  - {group: gateway.networking.k8s.io, kind: ListenerSet, name: extra, sectionName: extra-tls}
  - {name: internal, namespace: ${INFRA}}
  - {name: gone, namespace: ${INFRA}}
  - {group: gateway.networking.k8s.io, kind: ListenerSet, name: extra, sectionName: nope}
  rules: [{backendRefs: [{name: tls-svc, namespace: ${SHARED}, port: 443}]}]
status:
  parents:
  - parentRef: {name: edge, namespace: ${INFRA}, sectionName: tls, port: 8443}
    controllerName: example.com/gateway-controller
    conditions: [{type: Accepted, status: "True", reason: Accepted, message: ok, lastTransitionTime: "2026-01-01T00:00:00Z"}]
  - parentRef: {group: gateway.networking.k8s.io, kind: ListenerSet, name: extra, sectionName: extra-tls}
    controllerName: example.com/gateway-controller
    conditions: [{type: Accepted, status: "False", reason: UnsupportedValue, message: not accepted, lastTransitionTime: "2026-01-01T00:00:00Z"}]
  - parentRef: {name: edge, namespace: ${INFRA}, sectionName: tcp}
    controllerName: example.com/gateway-controller
    conditions: [{type: Accepted, status: "False", reason: NotAllowedByListeners, message: not accepted, lastTransitionTime: "2026-01-01T00:00:00Z"}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: rpc, namespace: ${APP}}
spec:
  parentRefs: [{name: internal, namespace: ${INFRA}}, {name: edge, namespace: ${INFRA}}]
  rules: [{backendRefs: [{name: rpc-svc, port: 9000}]}]
status:
  parents:
  - parentRef: {name: internal, namespace: ${INFRA}}
    controllerName: example.com/gateway-controller
    conditions: [{type: Accepted, status: "True", reason: Accepted, message: ok, lastTransitionTime: "2026-01-01T00:00:00Z"}]
  - parentRef: {name: edge, namespace: ${INFRA}}
    controllerName: example.com/gateway-controller
    conditions: [{type: Accepted, status: "True", reason: Accepted, message: ok, lastTransitionTime: "2026-01-01T00:00:00Z"}]
---
# Parents the exporter cannot judge: in ${OUTSIDE}, and a Service (mesh).
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: away, namespace: ${APP}}
spec:
  parentRefs:
  - {name: outside-gw, namespace: ${OUTSIDE}}
  - {name: nowhere, namespace: ${OUTSIDE}}
  - {group: "", kind: Service, name: mesh-svc}
  rules: [{backendRefs: [{name: legacy, namespace: ${OUTSIDE}, port: 80}]}]
status:
  parents:
  - parentRef: {name: outside-gw, namespace: ${OUTSIDE}}
    controllerName: example.com/gateway-controller
    conditions: [{type: Accepted, status: "True", reason: Accepted, message: ok, lastTransitionTime: "2026-01-01T00:00:00Z"}]
  - parentRef: {name: outside-gw, namespace: ${OUTSIDE}}
    controllerName: kuadrant.io/policy-controller
    conditions:
    - {type: kuadrant.io/AuthPolicyAffected, status: "True", reason: Accepted, message: affected, lastTransitionTime: "2026-01-01T00:00:00Z"}
    - {type: kuadrant.io/RateLimitPolicyAffected, status: "False", reason: Unknown, message: not affected, lastTransitionTime: "2026-01-01T00:00:00Z"}
---
# Attached through the ListenerSet alone, without sectionName.
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: side, namespace: ${APP}}
spec:
  parentRefs: [{group: gateway.networking.k8s.io, kind: ListenerSet, name: extra}]
  rules: [{backendRefs: [{name: side-svc, port: 80}]}]
status:
  parents:
  - parentRef: {group: gateway.networking.k8s.io, kind: ListenerSet, name: extra}
    controllerName: example.com/gateway-controller
    conditions: [{type: Accepted, status: "True", reason: Accepted, message: ok, lastTransitionTime: "2026-01-01T00:00:00Z"}]
---
apiVersion: kuadrant.io/v1
kind: RateLimitPolicy
metadata: {name: web-rl, namespace: ${APP}}
spec:
  targetRef: {group: gateway.networking.k8s.io, kind: HTTPRoute, name: web, sectionName: main}
---
apiVersion: kuadrant.io/v1
kind: DNSPolicy
metadata: {name: extra-dns, namespace: ${APP}}
spec:
  targetRef: {group: gateway.networking.k8s.io, kind: ListenerSet, name: extra}
---
apiVersion: kuadrant.io/v1
kind: AuthPolicy
metadata: {name: extra-tls-auth, namespace: ${APP}}
spec:
  targetRef: {group: gateway.networking.k8s.io, kind: ListenerSet, name: extra, sectionName: extra-tls}
---
apiVersion: kuadrant.io/v1
kind: RateLimitPolicy
metadata: {name: extra-https-rl, namespace: ${APP}}
spec:
  targetRef: {group: gateway.networking.k8s.io, kind: ListenerSet, name: extra, sectionName: extra-https}
---
# A policy on a kind the exporter does not read (Service): no target_resolved
# sample, and no policy_coverage kind.
apiVersion: gateway.networking.k8s.io/v1
kind: BackendTLSPolicy
metadata: {name: svc-tls, namespace: ${APP}}
spec:
  targetRefs: [{group: "", kind: Service, name: web-svc}]
  validation:
    caCertificateRefs: [{group: "", kind: ConfigMap, name: web-ca}]
    hostname: web.example.com
---
# ---- ${SHARED}: grants, and a route ----
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: app-routes, namespace: ${SHARED}}
spec:
  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: ${APP}}]
  to: [{group: "", kind: Service, name: shared-svc}]
---
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: infra-certs, namespace: ${SHARED}}
spec:
  from: [{group: gateway.networking.k8s.io, kind: Gateway, namespace: ${INFRA}}]
  to: [{group: "", kind: Secret}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: plain, namespace: ${SHARED}}
spec:
  parentRefs: [{name: internal, namespace: ${INFRA}}]
  rules: [{backendRefs: [{name: plain-svc, port: 80}]}]
status:
  parents:
  - parentRef: {name: internal, namespace: ${INFRA}}
    controllerName: example.com/gateway-controller
    conditions: [{type: Accepted, status: "True", reason: Accepted, message: ok, lastTransitionTime: "2026-01-01T00:00:00Z"}]
---
# ---- ${OUTSIDE}: not read ----
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: outside-gw, namespace: ${OUTSIDE}}
spec:
  gatewayClassName: graph-class
  listeners: [{name: http, port: 80, protocol: HTTP}]
---
apiVersion: kuadrant.io/v1
kind: AuthPolicy
metadata: {name: outside-auth, namespace: ${OUTSIDE}}
spec:
  targetRef: {group: gateway.networking.k8s.io, kind: Gateway, name: outside-gw}
`

// The labels every family of a kind carries, at the version this API
// server serves the kind at for the embedded spec (defaultKinds).
const (
	crHTTPRoute = `customresource_group="gateway.networking.k8s.io",customresource_kind="HTTPRoute",customresource_version="v1beta1"`
	crGRPCRoute = `customresource_group="gateway.networking.k8s.io",customresource_kind="GRPCRoute",customresource_version="v1"`
	crTLSRoute  = `customresource_group="gateway.networking.k8s.io",customresource_kind="TLSRoute",customresource_version="v1"`
	crGateway   = `customresource_group="gateway.networking.k8s.io",customresource_kind="Gateway",customresource_version="v1beta1"`
	crLS        = `customresource_group="gateway.networking.k8s.io",customresource_kind="ListenerSet",customresource_version="v1"`
	crRLP       = `customresource_group="kuadrant.io",customresource_kind="RateLimitPolicy",customresource_version="v1"`
	crAuth      = `customresource_group="kuadrant.io",customresource_kind="AuthPolicy",customresource_version="v1"`
	crDNS       = `customresource_group="kuadrant.io",customresource_kind="DNSPolicy",customresource_version="v1"`

	gwEdge     = `parent_group="gateway.networking.k8s.io",parent_kind="Gateway",parent_name="edge",parent_namespace="${INFRA}"`
	gwInternal = `parent_group="gateway.networking.k8s.io",parent_kind="Gateway",parent_name="internal",parent_namespace="${INFRA}"`
	lsExtra    = `parent_group="gateway.networking.k8s.io",parent_kind="ListenerSet",parent_name="extra",parent_namespace="${APP}"`

	polRLP  = `policy_group="kuadrant.io",policy_kind="RateLimitPolicy"`
	polAuth = `policy_group="kuadrant.io",policy_kind="AuthPolicy"`
	polDNS  = `policy_group="kuadrant.io",policy_kind="DNSPolicy"`

	tgtGateway = `target_group="gateway.networking.k8s.io",target_kind="Gateway"`
)

// graphWant is what the exporter serves of the graph families for
// graphScenario, reading ${APP}, ${INFRA} and ${SHARED}.
var graphWant = []string{
	// ---- parent_attachment ----
	// web: edge/http has Accepted True.
	`gatewayapi_httproute_parent_attachment{` + crHTTPRoute + `,name="web",namespace="${APP}",` + gwEdge + `,parent_port="",parent_section_name="http",state="Accepted"} 1`,
	// web: extra/extra-http exists (the ListenerSet, in the route's namespace by default); its entry has Accepted False.
	`gatewayapi_httproute_parent_attachment{` + crHTTPRoute + `,name="web",namespace="${APP}",` + lsExtra + `,parent_port="",parent_section_name="extra-http",state="NotAccepted"} 1`,
	// web: internal exists; its only entry is Kuadrant's, without Accepted.
	`gatewayapi_httproute_parent_attachment{` + crHTTPRoute + `,name="web",namespace="${APP}",` + gwInternal + `,parent_port="",parent_section_name="",state="Pending"} 1`,
	// web: no Gateway missing-gw, whatever its entry (Accepted True) says.
	`gatewayapi_httproute_parent_attachment{` + crHTTPRoute + `,name="web",namespace="${APP}",parent_group="gateway.networking.k8s.io",parent_kind="Gateway",parent_name="missing-gw",parent_namespace="${INFRA}",parent_port="",parent_section_name="",state="ParentNotFound"} 1`,
	// web: edge has no listener h3.
	`gatewayapi_httproute_parent_attachment{` + crHTTPRoute + `,name="web",namespace="${APP}",` + gwEdge + `,parent_port="",parent_section_name="h3",state="ParentNotFound"} 1`,
	// web: the entry for old-gw, which no parentRef names.
	`gatewayapi_httproute_parent_attachment{` + crHTTPRoute + `,name="web",namespace="${APP}",parent_group="gateway.networking.k8s.io",parent_kind="Gateway",parent_name="old-gw",parent_namespace="${INFRA}",parent_port="",parent_section_name="",state="Stale"} 1`,
	// secure: edge/tls on 8443 exists, its entry (same sectionName and port) has Accepted True.
	`gatewayapi_tlsroute_parent_attachment{` + crTLSRoute + `,name="secure",namespace="${APP}",` + gwEdge + `,parent_port="8443",parent_section_name="tls",state="Accepted"} 1`,
	`gatewayapi_tlsroute_parent_attachment{` + crTLSRoute + `,name="secure",namespace="${APP}",` + lsExtra + `,parent_port="",parent_section_name="extra-tls",state="NotAccepted"} 1`,
	// secure: internal exists, no entry at all.
	`gatewayapi_tlsroute_parent_attachment{` + crTLSRoute + `,name="secure",namespace="${APP}",` + gwInternal + `,parent_port="",parent_section_name="",state="Pending"} 1`,
	`gatewayapi_tlsroute_parent_attachment{` + crTLSRoute + `,name="secure",namespace="${APP}",parent_group="gateway.networking.k8s.io",parent_kind="Gateway",parent_name="gone",parent_namespace="${INFRA}",parent_port="",parent_section_name="",state="ParentNotFound"} 1`,
	// secure: the ListenerSet has no listener nope.
	`gatewayapi_tlsroute_parent_attachment{` + crTLSRoute + `,name="secure",namespace="${APP}",` + lsExtra + `,parent_port="",parent_section_name="nope",state="ParentNotFound"} 1`,
	// secure: an entry for edge/tcp, which no parentRef names (Accepted False is still an Accepted condition).
	`gatewayapi_tlsroute_parent_attachment{` + crTLSRoute + `,name="secure",namespace="${APP}",` + gwEdge + `,parent_port="",parent_section_name="tcp",state="Stale"} 1`,
	`gatewayapi_grpcroute_parent_attachment{` + crGRPCRoute + `,name="rpc",namespace="${APP}",` + gwEdge + `,parent_port="",parent_section_name="",state="Accepted"} 1`,
	`gatewayapi_grpcroute_parent_attachment{` + crGRPCRoute + `,name="rpc",namespace="${APP}",` + gwInternal + `,parent_port="",parent_section_name="",state="Accepted"} 1`,
	// away: ${OUTSIDE} is not read: judged from status alone, never ParentNotFound.
	`gatewayapi_httproute_parent_attachment{` + crHTTPRoute + `,name="away",namespace="${APP}",parent_group="gateway.networking.k8s.io",parent_kind="Gateway",parent_name="outside-gw",parent_namespace="${OUTSIDE}",parent_port="",parent_section_name="",state="Accepted"} 1`,
	`gatewayapi_httproute_parent_attachment{` + crHTTPRoute + `,name="away",namespace="${APP}",parent_group="gateway.networking.k8s.io",parent_kind="Gateway",parent_name="nowhere",parent_namespace="${OUTSIDE}",parent_port="",parent_section_name="",state="Pending"} 1`,
	// away: a Service parent (not a kind the exporter reads), no entry.
	`gatewayapi_httproute_parent_attachment{` + crHTTPRoute + `,name="away",namespace="${APP}",parent_group="",parent_kind="Service",parent_name="mesh-svc",parent_namespace="${APP}",parent_port="",parent_section_name="",state="Pending"} 1`,
	`gatewayapi_httproute_parent_attachment{` + crHTTPRoute + `,name="side",namespace="${APP}",` + lsExtra + `,parent_port="",parent_section_name="",state="Accepted"} 1`,
	`gatewayapi_httproute_parent_attachment{` + crHTTPRoute + `,name="ops",namespace="${INFRA}",` + gwEdge + `,parent_port="",parent_section_name="",state="Accepted"} 1`,
	`gatewayapi_httproute_parent_attachment{` + crHTTPRoute + `,name="plain",namespace="${SHARED}",` + gwInternal + `,parent_port="",parent_section_name="",state="Accepted"} 1`,

	// ---- effective_policy_info ----
	// web: web-rl targets it (a rule by sectionName); edge-rl its Gateway edge (directly, and as the
	// ListenerSet's parent); http-auth the listener it names; extra-dns the ListenerSet; internal-rl
	// internal's listener web, which admits it (from: Selector counts as admitting). Not: grpc-auth
	// (listener grpc admits GRPCRoutes only), missing-rl and h3-auth (their parentRefs are
	// ParentNotFound), wrong-ns (targets ${INFRA}/web), extra-tls-auth (a listener web does not use).
	`gatewayapi_httproute_effective_policy_info{` + crHTTPRoute + `,name="web",namespace="${APP}",` + polRLP + `,policy_name="web-rl",policy_namespace="${APP}",via="route"} 1`,
	`gatewayapi_httproute_effective_policy_info{` + crHTTPRoute + `,name="web",namespace="${APP}",` + polRLP + `,policy_name="edge-rl",policy_namespace="${INFRA}",via="gateway"} 1`,
	`gatewayapi_httproute_effective_policy_info{` + crHTTPRoute + `,name="web",namespace="${APP}",` + polAuth + `,policy_name="http-auth",policy_namespace="${INFRA}",via="listener"} 1`,
	`gatewayapi_httproute_effective_policy_info{` + crHTTPRoute + `,name="web",namespace="${APP}",` + polDNS + `,policy_name="extra-dns",policy_namespace="${APP}",via="listener"} 1`,
	`gatewayapi_httproute_effective_policy_info{` + crHTTPRoute + `,name="web",namespace="${APP}",` + polRLP + `,policy_name="internal-rl",policy_namespace="${INFRA}",via="listener"} 1`,
	// secure: edge-rl (edge, and the ListenerSet's parent); through the ListenerSet: extra-dns and
	// extra-tls-auth (the listener it names). internal has no listener for TLSRoutes.
	`gatewayapi_tlsroute_effective_policy_info{` + crTLSRoute + `,name="secure",namespace="${APP}",` + polRLP + `,policy_name="edge-rl",policy_namespace="${INFRA}",via="gateway"} 1`,
	`gatewayapi_tlsroute_effective_policy_info{` + crTLSRoute + `,name="secure",namespace="${APP}",` + polDNS + `,policy_name="extra-dns",policy_namespace="${APP}",via="listener"} 1`,
	`gatewayapi_tlsroute_effective_policy_info{` + crTLSRoute + `,name="secure",namespace="${APP}",` + polAuth + `,policy_name="extra-tls-auth",policy_namespace="${APP}",via="listener"} 1`,
	// rpc, no sectionName: internal's web (Selector) and grpc (kinds: GRPCRoute) admit it, edge's
	// http (All) does; edge's https (Same, ${INFRA}) does not: no https-rl.
	`gatewayapi_grpcroute_effective_policy_info{` + crGRPCRoute + `,name="rpc",namespace="${APP}",` + polRLP + `,policy_name="edge-rl",policy_namespace="${INFRA}",via="gateway"} 1`,
	`gatewayapi_grpcroute_effective_policy_info{` + crGRPCRoute + `,name="rpc",namespace="${APP}",` + polAuth + `,policy_name="http-auth",policy_namespace="${INFRA}",via="listener"} 1`,
	`gatewayapi_grpcroute_effective_policy_info{` + crGRPCRoute + `,name="rpc",namespace="${APP}",` + polAuth + `,policy_name="grpc-auth",policy_namespace="${INFRA}",via="listener"} 1`,
	`gatewayapi_grpcroute_effective_policy_info{` + crGRPCRoute + `,name="rpc",namespace="${APP}",` + polRLP + `,policy_name="internal-rl",policy_namespace="${INFRA}",via="listener"} 1`,
	// side, through the ListenerSet alone: edge-rl (its Gateway's), extra-dns (on the ListenerSet) and
	// extra-https-rl (on its listener extra-https, which admits it: HTTPS, from Same). Not http-auth:
	// a policy on a Gateway's listener does not apply through a ListenerSet.
	`gatewayapi_httproute_effective_policy_info{` + crHTTPRoute + `,name="side",namespace="${APP}",` + polRLP + `,policy_name="edge-rl",policy_namespace="${INFRA}",via="gateway"} 1`,
	`gatewayapi_httproute_effective_policy_info{` + crHTTPRoute + `,name="side",namespace="${APP}",` + polDNS + `,policy_name="extra-dns",policy_namespace="${APP}",via="listener"} 1`,
	`gatewayapi_httproute_effective_policy_info{` + crHTTPRoute + `,name="side",namespace="${APP}",` + polRLP + `,policy_name="extra-https-rl",policy_namespace="${APP}",via="listener"} 1`,
	// ops, in ${INFRA}: edge's https (Same) admits it.
	`gatewayapi_httproute_effective_policy_info{` + crHTTPRoute + `,name="ops",namespace="${INFRA}",` + polRLP + `,policy_name="edge-rl",policy_namespace="${INFRA}",via="gateway"} 1`,
	`gatewayapi_httproute_effective_policy_info{` + crHTTPRoute + `,name="ops",namespace="${INFRA}",` + polAuth + `,policy_name="http-auth",policy_namespace="${INFRA}",via="listener"} 1`,
	`gatewayapi_httproute_effective_policy_info{` + crHTTPRoute + `,name="ops",namespace="${INFRA}",` + polRLP + `,policy_name="https-rl",policy_namespace="${INFRA}",via="listener"} 1`,
	`gatewayapi_httproute_effective_policy_info{` + crHTTPRoute + `,name="plain",namespace="${SHARED}",` + polRLP + `,policy_name="internal-rl",policy_namespace="${INFRA}",via="listener"} 1`,
	// away: none (outside-auth is in a namespace not read).

	// ---- policy_coverage: AuthPolicy and RateLimitPolicy (CRDs installed), DNSPolicy (extra-dns
	// targets a ListenerSet); not BackendTLSPolicy (svc-tls targets a Service) ----
	`gatewayapi_httproute_policy_coverage{` + crHTTPRoute + `,name="web",namespace="${APP}",` + polAuth + `} 1`,
	`gatewayapi_httproute_policy_coverage{` + crHTTPRoute + `,name="web",namespace="${APP}",` + polDNS + `} 1`,
	`gatewayapi_httproute_policy_coverage{` + crHTTPRoute + `,name="web",namespace="${APP}",` + polRLP + `} 1`,
	`gatewayapi_tlsroute_policy_coverage{` + crTLSRoute + `,name="secure",namespace="${APP}",` + polAuth + `} 1`,
	`gatewayapi_tlsroute_policy_coverage{` + crTLSRoute + `,name="secure",namespace="${APP}",` + polDNS + `} 1`,
	`gatewayapi_tlsroute_policy_coverage{` + crTLSRoute + `,name="secure",namespace="${APP}",` + polRLP + `} 1`,
	`gatewayapi_grpcroute_policy_coverage{` + crGRPCRoute + `,name="rpc",namespace="${APP}",` + polAuth + `} 1`,
	`gatewayapi_grpcroute_policy_coverage{` + crGRPCRoute + `,name="rpc",namespace="${APP}",` + polDNS + `} 0`,
	`gatewayapi_grpcroute_policy_coverage{` + crGRPCRoute + `,name="rpc",namespace="${APP}",` + polRLP + `} 1`,
	// away: AuthPolicy from its kuadrant.io/AuthPolicyAffected True condition alone;
	// kuadrant.io/RateLimitPolicyAffected is False.
	`gatewayapi_httproute_policy_coverage{` + crHTTPRoute + `,name="away",namespace="${APP}",` + polAuth + `} 1`,
	`gatewayapi_httproute_policy_coverage{` + crHTTPRoute + `,name="away",namespace="${APP}",` + polDNS + `} 0`,
	`gatewayapi_httproute_policy_coverage{` + crHTTPRoute + `,name="away",namespace="${APP}",` + polRLP + `} 0`,
	`gatewayapi_httproute_policy_coverage{` + crHTTPRoute + `,name="side",namespace="${APP}",` + polAuth + `} 0`,
	`gatewayapi_httproute_policy_coverage{` + crHTTPRoute + `,name="side",namespace="${APP}",` + polDNS + `} 1`,
	`gatewayapi_httproute_policy_coverage{` + crHTTPRoute + `,name="side",namespace="${APP}",` + polRLP + `} 1`,
	`gatewayapi_httproute_policy_coverage{` + crHTTPRoute + `,name="ops",namespace="${INFRA}",` + polAuth + `} 1`,
	`gatewayapi_httproute_policy_coverage{` + crHTTPRoute + `,name="ops",namespace="${INFRA}",` + polDNS + `} 0`,
	`gatewayapi_httproute_policy_coverage{` + crHTTPRoute + `,name="ops",namespace="${INFRA}",` + polRLP + `} 1`,
	`gatewayapi_httproute_policy_coverage{` + crHTTPRoute + `,name="plain",namespace="${SHARED}",` + polAuth + `} 0`,
	`gatewayapi_httproute_policy_coverage{` + crHTTPRoute + `,name="plain",namespace="${SHARED}",` + polDNS + `} 0`,
	`gatewayapi_httproute_policy_coverage{` + crHTTPRoute + `,name="plain",namespace="${SHARED}",` + polRLP + `} 1`,

	// ---- backend_ref_info ----
	// Same namespace; granted by app-routes (names shared-svc); not granted (app-routes names only
	// shared-svc), in the unnamed rule 1.
	`gatewayapi_httproute_backend_ref_info{backend_group="",backend_kind="Service",backend_name="web-svc",backend_namespace="${APP}",backend_port="8080",` + crHTTPRoute + `,name="web",namespace="${APP}",permitted="true",rule="main"} 1`,
	`gatewayapi_httproute_backend_ref_info{backend_group="",backend_kind="Service",backend_name="shared-svc",backend_namespace="${SHARED}",backend_port="80",` + crHTTPRoute + `,name="web",namespace="${APP}",permitted="true",rule="main"} 1`,
	`gatewayapi_httproute_backend_ref_info{backend_group="",backend_kind="Service",backend_name="other-svc",backend_namespace="${SHARED}",backend_port="80",` + crHTTPRoute + `,name="web",namespace="${APP}",permitted="false",rule="1"} 1`,
	// No grant from TLSRoutes.
	`gatewayapi_tlsroute_backend_ref_info{backend_group="",backend_kind="Service",backend_name="tls-svc",backend_namespace="${SHARED}",backend_port="443",` + crTLSRoute + `,name="secure",namespace="${APP}",permitted="false",rule="0"} 1`,
	`gatewayapi_grpcroute_backend_ref_info{backend_group="",backend_kind="Service",backend_name="rpc-svc",backend_namespace="${APP}",backend_port="9000",` + crGRPCRoute + `,name="rpc",namespace="${APP}",permitted="true",rule="0"} 1`,
	// The grants of ${OUTSIDE} are not read.
	`gatewayapi_httproute_backend_ref_info{backend_group="",backend_kind="Service",backend_name="legacy",backend_namespace="${OUTSIDE}",backend_port="80",` + crHTTPRoute + `,name="away",namespace="${APP}",permitted="unknown",rule="0"} 1`,
	`gatewayapi_httproute_backend_ref_info{backend_group="",backend_kind="Service",backend_name="side-svc",backend_namespace="${APP}",backend_port="80",` + crHTTPRoute + `,name="side",namespace="${APP}",permitted="true",rule="0"} 1`,
	`gatewayapi_httproute_backend_ref_info{backend_group="",backend_kind="Service",backend_name="ops-svc",backend_namespace="${INFRA}",backend_port="80",` + crHTTPRoute + `,name="ops",namespace="${INFRA}",permitted="true",rule="0"} 1`,
	`gatewayapi_httproute_backend_ref_info{backend_group="",backend_kind="Service",backend_name="plain-svc",backend_namespace="${SHARED}",backend_port="80",` + crHTTPRoute + `,name="plain",namespace="${SHARED}",permitted="true",rule="0"} 1`,

	// ---- listener_certificate_ref_info ----
	// edge: same namespace; granted to Gateways of ${INFRA} (infra-certs, any Secret); ${OUTSIDE} not read.
	`gatewayapi_gateway_listener_certificate_ref_info{` + crGateway + `,listener_name="https",name="edge",namespace="${INFRA}",permitted="true",ref_group="",ref_kind="Secret",ref_name="edge-cert",ref_namespace="${INFRA}"} 1`,
	`gatewayapi_gateway_listener_certificate_ref_info{` + crGateway + `,listener_name="https",name="edge",namespace="${INFRA}",permitted="true",ref_group="",ref_kind="Secret",ref_name="wildcard",ref_namespace="${SHARED}"} 1`,
	`gatewayapi_gateway_listener_certificate_ref_info{` + crGateway + `,listener_name="https",name="edge",namespace="${INFRA}",permitted="unknown",ref_group="",ref_kind="Secret",ref_name="legacy-cert",ref_namespace="${OUTSIDE}"} 1`,
	// extra: same namespace; infra-certs grants Gateways, not ListenerSets.
	`gatewayapi_listenerset_listener_certificate_ref_info{` + crLS + `,listener_name="extra-https",name="extra",namespace="${APP}",permitted="true",ref_group="",ref_kind="Secret",ref_name="extra-cert",ref_namespace="${APP}"} 1`,
	`gatewayapi_listenerset_listener_certificate_ref_info{` + crLS + `,listener_name="extra-https",name="extra",namespace="${APP}",permitted="false",ref_group="",ref_kind="Secret",ref_name="wildcard",ref_namespace="${SHARED}"} 1`,

	// ---- target_resolved (svc-tls, on a Service, has none) ----
	`gatewayapi_ratelimitpolicy_target_resolved{` + crRLP + `,name="edge-rl",namespace="${INFRA}",` + tgtGateway + `,target_name="edge"} 1`,
	`gatewayapi_ratelimitpolicy_target_resolved{` + crRLP + `,name="https-rl",namespace="${INFRA}",` + tgtGateway + `,target_name="edge",target_section_name="https"} 1`,
	`gatewayapi_ratelimitpolicy_target_resolved{` + crRLP + `,name="missing-rl",namespace="${INFRA}",` + tgtGateway + `,target_name="missing-gw"} 0`,
	`gatewayapi_ratelimitpolicy_target_resolved{` + crRLP + `,name="internal-rl",namespace="${INFRA}",` + tgtGateway + `,target_name="internal",target_section_name="web"} 1`,
	`gatewayapi_ratelimitpolicy_target_resolved{` + crRLP + `,name="web-rl",namespace="${APP}",target_group="gateway.networking.k8s.io",target_kind="HTTPRoute",target_name="web",target_section_name="main"} 1`,
	`gatewayapi_ratelimitpolicy_target_resolved{` + crRLP + `,name="extra-https-rl",namespace="${APP}",target_group="gateway.networking.k8s.io",target_kind="ListenerSet",target_name="extra",target_section_name="extra-https"} 1`,
	`gatewayapi_authpolicy_target_resolved{` + crAuth + `,name="http-auth",namespace="${INFRA}",` + tgtGateway + `,target_name="edge",target_section_name="http"} 1`,
	`gatewayapi_authpolicy_target_resolved{` + crAuth + `,name="h3-auth",namespace="${INFRA}",` + tgtGateway + `,target_name="edge",target_section_name="h3"} 0`,
	`gatewayapi_authpolicy_target_resolved{` + crAuth + `,name="wrong-ns",namespace="${INFRA}",target_group="gateway.networking.k8s.io",target_kind="HTTPRoute",target_name="web"} 0`,
	`gatewayapi_authpolicy_target_resolved{` + crAuth + `,name="grpc-auth",namespace="${INFRA}",` + tgtGateway + `,target_name="internal",target_section_name="grpc"} 1`,
	`gatewayapi_authpolicy_target_resolved{` + crAuth + `,name="extra-tls-auth",namespace="${APP}",target_group="gateway.networking.k8s.io",target_kind="ListenerSet",target_name="extra",target_section_name="extra-tls"} 1`,
	`gatewayapi_dnspolicy_target_resolved{` + crDNS + `,name="extra-dns",namespace="${APP}",target_group="gateway.networking.k8s.io",target_kind="ListenerSet",target_name="extra"} 1`,
}

// TestGraphListAndWatch: list mode, list mode from the API server's cache
// and watch mode serve exactly graphWant for the scenario, and the same body
// overall, in the same order.
func TestGraphListAndWatch(t *testing.T) {
	env := testenv.Current(t)
	s := newGraphScope(t)
	s.apply(t, env, graphScenario)
	want := s.lines(t, graphWant)
	xs := map[string]*exporter{
		"list":  startExporter(t, "--kubeconfig="+env.Kubeconfig, s.namespacesFlag(), backendRefsOptIn),
		"cache": startExporter(t, "--kubeconfig="+env.Kubeconfig, s.namespacesFlag(), backendRefsOptIn, "--use-apiserver-cache"),
		"watch": startExporter(t, "--kubeconfig="+env.Kubeconfig, s.namespacesFlag(), backendRefsOptIn, "--collection=watch"),
	}
	for _, mode := range []string{"list", "cache", "watch"} {
		waitGraph(t, mode, xs[mode], want)
	}
	waitIdentical(t, "the scenario", xs, "list")
	for mode, x := range xs {
		lines := harness.SampleLines(x.scrape(t).Body)
		assertAllUp(t, lines)
		// The bad input is elsewhere (pkg/graph's tests): this scenario
		// has none.
		if errs := evalErrors(t, x); len(errs) != 0 {
			t.Errorf("%s: evaluation errors %v", mode, errs)
		}
	}
}

// evalErrors reads gateway_metrics_evaluation_errors_total from the
// telemetry port, by family, for the graph families.
func evalErrors(t *testing.T, x *exporter) map[string]float64 {
	t.Helper()
	fams := parseText(t, x.get(t, x.TelemetryURL+"/metrics").Body)
	out := map[string]float64{}
	for _, m := range fams["gateway_metrics_evaluation_errors_total"].GetMetric() {
		for _, lp := range m.GetLabel() {
			if lp.GetName() == "family" && isGraphFamily(lp.GetValue()) && m.GetCounter().GetValue() != 0 {
				out[lp.GetValue()] = m.GetCounter().GetValue()
			}
		}
	}
	return out
}

// graphChanges are the changes TestGraphFollowsChanges makes, in order, each
// with the lines it changes (written by hand, each relative to the state
// after the ones before).
var graphChanges = []struct {
	name  string
	do    func(t *testing.T, env *testenv.Env, s graphScope)
	lines change
}{
	{
		name: "the RateLimitPolicy on edge deleted",
		do: func(t *testing.T, env *testenv.Env, s graphScope) {
			deleteObject(t, env, graphGVR("kuadrant.io", "v1", "ratelimitpolicies"), s.infra, "edge-rl")
		},
		lines: change{
			remove: []string{
				`gatewayapi_httproute_effective_policy_info{` + crHTTPRoute + `,name="web",namespace="${APP}",` + polRLP + `,policy_name="edge-rl",policy_namespace="${INFRA}",via="gateway"} 1`,
				`gatewayapi_tlsroute_effective_policy_info{` + crTLSRoute + `,name="secure",namespace="${APP}",` + polRLP + `,policy_name="edge-rl",policy_namespace="${INFRA}",via="gateway"} 1`,
				`gatewayapi_grpcroute_effective_policy_info{` + crGRPCRoute + `,name="rpc",namespace="${APP}",` + polRLP + `,policy_name="edge-rl",policy_namespace="${INFRA}",via="gateway"} 1`,
				`gatewayapi_httproute_effective_policy_info{` + crHTTPRoute + `,name="ops",namespace="${INFRA}",` + polRLP + `,policy_name="edge-rl",policy_namespace="${INFRA}",via="gateway"} 1`,
				`gatewayapi_httproute_effective_policy_info{` + crHTTPRoute + `,name="side",namespace="${APP}",` + polRLP + `,policy_name="edge-rl",policy_namespace="${INFRA}",via="gateway"} 1`,
				`gatewayapi_ratelimitpolicy_target_resolved{` + crRLP + `,name="edge-rl",namespace="${INFRA}",` + tgtGateway + `,target_name="edge"} 1`,
				// secure had no other RateLimitPolicy; web (web-rl, internal-rl), rpc (internal-rl),
				// side (extra-https-rl) and ops (https-rl) have.
				`gatewayapi_tlsroute_policy_coverage{` + crTLSRoute + `,name="secure",namespace="${APP}",` + polRLP + `} 1`,
			},
			add: []string{
				`gatewayapi_tlsroute_policy_coverage{` + crTLSRoute + `,name="secure",namespace="${APP}",` + polRLP + `} 0`,
			},
		},
	},
	{
		name: "the missing Gateway created",
		do: func(t *testing.T, env *testenv.Env, s graphScope) {
			s.apply(t, env, `
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: missing-gw, namespace: ${INFRA}}
spec:
  gatewayClassName: graph-class
  listeners: [{name: http, port: 80, protocol: HTTP}]
`)
		},
		lines: change{
			remove: []string{
				`gatewayapi_httproute_parent_attachment{` + crHTTPRoute + `,name="web",namespace="${APP}",parent_group="gateway.networking.k8s.io",parent_kind="Gateway",parent_name="missing-gw",parent_namespace="${INFRA}",parent_port="",parent_section_name="",state="ParentNotFound"} 1`,
				`gatewayapi_ratelimitpolicy_target_resolved{` + crRLP + `,name="missing-rl",namespace="${INFRA}",` + tgtGateway + `,target_name="missing-gw"} 0`,
			},
			add: []string{
				// web's entry for it had Accepted True all along.
				`gatewayapi_httproute_parent_attachment{` + crHTTPRoute + `,name="web",namespace="${APP}",parent_group="gateway.networking.k8s.io",parent_kind="Gateway",parent_name="missing-gw",parent_namespace="${INFRA}",parent_port="",parent_section_name="",state="Accepted"} 1`,
				`gatewayapi_ratelimitpolicy_target_resolved{` + crRLP + `,name="missing-rl",namespace="${INFRA}",` + tgtGateway + `,target_name="missing-gw"} 1`,
				`gatewayapi_httproute_effective_policy_info{` + crHTTPRoute + `,name="web",namespace="${APP}",` + polRLP + `,policy_name="missing-rl",policy_namespace="${INFRA}",via="gateway"} 1`,
			},
		},
	},
	{
		name: "a ReferenceGrant added",
		do: func(t *testing.T, env *testenv.Env, s graphScope) {
			s.apply(t, env, `
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: late, namespace: ${SHARED}}
spec:
  from:
  - {group: gateway.networking.k8s.io, kind: TLSRoute, namespace: ${APP}}
  - {group: gateway.networking.k8s.io, kind: ListenerSet, namespace: ${APP}}
  to:
  - {group: "", kind: Service}
  - {group: "", kind: Secret, name: wildcard}
`)
		},
		lines: change{
			remove: []string{
				`gatewayapi_tlsroute_backend_ref_info{backend_group="",backend_kind="Service",backend_name="tls-svc",backend_namespace="${SHARED}",backend_port="443",` + crTLSRoute + `,name="secure",namespace="${APP}",permitted="false",rule="0"} 1`,
				`gatewayapi_listenerset_listener_certificate_ref_info{` + crLS + `,listener_name="extra-https",name="extra",namespace="${APP}",permitted="false",ref_group="",ref_kind="Secret",ref_name="wildcard",ref_namespace="${SHARED}"} 1`,
			},
			add: []string{
				`gatewayapi_tlsroute_backend_ref_info{backend_group="",backend_kind="Service",backend_name="tls-svc",backend_namespace="${SHARED}",backend_port="443",` + crTLSRoute + `,name="secure",namespace="${APP}",permitted="true",rule="0"} 1`,
				`gatewayapi_listenerset_listener_certificate_ref_info{` + crLS + `,listener_name="extra-https",name="extra",namespace="${APP}",permitted="true",ref_group="",ref_kind="Secret",ref_name="wildcard",ref_namespace="${SHARED}"} 1`,
			},
		},
	},
	{
		name: "edge's listeners changed: https removed, h3 added",
		do: func(t *testing.T, env *testenv.Env, s graphScope) {
			updateObject(t, env, graphGVR("gateway.networking.k8s.io", "v1", "gateways"), s.infra, "edge", func(o *unstructured.Unstructured) {
				ls, _, _ := unstructured.NestedSlice(o.Object, "spec", "listeners")
				ls = slices.DeleteFunc(ls, func(l any) bool { return l.(map[string]any)["name"] == "https" })
				ls = append(ls, map[string]any{"name": "h3", "port": int64(8081), "protocol": "HTTP",
					"allowedRoutes": map[string]any{"namespaces": map[string]any{"from": "All"}}})
				if err := unstructured.SetNestedSlice(o.Object, ls, "spec", "listeners"); err != nil {
					t.Fatal(err)
				}
			})
		},
		lines: change{
			remove: []string{
				`gatewayapi_gateway_listener_certificate_ref_info{` + crGateway + `,listener_name="https",name="edge",namespace="${INFRA}",permitted="true",ref_group="",ref_kind="Secret",ref_name="edge-cert",ref_namespace="${INFRA}"} 1`,
				`gatewayapi_gateway_listener_certificate_ref_info{` + crGateway + `,listener_name="https",name="edge",namespace="${INFRA}",permitted="true",ref_group="",ref_kind="Secret",ref_name="wildcard",ref_namespace="${SHARED}"} 1`,
				`gatewayapi_gateway_listener_certificate_ref_info{` + crGateway + `,listener_name="https",name="edge",namespace="${INFRA}",permitted="unknown",ref_group="",ref_kind="Secret",ref_name="legacy-cert",ref_namespace="${OUTSIDE}"} 1`,
				`gatewayapi_ratelimitpolicy_target_resolved{` + crRLP + `,name="https-rl",namespace="${INFRA}",` + tgtGateway + `,target_name="edge",target_section_name="https"} 1`,
				`gatewayapi_authpolicy_target_resolved{` + crAuth + `,name="h3-auth",namespace="${INFRA}",` + tgtGateway + `,target_name="edge",target_section_name="h3"} 0`,
				`gatewayapi_httproute_effective_policy_info{` + crHTTPRoute + `,name="ops",namespace="${INFRA}",` + polRLP + `,policy_name="https-rl",policy_namespace="${INFRA}",via="listener"} 1`,
				// ops's last RateLimitPolicy (edge-rl is gone).
				`gatewayapi_httproute_policy_coverage{` + crHTTPRoute + `,name="ops",namespace="${INFRA}",` + polRLP + `} 1`,
				`gatewayapi_httproute_parent_attachment{` + crHTTPRoute + `,name="web",namespace="${APP}",` + gwEdge + `,parent_port="",parent_section_name="h3",state="ParentNotFound"} 1`,
			},
			add: []string{
				`gatewayapi_ratelimitpolicy_target_resolved{` + crRLP + `,name="https-rl",namespace="${INFRA}",` + tgtGateway + `,target_name="edge",target_section_name="https"} 0`,
				`gatewayapi_authpolicy_target_resolved{` + crAuth + `,name="h3-auth",namespace="${INFRA}",` + tgtGateway + `,target_name="edge",target_section_name="h3"} 1`,
				`gatewayapi_httproute_policy_coverage{` + crHTTPRoute + `,name="ops",namespace="${INFRA}",` + polRLP + `} 0`,
				// web's parentRef edge/h3 now exists, and no entry is for it.
				`gatewayapi_httproute_parent_attachment{` + crHTTPRoute + `,name="web",namespace="${APP}",` + gwEdge + `,parent_port="",parent_section_name="h3",state="Pending"} 1`,
				// h3 (HTTP, from All): web names it, rpc and ops attach to edge without sectionName
				// (side attaches through the ListenerSet: a listener of edge is not for it).
				`gatewayapi_httproute_effective_policy_info{` + crHTTPRoute + `,name="web",namespace="${APP}",` + polAuth + `,policy_name="h3-auth",policy_namespace="${INFRA}",via="listener"} 1`,
				`gatewayapi_grpcroute_effective_policy_info{` + crGRPCRoute + `,name="rpc",namespace="${APP}",` + polAuth + `,policy_name="h3-auth",policy_namespace="${INFRA}",via="listener"} 1`,
				`gatewayapi_httproute_effective_policy_info{` + crHTTPRoute + `,name="ops",namespace="${INFRA}",` + polAuth + `,policy_name="h3-auth",policy_namespace="${INFRA}",via="listener"} 1`,
			},
		},
	},
	{
		name: "web's parentRef edge/http removed, its status entry left behind",
		do: func(t *testing.T, env *testenv.Env, s graphScope) {
			updateObject(t, env, graphGVR("gateway.networking.k8s.io", "v1", "httproutes"), s.app, "web", func(o *unstructured.Unstructured) {
				refs, _, _ := unstructured.NestedSlice(o.Object, "spec", "parentRefs")
				refs = slices.DeleteFunc(refs, func(r any) bool { return r.(map[string]any)["sectionName"] == "http" })
				if err := unstructured.SetNestedSlice(o.Object, refs, "spec", "parentRefs"); err != nil {
					t.Fatal(err)
				}
			})
		},
		lines: change{
			remove: []string{
				`gatewayapi_httproute_parent_attachment{` + crHTTPRoute + `,name="web",namespace="${APP}",` + gwEdge + `,parent_port="",parent_section_name="http",state="Accepted"} 1`,
				`gatewayapi_httproute_effective_policy_info{` + crHTTPRoute + `,name="web",namespace="${APP}",` + polAuth + `,policy_name="http-auth",policy_namespace="${INFRA}",via="listener"} 1`,
			},
			add: []string{
				`gatewayapi_httproute_parent_attachment{` + crHTTPRoute + `,name="web",namespace="${APP}",` + gwEdge + `,parent_port="",parent_section_name="http",state="Stale"} 1`,
			},
		},
	},
}

func graphGVR(group, version, resource string) schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: group, Version: version, Resource: resource}
}

func deleteObject(t *testing.T, env *testenv.Env, gvr schema.GroupVersionResource, ns, name string) {
	t.Helper()
	if err := env.Dynamic().Resource(gvr).Namespace(ns).Delete(ctxFor(t), name, metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete %s %s/%s: %v", gvr.Resource, ns, name, err)
	}
}

// updateObject changes an object's spec with edit, as a user would (get,
// edit, update; again on a conflict).
func updateObject(t *testing.T, env *testenv.Env, gvr schema.GroupVersionResource, ns, name string, edit func(*unstructured.Unstructured)) {
	t.Helper()
	ri := env.Dynamic().Resource(gvr).Namespace(ns)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		o, err := ri.Get(ctxFor(t), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		edit(o)
		_, err = ri.Update(ctxFor(t), o, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatalf("update %s %s/%s: %v", gvr.Resource, ns, name, err)
	}
}

// TestGraphFollowsChanges: while both run, list mode and watch mode serve
// the lines each change leads to (a policy deleted, a missing Gateway
// created, a ReferenceGrant added, a Gateway's listeners changed, a route's
// parentRefs changed so that a status entry is left behind), and watch mode
// follows with its watches alone: it lists nothing after its first sync.
func TestGraphFollowsChanges(t *testing.T) {
	env := testenv.Current(t)
	s := newGraphScope(t)
	s.apply(t, env, graphScenario)
	want := s.lines(t, graphWant)
	list := startExporter(t, "--kubeconfig="+env.Kubeconfig, s.namespacesFlag(), backendRefsOptIn)
	watch := startExporter(t, "--kubeconfig="+env.Kubeconfig, s.namespacesFlag(), backendRefsOptIn, "--collection=watch")
	waitGraph(t, "list mode, before the changes", list, want)
	waitGraph(t, "watch mode, before the changes", watch, want)
	// Every kind synced (up 1) before counting its LISTs, so that a first
	// sync still under way is not taken for a relist.
	waitAllUp(t, watch)
	lists := listCounts(t, watch)
	if lists["HTTPRoute"] == 0 || lists["Gateway"] == 0 {
		t.Fatalf("watch mode's first syncs are not counted: gateway_metrics_list_total by kind %v", lists)
	}
	if t.Failed() {
		t.FailNow()
	}

	for _, c := range graphChanges {
		c.do(t, env, s)
		want = applyChange(t, s, want, c.lines)
		waitGraph(t, "list mode, after "+c.name, list, want)
		waitGraph(t, "watch mode, after "+c.name, watch, want)
		if t.Failed() {
			t.FailNow()
		}
	}
	waitSame(t, "after the changes", list, watch)
	if after := listCounts(t, watch); !maps.Equal(after, lists) {
		t.Errorf("watch mode listed while following the changes: gateway_metrics_list_total by kind %v before, %v after", lists, after)
	}
}

// waitAllUp polls until x serves gateway_metrics_up 1 for every kind this
// API server serves (watch mode: each synced once).
func waitAllUp(t *testing.T, x *exporter) {
	t.Helper()
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		up := health(harness.SampleLines(x.scrape(t).Body), "gateway_metrics_up")
		all := true
		for _, k := range defaultKinds {
			all = all && up[k.Group+"/"+k.Kind].Value == "1"
		}
		if all {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not every kind is up: %v", up)
		}
	}
}

// TestGraphShards: three shards (--total-shards=3) together serve exactly
// the single instance's graph lines, each once, in list and watch mode:
// each shard renders the objects it owns, judged against all of them.
func TestGraphShards(t *testing.T) {
	env := testenv.Current(t)
	s := newGraphScope(t)
	s.apply(t, env, graphScenario)
	want := s.lines(t, graphWant)
	for _, mode := range []string{"list", "watch"} {
		args := []string{"--kubeconfig=" + env.Kubeconfig, s.namespacesFlag(), backendRefsOptIn, "--collection=" + mode}
		single := waitGraph(t, mode+", one instance", startExporter(t, args...), want)
		shards := make([]*exporter, 3)
		for i := range shards {
			shards[i] = startExporter(t, append(slices.Clone(args), "--total-shards=3", "--shard="+string(rune('0'+i)))...)
		}
		// Watch-mode shards sync asynchronously: poll until the union is
		// the single instance's (with every line once), the bound a
		// liveness guard.
		var union []string
		var per [3]int
		for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			union = union[:0]
			for i, x := range shards {
				g := graphLines(harness.SampleLines(x.scrape(t).Body))
				per[i] = len(g)
				union = append(union, g...)
			}
			if slices.Equal(sorted(union), sorted(single)) || time.Now().After(deadline) {
				break
			}
		}
		assertLines(t, mode+": the union of 3 shards vs one instance", union, single)
		checkNoDuplicateSeries(t, union)
		serving := 0
		for _, n := range per {
			if n > 0 {
				serving++
			}
		}
		// ~20 objects with graph lines spread by UID hash: all on one
		// shard would mean the flag did nothing.
		if serving < 2 {
			t.Errorf("%s: graph lines per shard %v: sharding did not split them", mode, per)
		}
		t.Logf("%s: graph lines per shard %v", mode, per)
		// Each line on the shard that owns its object.
		checkShardOwnership(t, env, s, shards)
	}
}

// checkShardOwnership requires every graph line a shard serves to be of an
// object the shard owns (scrape.ShardOf its UID).
func checkShardOwnership(t *testing.T, env *testenv.Env, s graphScope, shards []*exporter) {
	t.Helper()
	owner := map[string]int{} // kind/namespace/name
	for _, k := range defaultKinds {
		if k.Kind == "GatewayClass" {
			continue
		}
		for _, ns := range []string{s.app, s.infra, s.shared} {
			l, err := env.Dynamic().Resource(graphGVR(k.Group, k.ReadVersion, k.Plural)).Namespace(ns).List(ctxFor(t), metav1.ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range l.Items {
				owner[k.Kind+"/"+ns+"/"+o.GetName()] = scrape.ShardOf(string(o.GetUID()), len(shards))
			}
		}
	}
	for i, x := range shards {
		for _, l := range graphLines(harness.SampleLines(x.scrape(t).Body)) {
			key := labelValue(l, "customresource_kind") + "/" + labelValue(l, "namespace") + "/" + nameLabel(l)
			if o, ok := owner[key]; !ok || o != i {
				t.Errorf("shard %d serves a line of %s, owned by shard %d (known: %v): %s", i, key, o, ok, l)
			}
		}
	}
}

// labelValue is the value of a label of a sample line ("" if none).
func labelValue(line, name string) string {
	i := strings.Index(line, "{"+name+`="`)
	if i < 0 {
		i = strings.Index(line, ","+name+`="`)
	}
	if i < 0 {
		return ""
	}
	rest := line[i+len(name)+3:]
	return rest[:strings.IndexByte(rest, '"')]
}

// graphWantAllRead is graphWant when ${OUTSIDE} is read too (written by
// hand, as the changes to graphWant that reading it makes).
var graphWantAllRead = change{
	remove: []string{
		`gatewayapi_httproute_parent_attachment{` + crHTTPRoute + `,name="away",namespace="${APP}",parent_group="gateway.networking.k8s.io",parent_kind="Gateway",parent_name="nowhere",parent_namespace="${OUTSIDE}",parent_port="",parent_section_name="",state="Pending"} 1`,
		`gatewayapi_httproute_backend_ref_info{backend_group="",backend_kind="Service",backend_name="legacy",backend_namespace="${OUTSIDE}",backend_port="80",` + crHTTPRoute + `,name="away",namespace="${APP}",permitted="unknown",rule="0"} 1`,
		`gatewayapi_gateway_listener_certificate_ref_info{` + crGateway + `,listener_name="https",name="edge",namespace="${INFRA}",permitted="unknown",ref_group="",ref_kind="Secret",ref_name="legacy-cert",ref_namespace="${OUTSIDE}"} 1`,
	},
	add: []string{
		// There is no Gateway nowhere.
		`gatewayapi_httproute_parent_attachment{` + crHTTPRoute + `,name="away",namespace="${APP}",parent_group="gateway.networking.k8s.io",parent_kind="Gateway",parent_name="nowhere",parent_namespace="${OUTSIDE}",parent_port="",parent_section_name="",state="ParentNotFound"} 1`,
		// ${OUTSIDE} has no ReferenceGrant.
		`gatewayapi_httproute_backend_ref_info{backend_group="",backend_kind="Service",backend_name="legacy",backend_namespace="${OUTSIDE}",backend_port="80",` + crHTTPRoute + `,name="away",namespace="${APP}",permitted="false",rule="0"} 1`,
		`gatewayapi_gateway_listener_certificate_ref_info{` + crGateway + `,listener_name="https",name="edge",namespace="${INFRA}",permitted="false",ref_group="",ref_kind="Secret",ref_name="legacy-cert",ref_namespace="${OUTSIDE}"} 1`,
		// outside-auth, read now, targets outside-gw, away's parent (whose
		// listener http, from Same, does not admit it).
		`gatewayapi_authpolicy_target_resolved{` + crAuth + `,name="outside-auth",namespace="${OUTSIDE}",` + tgtGateway + `,target_name="outside-gw"} 1`,
		`gatewayapi_httproute_effective_policy_info{` + crHTTPRoute + `,name="away",namespace="${APP}",` + polAuth + `,policy_name="outside-auth",policy_namespace="${OUTSIDE}",via="gateway"} 1`,
	},
}

// TestGraphRender: `render` (engine.Offline, as the command runs it) on the
// scenario's objects dumped from the API server as a kubectl-style List
// serves the graph lines list mode serves for the same objects. Both read
// all four namespaces here: render has no --namespaces, its input is the
// whole world.
func TestGraphRender(t *testing.T) {
	env := testenv.Current(t)
	s := newGraphScope(t)
	s.apply(t, env, graphScenario)
	want := applyChange(t, s, s.lines(t, graphWant), graphWantAllRead)
	all := []string{s.app, s.infra, s.shared, s.outside}
	list := startExporter(t, "--kubeconfig="+env.Kubeconfig, "--namespaces="+strings.Join(all, ","), backendRefsOptIn)
	served := waitGraph(t, "list mode", list, want)

	dump := filepath.Join(t.TempDir(), "dump.json")
	writeDump(t, env, dump, all)
	var errs []string
	plan, err := app.LoadPlan("", "", false, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	off := engine.NewOffline(plan, func(f *spec.Family, err error) { errs = append(errs, f.Name+": "+err.Error()) })
	if err := off.AddFiles([]string{dump}, 2); err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	if err := off.WriteTo(&body, exposition.Text); err != nil {
		t.Fatal(err)
	}
	parseText(t, body.Bytes())
	rendered := graphLines(harness.SampleLines(body.Bytes()))
	assertLines(t, "render vs list mode", rendered, served)
	checkNoDuplicateSeries(t, rendered)
	for _, e := range errs {
		if isGraphFamily(e[:strings.IndexByte(e, ':')]) {
			t.Errorf("render: evaluation error %s", e)
		}
	}
}

// writeDump writes the objects of every namespaced kind this package
// installs, in namespaces, as `kubectl get -o json` writes several kinds:
// one List, each item at the version the exporter reads it at.
func writeDump(t *testing.T, env *testenv.Env, path string, namespaces []string) {
	t.Helper()
	var items []any
	for _, k := range defaultKinds {
		if k.Kind == "GatewayClass" {
			continue
		}
		for _, ns := range namespaces {
			l, err := env.Dynamic().Resource(graphGVR(k.Group, k.ReadVersion, k.Plural)).Namespace(ns).List(ctxFor(t), metav1.ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range l.Items {
				items = append(items, o.Object)
			}
		}
	}
	b, err := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "List", "metadata": map[string]any{"resourceVersion": ""}, "items": items})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
