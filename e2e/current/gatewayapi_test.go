// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package current

// One test per Gateway API kind of the v1.6.3 experimental channel. Objects and
// statuses are written from the CRDs' status schemas; conditions carry
// observedGeneration and lastTransitionTime as Gateway API controllers write
// them (t0900 ... are their Unix seconds, see helpers_test.go).

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kuadrant/gateway-api-metrics-exporter/internal/testenv"
)

func TestGatewayClass(t *testing.T) {
	runKindCase(t, kindCase{
		Group: "gateway.networking.k8s.io", Kind: "GatewayClass", Version: "v1beta1", ClusterScoped: true,
		Prefix: "gatewayapi_gatewayclass_",
		Objects: `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: ${NS}-class, labels: {tier: gold}}
spec: {controllerName: example.com/cur-controller}
status:
  conditions:
  - {type: Accepted, status: "True", reason: Accepted, message: ok, lastTransitionTime: "2026-01-10T09:00:00Z", observedGeneration: 1}
  - {type: SupportedVersion, status: "False", reason: UnsupportedVersion, message: old CRDs, lastTransitionTime: "2026-01-10T09:09:00Z", observedGeneration: 1}
  supportedFeatures: [{name: Gateway}, {name: HTTPRoute}]
`,
		Want: map[string][]string{"${NS}-class": {
			`created ${CREATED}`,
			`deleted 0`,
			`info{controller_name="example.com/cur-controller"} 1`,
			`labels{tier="gold"} 1`,
			`status{type="Accepted"} 1`,
			`status{type="SupportedVersion"} 0`,
			`status_supported_features{features="Gateway"} 1`,
			`status_supported_features{features="HTTPRoute"} 1`,
			`metadata_generation 1`,
			`status_observed_generation 1`,
			`status_condition_observed_generation{type="Accepted"} 1`,
			`status_condition_observed_generation{type="SupportedVersion"} 1`,
			`status_condition_last_transition_time{type="Accepted"} ` + t0900,
			`status_condition_last_transition_time{type="SupportedVersion"} ` + t0909,
		}},
	})
}

