// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package envoygateway

import (
	"slices"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kuadrant/gateway-api-metrics-exporter/internal/envoygateway"
	"github.com/kuadrant/gateway-api-metrics-exporter/internal/harness"
)

// TestExporterAgreesWithController applies the scenario, waits for Envoy
// Gateway's verdicts on it, and requires both collection modes to serve
// exactly the conditions it wrote; then it removes a listener, adds the
// missing ReferenceGrant and deletes the overriding policy while everything
// runs, and requires the same again.
func TestExporterAgreesWithController(t *testing.T) {
	env, _ := envoygateway.Current(t)
	ctx := t.Context()
	env.ApplyYAML(t, "", scenarioYAML)

	// Every opt-in family too: each condition's observedGeneration and
	// lastTransitionTime are held to the controller's statuses as well.
	args := append(slices.Clone(harness.LoopbackArgs), "--kubeconfig="+env.Kubeconfig, "--metric-opt-in-list=.*")
	exporters := []struct {
		mode string
		x    *harness.Exporter
	}{
		{"list", harness.Start(t, "list", args...)},
		{"watch", harness.Start(t, "watch", append(args, "--collection=watch")...)},
	}

	awaitVerdicts(t, env, "initial", initialVerdicts)
	for _, e := range exporters {
		agree(t, env, e.mode, e.x)
	}
	// The attachment graph agrees with the controller's verdicts (graph_test.go).
	for _, e := range exporters {
		graphAgrees(t, env, e.mode, e.x)
	}

	// Changes while the controller and both exporters run.
	gw, err := env.Dynamic().Resource(gatewayKind.gvr()).Namespace(egInfra).Get(ctx, "gw-a", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	listeners, _, _ := unstructured.NestedSlice(gw.Object, "spec", "listeners")
	listeners = slices.DeleteFunc(listeners, func(l any) bool { return l.(map[string]any)["name"] == "same-only" })
	if err := unstructured.SetNestedSlice(gw.Object, listeners, "spec", "listeners"); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Dynamic().Resource(gatewayKind.gvr()).Namespace(egInfra).Update(ctx, gw, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("remove listener same-only: %v", err)
	}
	env.ApplyYAML(t, "", grantRefusedYAML)
	if err := env.Dynamic().Resource(policyKinds[0].gvr()).Namespace(egInfra).Delete(ctx, "ctp-listener", metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete ctp-listener: %v", err)
	}

	awaitVerdicts(t, env, "changed", changedVerdicts)
	for _, e := range exporters {
		agree(t, env, e.mode, e.x)
	}
	// And again after the changes: by-section and refused now name a
	// listener that is gone (ParentNotFound), xns-refused's backend is
	// permitted.
	for _, e := range exporters {
		graphAgrees(t, env, e.mode, e.x)
	}
}

// initialVerdicts and changedVerdicts (format: see verdicts) are Envoy
// Gateway v1.9.1's judgement of the scenario, as first observed, each line
// checked by hand against the Gateway API's rules: they are the controller's
// behaviour, which the exporter is then held to, never the exporter's output.
// They also guard the scenario: each case it claims to make (a refused
// namespace, a missing listener, a reference no grant permits, an overridden
// policy, a target not found) is one the controller saw. Where it differs
// from a reading of the specification, it is Envoy Gateway's own:
//   - gw-a is Accepted=True with reason ListenersNotValid (one listener is
//     invalid, the Gateway is still accepted), and its listeners report
//     Programmed=True while the Gateway is Programmed=False
//     (AddressNotAssigned: no load balancer, no kubelet);
//   - routes carry Envoy Gateway's BackendsAvailable=False(EndpointsNotFound)
//     (no EndpointSlices: no kube-controller-manager) and
//     RouteRulesOverlap=True where two routes on one listener match the same
//     requests; a route whose backend is not permitted has no
//     BackendsAvailable;
//   - a parentRef to a Gateway that does not exist, and a policy whose target
//     does not exist, get no status at all (not a NoMatchingParent or
//     TargetNotFound entry): missing-gateway and sp-missing-route;
//   - a policy on a listener that does not exist gets TargetNotFound against
//     its Gateway's listener (ctp-missing-listener);
//   - a route-level BackendTrafficPolicy's ancestor is the route's parent
//     listener (gw-b/http), and the Gateway-level one it overrides is
//     Overridden=True.
var initialVerdicts = []string{
	"BackendTrafficPolicy eg-infra/btp-gateway ancestor Gateway eg-infra/gw-b: Accepted=True(Accepted) Overridden=True(Overridden)",
	"BackendTrafficPolicy eg-infra/btp-route ancestor Gateway eg-infra/gw-b/http: Accepted=True(Accepted)",
	"ClientTrafficPolicy eg-infra/ctp-gateway ancestor Gateway eg-infra/gw-a: Accepted=True(Accepted) Overridden=True(Overridden)",
	"ClientTrafficPolicy eg-infra/ctp-listener ancestor Gateway eg-infra/gw-a/http: Accepted=True(Accepted)",
	"ClientTrafficPolicy eg-infra/ctp-missing-listener ancestor Gateway eg-infra/gw-b/nope: Accepted=False(TargetNotFound)",
	"GRPCRoute eg-infra/grpc parent eg-infra/gw-a/nope: Accepted=False(NoMatchingParent) BackendsAvailable=False(EndpointsNotFound) ResolvedRefs=True(ResolvedRefs)",
	"GRPCRoute eg-infra/grpc parent eg-infra/gw-b/grpc: Accepted=True(Accepted) BackendsAvailable=False(EndpointsNotFound) ResolvedRefs=True(ResolvedRefs)",
	"Gateway eg-infra/gw-a listener http: Accepted=True(Accepted) Programmed=True(Programmed) ResolvedRefs=True(ResolvedRefs)",
	"Gateway eg-infra/gw-a listener invalid: Accepted=False(UnsupportedProtocol) Programmed=False(Invalid) ResolvedRefs=True(ResolvedRefs)",
	"Gateway eg-infra/gw-a listener same-only: Accepted=True(Accepted) Programmed=True(Programmed) ResolvedRefs=True(ResolvedRefs)",
	"Gateway eg-infra/gw-a: Accepted=True(ListenersNotValid) Programmed=False(AddressNotAssigned)",
	"Gateway eg-infra/gw-b listener grpc: Accepted=True(Accepted) Programmed=True(Programmed) ResolvedRefs=True(ResolvedRefs)",
	"Gateway eg-infra/gw-b listener http: Accepted=True(Accepted) Programmed=True(Programmed) ResolvedRefs=True(ResolvedRefs)",
	"Gateway eg-infra/gw-b: Accepted=True(Accepted) Programmed=False(AddressNotAssigned)",
	"GatewayClass eg-e2e: Accepted=True(Accepted)",
	"HTTPRoute eg-apps/cross-ok parent eg-infra/gw-a/http: Accepted=True(Accepted) BackendsAvailable=False(EndpointsNotFound) ResolvedRefs=True(ResolvedRefs) RouteRulesOverlap=True(RouteRulesOverlap)",
	"HTTPRoute eg-apps/refused parent eg-infra/gw-a/same-only: Accepted=False(NotAllowedByListeners) BackendsAvailable=False(EndpointsNotFound) ResolvedRefs=True(ResolvedRefs)",
	"HTTPRoute eg-infra/by-section parent eg-infra/gw-a/same-only: Accepted=True(Accepted) BackendsAvailable=False(EndpointsNotFound) ResolvedRefs=True(ResolvedRefs) RouteRulesOverlap=True(RouteRulesOverlap)",
	"HTTPRoute eg-infra/direct parent eg-infra/gw-a: Accepted=True(Accepted) BackendsAvailable=False(EndpointsNotFound) ResolvedRefs=True(ResolvedRefs) RouteRulesOverlap=True(RouteRulesOverlap)",
	"HTTPRoute eg-infra/missing-gateway: no status",
	"HTTPRoute eg-infra/missing-listener parent eg-infra/gw-a/nope: Accepted=False(NoMatchingParent) BackendsAvailable=False(EndpointsNotFound) ResolvedRefs=True(ResolvedRefs)",
	"HTTPRoute eg-infra/xns-granted parent eg-infra/gw-b/http: Accepted=True(Accepted) BackendsAvailable=False(EndpointsNotFound) ResolvedRefs=True(ResolvedRefs)",
	"HTTPRoute eg-infra/xns-refused parent eg-infra/gw-b/http: Accepted=True(Accepted) ResolvedRefs=False(RefNotPermitted)",
	"SecurityPolicy eg-infra/sp-missing-route: no status",
	"SecurityPolicy eg-infra/sp-route ancestor Gateway eg-infra/gw-a: Accepted=True(Accepted)",
}

// After the changes: same-only is gone (by-section and refused: Accepted=False
// NoMatchingParent, and by-section no longer overlaps), grant-refused permits
// xns-refused's backend (ResolvedRefs=True, and now BackendsAvailable), and
// ctp-gateway is no longer Overridden once ctp-listener is deleted.
var changedVerdicts = []string{
	"BackendTrafficPolicy eg-infra/btp-gateway ancestor Gateway eg-infra/gw-b: Accepted=True(Accepted) Overridden=True(Overridden)",
	"BackendTrafficPolicy eg-infra/btp-route ancestor Gateway eg-infra/gw-b/http: Accepted=True(Accepted)",
	"ClientTrafficPolicy eg-infra/ctp-gateway ancestor Gateway eg-infra/gw-a: Accepted=True(Accepted)",
	"ClientTrafficPolicy eg-infra/ctp-missing-listener ancestor Gateway eg-infra/gw-b/nope: Accepted=False(TargetNotFound)",
	"GRPCRoute eg-infra/grpc parent eg-infra/gw-a/nope: Accepted=False(NoMatchingParent) BackendsAvailable=False(EndpointsNotFound) ResolvedRefs=True(ResolvedRefs)",
	"GRPCRoute eg-infra/grpc parent eg-infra/gw-b/grpc: Accepted=True(Accepted) BackendsAvailable=False(EndpointsNotFound) ResolvedRefs=True(ResolvedRefs)",
	"Gateway eg-infra/gw-a listener http: Accepted=True(Accepted) Programmed=True(Programmed) ResolvedRefs=True(ResolvedRefs)",
	"Gateway eg-infra/gw-a listener invalid: Accepted=False(UnsupportedProtocol) Programmed=False(Invalid) ResolvedRefs=True(ResolvedRefs)",
	"Gateway eg-infra/gw-a: Accepted=True(ListenersNotValid) Programmed=False(AddressNotAssigned)",
	"Gateway eg-infra/gw-b listener grpc: Accepted=True(Accepted) Programmed=True(Programmed) ResolvedRefs=True(ResolvedRefs)",
	"Gateway eg-infra/gw-b listener http: Accepted=True(Accepted) Programmed=True(Programmed) ResolvedRefs=True(ResolvedRefs)",
	"Gateway eg-infra/gw-b: Accepted=True(Accepted) Programmed=False(AddressNotAssigned)",
	"GatewayClass eg-e2e: Accepted=True(Accepted)",
	"HTTPRoute eg-apps/cross-ok parent eg-infra/gw-a/http: Accepted=True(Accepted) BackendsAvailable=False(EndpointsNotFound) ResolvedRefs=True(ResolvedRefs) RouteRulesOverlap=True(RouteRulesOverlap)",
	"HTTPRoute eg-apps/refused parent eg-infra/gw-a/same-only: Accepted=False(NoMatchingParent) BackendsAvailable=False(EndpointsNotFound) ResolvedRefs=True(ResolvedRefs)",
	"HTTPRoute eg-infra/by-section parent eg-infra/gw-a/same-only: Accepted=False(NoMatchingParent) BackendsAvailable=False(EndpointsNotFound) ResolvedRefs=True(ResolvedRefs)",
	"HTTPRoute eg-infra/direct parent eg-infra/gw-a: Accepted=True(Accepted) BackendsAvailable=False(EndpointsNotFound) ResolvedRefs=True(ResolvedRefs) RouteRulesOverlap=True(RouteRulesOverlap)",
	"HTTPRoute eg-infra/missing-gateway: no status",
	"HTTPRoute eg-infra/missing-listener parent eg-infra/gw-a/nope: Accepted=False(NoMatchingParent) BackendsAvailable=False(EndpointsNotFound) ResolvedRefs=True(ResolvedRefs)",
	"HTTPRoute eg-infra/xns-granted parent eg-infra/gw-b/http: Accepted=True(Accepted) BackendsAvailable=False(EndpointsNotFound) ResolvedRefs=True(ResolvedRefs)",
	"HTTPRoute eg-infra/xns-refused parent eg-infra/gw-b/http: Accepted=True(Accepted) BackendsAvailable=False(EndpointsNotFound) ResolvedRefs=True(ResolvedRefs)",
	"SecurityPolicy eg-infra/sp-missing-route: no status",
	"SecurityPolicy eg-infra/sp-route ancestor Gateway eg-infra/gw-a: Accepted=True(Accepted)",
}