// The Gateway's spec changes after its status was written: generation 2,
// every condition still at observedGeneration 1 — a stale status.
func TestGateway(t *testing.T) {
	runKindCase(t, kindCase{
		Group: "gateway.networking.k8s.io", Kind: "Gateway", Version: "v1beta1",
		Prefix: "gatewayapi_gateway_",
		Objects: `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: edge, labels: {env: cur}}
spec:
  gatewayClassName: cur-class
  listeners:
  - {name: http, port: 80, protocol: HTTP, hostname: "*.example.com", allowedRoutes: {namespaces: {from: All}}}
  - name: https
    port: 443
    protocol: HTTPS
    hostname: api.example.com
    tls: {mode: Terminate, certificateRefs: [{name: api-cert}]}
    allowedRoutes: {namespaces: {from: Same}}
status:
  addresses: [{type: IPAddress, value: 192.0.2.10}]
  attachedListenerSets: 2
  conditions:
  - {type: Accepted, status: "True", reason: Accepted, message: ok, lastTransitionTime: "2026-01-10T09:00:00Z", observedGeneration: 1}
  - {type: Programmed, status: "False", reason: Pending, message: waiting, lastTransitionTime: "2026-01-10T09:09:00Z", observedGeneration: 1}
  listeners:
  - name: http
    attachedRoutes: 3
    supportedKinds: [{group: gateway.networking.k8s.io, kind: HTTPRoute}, {kind: GRPCRoute}]
    conditions:
    - {type: Accepted, status: "True", reason: Accepted, message: ok, lastTransitionTime: "2026-01-10T09:00:00Z", observedGeneration: 1}
    - {type: Programmed, status: "True", reason: Programmed, message: ok, lastTransitionTime: "2026-01-10T09:09:00Z", observedGeneration: 1}
  - name: https
    attachedRoutes: 0
    supportedKinds: [{group: gateway.networking.k8s.io, kind: HTTPRoute}]
    conditions:
    - {type: Conflicted, status: "True", reason: HostnameConflict, message: conflict, lastTransitionTime: "2026-02-01T12:00:00Z", observedGeneration: 1}
    - {type: ResolvedRefs, status: "False", reason: InvalidCertificateRef, message: no cert, lastTransitionTime: "2026-02-01T12:30:00Z", observedGeneration: 1}
`,
		Prepare: func(t *testing.T, env *testenv.Env, ns string, objs []*unstructured.Unstructured) {
			ri, err := env.ResourceFor(ctxFor(t), objs[0])
			if err != nil {
				t.Fatal(err)
			}
			gw, err := ri.Get(ctxFor(t), "edge", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			listeners, _, _ := unstructured.NestedSlice(gw.Object, "spec", "listeners")
			listeners[0].(map[string]any)["hostname"] = "*.example.org"
			if err := unstructured.SetNestedSlice(gw.Object, listeners, "spec", "listeners"); err != nil {
				t.Fatal(err)
			}
			if gw, err = ri.Update(ctxFor(t), gw, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
			if gw.GetGeneration() != 2 {
				t.Fatalf("generation after a spec change: %d, want 2", gw.GetGeneration())
			}
		},
		Want: map[string][]string{"edge": {
			`created ${CREATED}`,
			`deleted 0`,
			`info{gatewayclass_name="cur-class"} 1`,
			`labels{env="cur"} 1`,
			`listener_info{allowed_routes_namespaces_from="All",hostname="*.example.org",listener_name="http",port="80",protocol="HTTP"} 1`,
			`listener_info{allowed_routes_namespaces_from="Same",hostname="api.example.com",listener_name="https",port="443",protocol="HTTPS",tls_mode="Terminate"} 1`,
			`status{type="Accepted"} 1`,
			`status{type="Programmed"} 0`,
			`status_listener_attached_routes{listener_name="http"} 3`,
			`status_listener_attached_routes{listener_name="https"} 0`,
			`status_address_info{type="IPAddress",value="192.0.2.10"} 1`,
			`status_listeners_conditions{listener_name="http",type="Accepted"} 1`,
			`status_listeners_conditions{listener_name="http",type="Programmed"} 1`,
			`status_listeners_conditions{listener_name="https",type="Conflicted"} 1`,
			`status_listeners_conditions{listener_name="https",type="ResolvedRefs"} 0`,
			`status_attached_listener_sets 2`,
			// The group the CRD defaults when a controller omits it.
			`status_listeners_supported_kinds_info{listener_name="http",route_group="gateway.networking.k8s.io",route_kind="GRPCRoute"} 1`,
			`status_listeners_supported_kinds_info{listener_name="http",route_group="gateway.networking.k8s.io",route_kind="HTTPRoute"} 1`,
			`status_listeners_supported_kinds_info{listener_name="https",route_group="gateway.networking.k8s.io",route_kind="HTTPRoute"} 1`,
			`metadata_generation 2`,
			// The lowest observedGeneration of the top-level conditions and
			// of each listener's: all 1, behind the generation.
			`status_observed_generation 1`,
			`status_listeners_observed_generation{listener_name="http"} 1`,
			`status_listeners_observed_generation{listener_name="https"} 1`,
			`status_condition_observed_generation{type="Accepted"} 1`,
			`status_condition_observed_generation{type="Programmed"} 1`,
			`status_condition_last_transition_time{type="Accepted"} ` + t0900,
			`status_condition_last_transition_time{type="Programmed"} ` + t0909,
			`status_listeners_conditions_observed_generation{listener_name="http",type="Accepted"} 1`,
			`status_listeners_conditions_observed_generation{listener_name="http",type="Programmed"} 1`,
			`status_listeners_conditions_observed_generation{listener_name="https",type="Conflicted"} 1`,
			`status_listeners_conditions_observed_generation{listener_name="https",type="ResolvedRefs"} 1`,
			`status_listeners_conditions_last_transition_time{listener_name="http",type="Accepted"} ` + t0900,
			`status_listeners_conditions_last_transition_time{listener_name="http",type="Programmed"} ` + t0909,
			`status_listeners_conditions_last_transition_time{listener_name="https",type="Conflicted"} ` + t1200,
			`status_listeners_conditions_last_transition_time{listener_name="https",type="ResolvedRefs"} ` + t1230,
		}},
	})
}

func TestListenerSet(t *testing.T) {
	runKindCase(t, kindCase{
		Group: "gateway.networking.k8s.io", Kind: "ListenerSet", Version: "v1",
		Prefix: "gatewayapi_listenerset_",
		Objects: `apiVersion: gateway.networking.k8s.io/v1
kind: ListenerSet
metadata: {name: extra, labels: {team: payments}}
spec:
  parentRef: {group: gateway.networking.k8s.io, kind: Gateway, name: edge}
  listeners:
  - {name: extra-http, port: 8080, protocol: HTTP, hostname: extra.example.com, allowedRoutes: {namespaces: {from: Same}}}
status:
  conditions:
  - {type: Accepted, status: "True", reason: Accepted, message: ok, lastTransitionTime: "2026-01-10T09:00:00Z", observedGeneration: 1}
  listeners:
  - name: extra-http
    attachedRoutes: 1
    supportedKinds: [{group: gateway.networking.k8s.io, kind: HTTPRoute}]
    conditions:
    - {type: Programmed, status: "False", reason: Pending, message: waiting, lastTransitionTime: "2026-01-10T09:09:00Z", observedGeneration: 1}
`,
		Want: map[string][]string{"extra": {
			`created ${CREATED}`,
			`deleted 0`,
			`info{parent_group="gateway.networking.k8s.io",parent_kind="Gateway",parent_name="edge"} 1`,
			`labels{team="payments"} 1`,
			`listener_info{allowed_routes_namespaces_from="Same",hostname="extra.example.com",listener_name="extra-http",port="8080",protocol="HTTP"} 1`,
			`status{type="Accepted"} 1`,
			`status_listener_attached_routes{listener_name="extra-http"} 1`,
			`status_listeners_conditions{listener_name="extra-http",type="Programmed"} 0`,
			`status_listeners_supported_kinds_info{listener_name="extra-http",route_group="gateway.networking.k8s.io",route_kind="HTTPRoute"} 1`,
			`metadata_generation 1`,
			`status_observed_generation 1`,
			`status_listeners_observed_generation{listener_name="extra-http"} 1`,
			`status_condition_observed_generation{type="Accepted"} 1`,
			`status_condition_last_transition_time{type="Accepted"} ` + t0900,
			`status_listeners_conditions_observed_generation{listener_name="extra-http",type="Programmed"} 1`,
			`status_listeners_conditions_last_transition_time{listener_name="extra-http",type="Programmed"} ` + t0909,
		}},
	})
}

// routeStatus is the status every route test writes: two parents, the second
// written by Kuadrant's policy controller with its own condition type.
const routeStatus = `status:
  parents:
  - parentRef: {group: gateway.networking.k8s.io, kind: Gateway, name: edge, namespace: ${NS}, sectionName: http}
    controllerName: example.com/cur-controller
    conditions:
    - {type: Accepted, status: "True", reason: Accepted, message: ok, lastTransitionTime: "2026-01-10T09:00:00Z", observedGeneration: 1}
    - {type: ResolvedRefs, status: "False", reason: BackendNotFound, message: missing, lastTransitionTime: "2026-01-10T09:09:00Z", observedGeneration: 1}
  - parentRef: {group: gateway.networking.k8s.io, kind: Gateway, name: edge, namespace: ${NS}, sectionName: http}
    controllerName: kuadrant.io/policy-controller
    conditions:
    - {type: kuadrant.io/AuthPolicyAffected, status: "True", reason: Accepted, message: affected, lastTransitionTime: "2026-02-01T12:00:00Z", observedGeneration: 1}
`

// routeWant is what routeStatus and a spec.parentRefs of edge/http give.
func routeWant() []string {
	const gw = `parent_group="gateway.networking.k8s.io",parent_kind="Gateway",parent_name="edge",parent_namespace="${NS}",parent_section_name="http"`
	const cur = `controller_name="example.com/cur-controller",` + gw
	const kua = `controller_name="kuadrant.io/policy-controller",` + gw
	return []string{
		`created ${CREATED}`,
		`deleted 0`,
		`labels{app="shop"} 1`,
		`parent_info{parent_group="gateway.networking.k8s.io",parent_kind="Gateway",parent_name="edge",parent_section_name="http"} 1`,
		`status_parent_info{` + cur + `} 1`,
		`status_parent_info{` + kua + `} 1`,
		`status_parents_conditions{` + cur + `,type="Accepted"} 1`,
		`status_parents_conditions{` + cur + `,type="ResolvedRefs"} 0`,
		`status_parents_conditions{` + kua + `,type="kuadrant.io/AuthPolicyAffected"} 1`,
		`metadata_generation 1`,
		`status_parents_observed_generation{` + cur + `} 1`,
		`status_parents_observed_generation{` + kua + `} 1`,
		`status_parents_conditions_observed_generation{` + cur + `,type="Accepted"} 1`,
		`status_parents_conditions_observed_generation{` + cur + `,type="ResolvedRefs"} 1`,
		`status_parents_conditions_observed_generation{` + kua + `,type="kuadrant.io/AuthPolicyAffected"} 1`,
		`status_parents_conditions_last_transition_time{` + cur + `,type="Accepted"} ` + t0900,
		`status_parents_conditions_last_transition_time{` + cur + `,type="ResolvedRefs"} ` + t0909,
		`status_parents_conditions_last_transition_time{` + kua + `,type="kuadrant.io/AuthPolicyAffected"} ` + t1200,
	}
}

func TestHTTPRoute(t *testing.T) {
	runKindCase(t, kindCase{
		Group: "gateway.networking.k8s.io", Kind: "HTTPRoute", Version: "v1beta1",
		Prefix: "gatewayapi_httproute_",
		Objects: `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: shop, labels: {app: shop}}
spec:
  hostnames: [shop.example.com]
  parentRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: edge, sectionName: http}]
  rules: [{backendRefs: [{name: shop, port: 8080}]}]
` + routeStatus,
		Want: map[string][]string{"shop": append(routeWant(), `hostname_info{hostname="shop.example.com"} 1`)},
	})
}

func TestGRPCRoute(t *testing.T) {
	runKindCase(t, kindCase{
		Group: "gateway.networking.k8s.io", Kind: "GRPCRoute", Version: "v1", // the spec names v1alpha2, not served
		Prefix: "gatewayapi_grpcroute_",
		Objects: `apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: shop, labels: {app: shop}}
spec:
  hostnames: [grpc.example.com]
  parentRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: edge, sectionName: http}]
  rules: [{backendRefs: [{name: shop, port: 9000}]}]
` + routeStatus,
		Want: map[string][]string{"shop": append(routeWant(), `hostname_info{hostname="grpc.example.com"} 1`)},
	})
}

func TestTLSRoute(t *testing.T) {
	runKindCase(t, kindCase{
		Group: "gateway.networking.k8s.io", Kind: "TLSRoute", Version: "v1alpha2",
		Prefix: "gatewayapi_tlsroute_",
		Objects: `apiVersion: gateway.networking.k8s.io/v1
kind: TLSRoute
metadata: {name: shop, labels: {app: shop}}
spec:
  hostnames: [vault.example.com]
  parentRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: edge, sectionName: http}]
  rules: [{backendRefs: [{name: vault, port: 8200}]}]
` + routeStatus,
		Want: map[string][]string{"shop": append(routeWant(), `hostname_info{hostname="vault.example.com"} 1`)},
	})
}

func TestTCPRoute(t *testing.T) {
	runKindCase(t, kindCase{
		Group: "gateway.networking.k8s.io", Kind: "TCPRoute", Version: "v1alpha2",
		Prefix: "gatewayapi_tcproute_",
		Objects: `apiVersion: gateway.networking.k8s.io/v1
kind: TCPRoute
metadata: {name: shop, labels: {app: shop}}
spec:
  parentRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: edge, sectionName: http}]
  rules: [{backendRefs: [{name: postgres, port: 5432}]}]
` + routeStatus,
		Want: map[string][]string{"shop": routeWant()},
	})
}

func TestUDPRoute(t *testing.T) {
	runKindCase(t, kindCase{
		Group: "gateway.networking.k8s.io", Kind: "UDPRoute", Version: "v1alpha2",
		Prefix: "gatewayapi_udproute_",
		Objects: `apiVersion: gateway.networking.k8s.io/v1
kind: UDPRoute
metadata: {name: shop, labels: {app: shop}}
spec:
  parentRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: edge, sectionName: http}]
  rules: [{backendRefs: [{name: coredns, port: 53}]}]
` + routeStatus,
		Want: map[string][]string{"shop": routeWant()},
	})
}

// ancestorStatus is a PolicyStatus with one ancestor (a Gateway listener).
const ancestorStatus = `status:
  ancestors:
  - ancestorRef: {group: gateway.networking.k8s.io, kind: Gateway, name: edge, namespace: ${NS}, sectionName: https}
    controllerName: example.com/cur-controller
    conditions:
    - {type: Accepted, status: "True", reason: Accepted, message: ok, lastTransitionTime: "2026-01-10T09:00:00Z", observedGeneration: 1}
    - {type: ResolvedRefs, status: "False", reason: InvalidKind, message: bad ref, lastTransitionTime: "2026-01-10T09:09:00Z", observedGeneration: 1}
`

func ancestorWant() []string {
	const a = `ancestor_group="gateway.networking.k8s.io",ancestor_kind="Gateway",ancestor_name="edge",ancestor_namespace="${NS}",ancestor_section_name="https",controller_name="example.com/cur-controller"`
	return []string{
		`status_ancestors_conditions{` + a + `,type="Accepted"} 1`,
		`status_ancestors_conditions{` + a + `,type="ResolvedRefs"} 0`,
		`metadata_generation 1`,
		`status_ancestors_observed_generation{` + a + `} 1`,
		`status_ancestors_conditions_observed_generation{` + a + `,type="Accepted"} 1`,
		`status_ancestors_conditions_observed_generation{` + a + `,type="ResolvedRefs"} 1`,
		`status_ancestors_conditions_last_transition_time{` + a + `,type="Accepted"} ` + t0900,
		`status_ancestors_conditions_last_transition_time{` + a + `,type="ResolvedRefs"} ` + t0909,
	}
}

func TestBackendTLSPolicy(t *testing.T) {
	runKindCase(t, kindCase{
		Group: "gateway.networking.k8s.io", Kind: "BackendTLSPolicy", Version: "v1", // the spec names v1alpha2, not served
		Prefix: "gatewayapi_backendtlspolicy_",
		Objects: `apiVersion: gateway.networking.k8s.io/v1
kind: BackendTLSPolicy
metadata: {name: cart-tls, labels: {app: cart}}
spec:
  targetRefs: [{group: "", kind: Service, name: cart, sectionName: https}]
  validation:
    caCertificateRefs: [{group: "", kind: ConfigMap, name: cart-ca}]
    hostname: cart.example.com
` + ancestorStatus,
		Want: map[string][]string{"cart-tls": append(ancestorWant(),
			`created ${CREATED}`,
			`deleted 0`,
			`labels{app="cart"} 1`,
			`target_info{target_group="",target_kind="Service",target_name="cart",target_section_name="https"} 1`,
		)},
	})
}

func TestXBackendTrafficPolicy(t *testing.T) {
	runKindCase(t, kindCase{
		Group: "gateway.networking.x-k8s.io", Kind: "XBackendTrafficPolicy", Version: "v1alpha1",
		Prefix: "gatewayapi_xbackendtrafficpolicy_",
		Objects: `apiVersion: gateway.networking.x-k8s.io/v1alpha1
kind: XBackendTrafficPolicy
metadata: {name: cart-sessions, labels: {app: cart}}
spec:
  targetRefs: [{group: "", kind: Service, name: cart}]
  sessionPersistence: {type: Cookie, sessionName: cart-session}
` + ancestorStatus,
		Want: map[string][]string{"cart-sessions": append(ancestorWant(),
			`created ${CREATED}`,
			`deleted 0`,
			`labels{app="cart"} 1`,
			`target_info{target_group="",target_kind="Service",target_name="cart"} 1`,
			`info{session_name="cart-session",session_persistence_type="Cookie"} 1`,
		)},
	})
}

func TestXBackend(t *testing.T) {
	const p = `controller_name="example.com/cur-controller",parent_group="gateway.networking.k8s.io",parent_kind="Gateway",parent_name="edge",parent_namespace="${NS}"`
	runKindCase(t, kindCase{
		Group: "gateway.networking.x-k8s.io", Kind: "XBackend", Version: "v1alpha1",
		Prefix: "gatewayapi_xbackend_",
		Objects: `apiVersion: gateway.networking.x-k8s.io/v1alpha1
kind: XBackend
metadata: {name: partner-api, labels: {team: partners}}
spec:
  type: ExternalHostname
  externalHostname: {hostname: api.partner.example}
  port: {port: 443}
  protocol: HTTP2
status:
  parents:
  - parentRef: {group: gateway.networking.k8s.io, kind: Gateway, name: edge, namespace: ${NS}}
    controllerName: example.com/cur-controller
    conditions:
    - {type: Accepted, status: "True", reason: Accepted, message: ok, lastTransitionTime: "2026-02-01T12:00:00Z", observedGeneration: 1}
`,
		Want: map[string][]string{"partner-api": {
			`created ${CREATED}`,
			`deleted 0`,
			`info{hostname="api.partner.example",port="443",protocol="HTTP2",type="ExternalHostname"} 1`,
			`labels{team="partners"} 1`,
			`status_parent_info{` + p + `} 1`,
			`status_parents_conditions{` + p + `,type="Accepted"} 1`,
			`metadata_generation 1`,
			`status_parents_observed_generation{` + p + `} 1`,
			`status_parents_conditions_observed_generation{` + p + `,type="Accepted"} 1`,
			`status_parents_conditions_last_transition_time{` + p + `,type="Accepted"} ` + t1200,
		}},
	})
}

func TestXMesh(t *testing.T) {
	runKindCase(t, kindCase{
		Group: "gateway.networking.x-k8s.io", Kind: "XMesh", Version: "v1alpha1", ClusterScoped: true,
		Prefix: "gatewayapi_xmesh_",
		Objects: `apiVersion: gateway.networking.x-k8s.io/v1alpha1
kind: XMesh
metadata: {name: ${NS}-mesh, labels: {mesh: cur}}
spec: {controllerName: example.com/mesh-controller, description: the test mesh}
status:
  conditions:
  - {type: Accepted, status: "True", reason: Accepted, message: ok, lastTransitionTime: "2026-01-10T09:00:00Z", observedGeneration: 1}
  supportedFeatures: [{name: MeshHTTPRoute}]
`,
		Want: map[string][]string{"${NS}-mesh": {
			`created ${CREATED}`,
			`deleted 0`,
			`info{controller_name="example.com/mesh-controller"} 1`,
			`labels{mesh="cur"} 1`,
			`status{type="Accepted"} 1`,
			`status_supported_features{features="MeshHTTPRoute"} 1`,
			`metadata_generation 1`,
			`status_observed_generation 1`,
			`status_condition_observed_generation{type="Accepted"} 1`,
			`status_condition_last_transition_time{type="Accepted"} ` + t0900,
		}},
	})
}

func TestReferenceGrant(t *testing.T) {
	runKindCase(t, kindCase{
		Group: "gateway.networking.k8s.io", Kind: "ReferenceGrant", Version: "v1",
		Prefix: "gatewayapi_referencegrant_",
		Objects: `apiVersion: gateway.networking.k8s.io/v1
kind: ReferenceGrant
metadata: {name: allow-routes, labels: {team: payments}}
spec:
  from:
  - {group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: apps}
  - {group: gateway.networking.k8s.io, kind: Gateway, namespace: infra}
  to:
  - {group: "", kind: Service}
  - {group: "", kind: Secret, name: api-cert}
`,
		Want: map[string][]string{"allow-routes": {
			`created ${CREATED}`,
			`labels{team="payments"} 1`,
			`deleted 0`,
			`from_info{from_group="gateway.networking.k8s.io",from_kind="Gateway",from_namespace="infra"} 1`,
			`from_info{from_group="gateway.networking.k8s.io",from_kind="HTTPRoute",from_namespace="apps"} 1`,
			`to_info{to_group="",to_kind="Secret",to_name="api-cert"} 1`,
			`to_info{to_group="",to_kind="Service"} 1`,
			`metadata_generation 1`,
		}},
	})
}
