// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

// One test per kind of the default metrics-spec. Each applies its objects
// (testdata/<kind>.yaml) with their status, scrapes an exporter that sees only
// the test's namespace, and requires exactly the listed sample lines for the
// kind's families (legacy gateway-api-state-metrics families and the new
// nested ones), plus gateway_metrics_up 1 for every kind. ${NS} is the test's
// namespace, ${CREATED:<name>} the object's creationTimestamp in seconds.

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kuadrant/gateway-api-metrics-exporter/internal/harness"
	"github.com/kuadrant/gateway-api-metrics-exporter/internal/testenv"
)

func TestGatewayClass(t *testing.T) {
	runKindCase(t, kindCase{
		File: "gatewayclass.yaml", Group: "gateway.networking.k8s.io", Kind: "GatewayClass", Version: "v1beta1",
		Prefix: "gatewayapi_gatewayclass_",
		Want: []string{
			`gatewayapi_gatewayclass_created{customresource_group="gateway.networking.k8s.io",customresource_kind="GatewayClass",customresource_version="v1beta1",name="${NS}-class"} ${CREATED:${NS}-class}`,
			`gatewayapi_gatewayclass_created{customresource_group="gateway.networking.k8s.io",customresource_kind="GatewayClass",customresource_version="v1beta1",name="${NS}-pending"} ${CREATED:${NS}-pending}`,
			`gatewayapi_gatewayclass_deleted{customresource_group="gateway.networking.k8s.io",customresource_kind="GatewayClass",customresource_version="v1beta1",name="${NS}-class"} 0`,
			`gatewayapi_gatewayclass_deleted{customresource_group="gateway.networking.k8s.io",customresource_kind="GatewayClass",customresource_version="v1beta1",name="${NS}-pending"} 0`,
			`gatewayapi_gatewayclass_info{controller_name="example.com/e2e-controller",customresource_group="gateway.networking.k8s.io",customresource_kind="GatewayClass",customresource_version="v1beta1",name="${NS}-class"} 1`,
			`gatewayapi_gatewayclass_info{controller_name="example.com/other-controller",customresource_group="gateway.networking.k8s.io",customresource_kind="GatewayClass",customresource_version="v1beta1",name="${NS}-pending"} 1`,
			`gatewayapi_gatewayclass_labels{app_kubernetes_io_part_of="e2e",customresource_group="gateway.networking.k8s.io",customresource_kind="GatewayClass",customresource_version="v1beta1",name="${NS}-class",tier="gold"} 1`,
			`gatewayapi_gatewayclass_status_supported_features{customresource_group="gateway.networking.k8s.io",customresource_kind="GatewayClass",customresource_version="v1beta1",features="GRPCRoute",name="${NS}-class"} 1`,
			`gatewayapi_gatewayclass_status_supported_features{customresource_group="gateway.networking.k8s.io",customresource_kind="GatewayClass",customresource_version="v1beta1",features="Gateway",name="${NS}-class"} 1`,
			`gatewayapi_gatewayclass_status_supported_features{customresource_group="gateway.networking.k8s.io",customresource_kind="GatewayClass",customresource_version="v1beta1",features="HTTPRoute",name="${NS}-class"} 1`,
			`gatewayapi_gatewayclass_status{customresource_group="gateway.networking.k8s.io",customresource_kind="GatewayClass",customresource_version="v1beta1",name="${NS}-class",type="Accepted"} 1`,
			`gatewayapi_gatewayclass_status{customresource_group="gateway.networking.k8s.io",customresource_kind="GatewayClass",customresource_version="v1beta1",name="${NS}-class",type="SupportedVersion"} 0`,
			`gatewayapi_gatewayclass_status{customresource_group="gateway.networking.k8s.io",customresource_kind="GatewayClass",customresource_version="v1beta1",name="${NS}-pending",type="Accepted"} 0`,
		},
	})
}

func TestGateway(t *testing.T) {
	lines, _ := runKindCase(t, kindCase{
		File: "gateway.yaml", Group: "gateway.networking.k8s.io", Kind: "Gateway", Version: "v1beta1",
		Prefix: "gatewayapi_gateway_",
		Want: []string{
			`gatewayapi_gateway_created{customresource_group="gateway.networking.k8s.io",customresource_kind="Gateway",customresource_version="v1beta1",name="edge",namespace="${NS}"} ${CREATED:edge}`,
			`gatewayapi_gateway_deleted{customresource_group="gateway.networking.k8s.io",customresource_kind="Gateway",customresource_version="v1beta1",name="edge",namespace="${NS}"} 0`,
			`gatewayapi_gateway_info{customresource_group="gateway.networking.k8s.io",customresource_kind="Gateway",customresource_version="v1beta1",gatewayclass_name="e2e-class",name="edge",namespace="${NS}"} 1`,
			`gatewayapi_gateway_labels{app_kubernetes_io_name="edge",customresource_group="gateway.networking.k8s.io",customresource_kind="Gateway",customresource_version="v1beta1",env="e2e",name="edge",namespace="${NS}"} 1`,
			`gatewayapi_gateway_listener_info{allowed_routes_namespaces_from="All",customresource_group="gateway.networking.k8s.io",customresource_kind="Gateway",customresource_version="v1beta1",hostname="*.example.com",listener_name="http",name="edge",namespace="${NS}",port="80",protocol="HTTP"} 1`,
			`gatewayapi_gateway_listener_info{allowed_routes_namespaces_from="Same",customresource_group="gateway.networking.k8s.io",customresource_kind="Gateway",customresource_version="v1beta1",hostname="api.example.com",listener_name="https",name="edge",namespace="${NS}",port="443",protocol="HTTPS",tls_mode="Terminate"} 1`,
			`gatewayapi_gateway_listener_info{allowed_routes_namespaces_from="Same",customresource_group="gateway.networking.k8s.io",customresource_kind="Gateway",customresource_version="v1beta1",hostname="secure.example.com",listener_name="tls-passthrough",name="edge",namespace="${NS}",port="8443",protocol="TLS",tls_mode="Passthrough"} 1`,
			`gatewayapi_gateway_listener_info{allowed_routes_namespaces_from="Same",customresource_group="gateway.networking.k8s.io",customresource_kind="Gateway",customresource_version="v1beta1",listener_name="postgres",name="edge",namespace="${NS}",port="5432",protocol="TCP"} 1`,
			`gatewayapi_gateway_status_address_info{customresource_group="gateway.networking.k8s.io",customresource_kind="Gateway",customresource_version="v1beta1",name="edge",namespace="${NS}",type="Hostname",value="edge.example.com"} 1`,
			`gatewayapi_gateway_status_address_info{customresource_group="gateway.networking.k8s.io",customresource_kind="Gateway",customresource_version="v1beta1",name="edge",namespace="${NS}",type="IPAddress",value="192.0.2.1"} 1`,
			`gatewayapi_gateway_status_listener_attached_routes{customresource_group="gateway.networking.k8s.io",customresource_kind="Gateway",customresource_version="v1beta1",listener_name="http",name="edge",namespace="${NS}"} 3`,
			`gatewayapi_gateway_status_listener_attached_routes{customresource_group="gateway.networking.k8s.io",customresource_kind="Gateway",customresource_version="v1beta1",listener_name="https",name="edge",namespace="${NS}"} 1`,
			`gatewayapi_gateway_status_listener_attached_routes{customresource_group="gateway.networking.k8s.io",customresource_kind="Gateway",customresource_version="v1beta1",listener_name="postgres",name="edge",namespace="${NS}"} 2`,
			`gatewayapi_gateway_status_listener_attached_routes{customresource_group="gateway.networking.k8s.io",customresource_kind="Gateway",customresource_version="v1beta1",listener_name="tls-passthrough",name="edge",namespace="${NS}"} 0`,
			`gatewayapi_gateway_status_listeners_conditions{customresource_group="gateway.networking.k8s.io",customresource_kind="Gateway",customresource_version="v1beta1",listener_name="http",name="edge",namespace="${NS}",type="Accepted"} 1`,
			`gatewayapi_gateway_status_listeners_conditions{customresource_group="gateway.networking.k8s.io",customresource_kind="Gateway",customresource_version="v1beta1",listener_name="http",name="edge",namespace="${NS}",type="Conflicted"} 0`,
			`gatewayapi_gateway_status_listeners_conditions{customresource_group="gateway.networking.k8s.io",customresource_kind="Gateway",customresource_version="v1beta1",listener_name="http",name="edge",namespace="${NS}",type="Programmed"} 1`,
			`gatewayapi_gateway_status_listeners_conditions{customresource_group="gateway.networking.k8s.io",customresource_kind="Gateway",customresource_version="v1beta1",listener_name="http",name="edge",namespace="${NS}",type="ResolvedRefs"} 1`,
			`gatewayapi_gateway_status_listeners_conditions{customresource_group="gateway.networking.k8s.io",customresource_kind="Gateway",customresource_version="v1beta1",listener_name="https",name="edge",namespace="${NS}",type="Accepted"} 1`,
			`gatewayapi_gateway_status_listeners_conditions{customresource_group="gateway.networking.k8s.io",customresource_kind="Gateway",customresource_version="v1beta1",listener_name="https",name="edge",namespace="${NS}",type="Programmed"} 0`,
			`gatewayapi_gateway_status_listeners_conditions{customresource_group="gateway.networking.k8s.io",customresource_kind="Gateway",customresource_version="v1beta1",listener_name="https",name="edge",namespace="${NS}",type="ResolvedRefs"} 0`,
			`gatewayapi_gateway_status_listeners_conditions{customresource_group="gateway.networking.k8s.io",customresource_kind="Gateway",customresource_version="v1beta1",listener_name="postgres",name="edge",namespace="${NS}",type="Accepted"} 0`,
			`gatewayapi_gateway_status_listeners_conditions{customresource_group="gateway.networking.k8s.io",customresource_kind="Gateway",customresource_version="v1beta1",listener_name="postgres",name="edge",namespace="${NS}",type="Programmed"} 0`,
			`gatewayapi_gateway_status_listeners_conditions{customresource_group="gateway.networking.k8s.io",customresource_kind="Gateway",customresource_version="v1beta1",listener_name="postgres",name="edge",namespace="${NS}",type="ResolvedRefs"} 1`,
			`gatewayapi_gateway_status_listeners_conditions{customresource_group="gateway.networking.k8s.io",customresource_kind="Gateway",customresource_version="v1beta1",listener_name="tls-passthrough",name="edge",namespace="${NS}",type="Accepted"} 1`,
			`gatewayapi_gateway_status_listeners_conditions{customresource_group="gateway.networking.k8s.io",customresource_kind="Gateway",customresource_version="v1beta1",listener_name="tls-passthrough",name="edge",namespace="${NS}",type="Programmed"} 0`,
			`gatewayapi_gateway_status{customresource_group="gateway.networking.k8s.io",customresource_kind="Gateway",customresource_version="v1beta1",name="edge",namespace="${NS}",type="Accepted"} 1`,
			`gatewayapi_gateway_status{customresource_group="gateway.networking.k8s.io",customresource_kind="Gateway",customresource_version="v1beta1",name="edge",namespace="${NS}",type="Programmed"} 0`,
			// supportedKinds without a group: the CRD defaults it.
			`gatewayapi_gateway_status_listeners_supported_kinds_info{customresource_group="gateway.networking.k8s.io",customresource_kind="Gateway",customresource_version="v1beta1",listener_name="http",name="edge",namespace="${NS}",route_group="gateway.networking.k8s.io",route_kind="GRPCRoute"} 1`,
			`gatewayapi_gateway_status_listeners_supported_kinds_info{customresource_group="gateway.networking.k8s.io",customresource_kind="Gateway",customresource_version="v1beta1",listener_name="http",name="edge",namespace="${NS}",route_group="gateway.networking.k8s.io",route_kind="HTTPRoute"} 1`,
			`gatewayapi_gateway_status_listeners_supported_kinds_info{customresource_group="gateway.networking.k8s.io",customresource_kind="Gateway",customresource_version="v1beta1",listener_name="https",name="edge",namespace="${NS}",route_group="gateway.networking.k8s.io",route_kind="HTTPRoute"} 1`,
			`gatewayapi_gateway_status_listeners_supported_kinds_info{customresource_group="gateway.networking.k8s.io",customresource_kind="Gateway",customresource_version="v1beta1",listener_name="postgres",name="edge",namespace="${NS}",route_group="gateway.networking.k8s.io",route_kind="TCPRoute"} 1`,
			`gatewayapi_gateway_status_listeners_supported_kinds_info{customresource_group="gateway.networking.k8s.io",customresource_kind="Gateway",customresource_version="v1beta1",listener_name="tls-passthrough",name="edge",namespace="${NS}",route_group="gateway.networking.k8s.io",route_kind="TLSRoute"} 1`,
		},
	})
	// 4 listeners with 4, 3, 2 and 3 conditions: one line per listener and condition.
	if n := len(named(lines, "gatewayapi_gateway_status_listeners_conditions")); n != 12 {
		t.Errorf("gatewayapi_gateway_status_listeners_conditions has %d lines, want 12", n)
	}
}

func TestHTTPRoute(t *testing.T) {
	lines, x := runKindCase(t, kindCase{
		File: "httproute.yaml", Group: "gateway.networking.k8s.io", Kind: "HTTPRoute", Version: "v1beta1",
		Prefix: "gatewayapi_httproute_",
		Want: []string{
			`gatewayapi_httproute_created{customresource_group="gateway.networking.k8s.io",customresource_kind="HTTPRoute",customresource_version="v1beta1",name="shop",namespace="${NS}"} ${CREATED:shop}`,
			`gatewayapi_httproute_deleted{customresource_group="gateway.networking.k8s.io",customresource_kind="HTTPRoute",customresource_version="v1beta1",name="shop",namespace="${NS}"} 0`,
			`gatewayapi_httproute_hostname_info{customresource_group="gateway.networking.k8s.io",customresource_kind="HTTPRoute",customresource_version="v1beta1",hostname="shop.example.com",name="shop",namespace="${NS}"} 1`,
			`gatewayapi_httproute_hostname_info{customresource_group="gateway.networking.k8s.io",customresource_kind="HTTPRoute",customresource_version="v1beta1",hostname="www.shop.example.com",name="shop",namespace="${NS}"} 1`,
			`gatewayapi_httproute_labels{app="shop",customresource_group="gateway.networking.k8s.io",customresource_kind="HTTPRoute",customresource_version="v1beta1",name="shop",namespace="${NS}"} 1`,
			`gatewayapi_httproute_parent_info{customresource_group="gateway.networking.k8s.io",customresource_kind="HTTPRoute",customresource_version="v1beta1",name="shop",namespace="${NS}",parent_group="gateway.networking.k8s.io",parent_kind="Gateway",parent_name="edge",parent_section_name="http"} 1`,
			`gatewayapi_httproute_parent_info{customresource_group="gateway.networking.k8s.io",customresource_kind="HTTPRoute",customresource_version="v1beta1",name="shop",namespace="${NS}",parent_group="gateway.networking.k8s.io",parent_kind="Gateway",parent_name="edge",parent_section_name="https"} 1`,
			`gatewayapi_httproute_parent_info{customresource_group="gateway.networking.k8s.io",customresource_kind="HTTPRoute",customresource_version="v1beta1",name="shop",namespace="${NS}",parent_group="gateway.networking.k8s.io",parent_kind="Gateway",parent_name="internal",parent_namespace="infra",parent_port="8080"} 1`,
			`gatewayapi_httproute_status_parent_info{controller_name="example.com/e2e-controller",customresource_group="gateway.networking.k8s.io",customresource_kind="HTTPRoute",customresource_version="v1beta1",name="shop",namespace="${NS}",parent_group="gateway.networking.k8s.io",parent_kind="Gateway",parent_name="edge",parent_namespace="${NS}",parent_section_name="http"} 1`,
			`gatewayapi_httproute_status_parent_info{controller_name="example.com/e2e-controller",customresource_group="gateway.networking.k8s.io",customresource_kind="HTTPRoute",customresource_version="v1beta1",name="shop",namespace="${NS}",parent_group="gateway.networking.k8s.io",parent_kind="Gateway",parent_name="edge",parent_namespace="${NS}",parent_section_name="https"} 1`,
			`gatewayapi_httproute_status_parent_info{controller_name="example.com/internal-controller",customresource_group="gateway.networking.k8s.io",customresource_kind="HTTPRoute",customresource_version="v1beta1",name="shop",namespace="${NS}",parent_group="gateway.networking.k8s.io",parent_kind="Gateway",parent_name="internal",parent_namespace="infra",parent_port="8080"} 1`,
			`gatewayapi_httproute_status_parents_conditions{controller_name="example.com/e2e-controller",customresource_group="gateway.networking.k8s.io",customresource_kind="HTTPRoute",customresource_version="v1beta1",name="shop",namespace="${NS}",parent_group="gateway.networking.k8s.io",parent_kind="Gateway",parent_name="edge",parent_namespace="${NS}",parent_section_name="http",type="Accepted"} 1`,
			`gatewayapi_httproute_status_parents_conditions{controller_name="example.com/e2e-controller",customresource_group="gateway.networking.k8s.io",customresource_kind="HTTPRoute",customresource_version="v1beta1",name="shop",namespace="${NS}",parent_group="gateway.networking.k8s.io",parent_kind="Gateway",parent_name="edge",parent_namespace="${NS}",parent_section_name="http",type="ResolvedRefs"} 1`,
			`gatewayapi_httproute_status_parents_conditions{controller_name="example.com/e2e-controller",customresource_group="gateway.networking.k8s.io",customresource_kind="HTTPRoute",customresource_version="v1beta1",name="shop",namespace="${NS}",parent_group="gateway.networking.k8s.io",parent_kind="Gateway",parent_name="edge",parent_namespace="${NS}",parent_section_name="http",type="kuadrant.io/AuthPolicyAffected"} 1`,
			`gatewayapi_httproute_status_parents_conditions{controller_name="example.com/e2e-controller",customresource_group="gateway.networking.k8s.io",customresource_kind="HTTPRoute",customresource_version="v1beta1",name="shop",namespace="${NS}",parent_group="gateway.networking.k8s.io",parent_kind="Gateway",parent_name="edge",parent_namespace="${NS}",parent_section_name="https",type="Accepted"} 1`,
			`gatewayapi_httproute_status_parents_conditions{controller_name="example.com/e2e-controller",customresource_group="gateway.networking.k8s.io",customresource_kind="HTTPRoute",customresource_version="v1beta1",name="shop",namespace="${NS}",parent_group="gateway.networking.k8s.io",parent_kind="Gateway",parent_name="edge",parent_namespace="${NS}",parent_section_name="https",type="ResolvedRefs"} 0`,
			`gatewayapi_httproute_status_parents_conditions{controller_name="example.com/internal-controller",customresource_group="gateway.networking.k8s.io",customresource_kind="HTTPRoute",customresource_version="v1beta1",name="shop",namespace="${NS}",parent_group="gateway.networking.k8s.io",parent_kind="Gateway",parent_name="internal",parent_namespace="infra",parent_port="8080",type="Accepted"} 0`,
			`gatewayapi_httproute_status_parents_conditions{controller_name="example.com/internal-controller",customresource_group="gateway.networking.k8s.io",customresource_kind="HTTPRoute",customresource_version="v1beta1",name="shop",namespace="${NS}",parent_group="gateway.networking.k8s.io",parent_kind="Gateway",parent_name="internal",parent_namespace="infra",parent_port="8080",type="ResolvedRefs"} 0`,
		},
	})
	// Three parents, two of them the same Gateway told apart only by
	// sectionName: one series per parent and condition (3+2+2), none merged
	// or dropped as a duplicate.
	if n := len(named(lines, "gatewayapi_httproute_status_parents_conditions")); n != 7 {
		t.Errorf("gatewayapi_httproute_status_parents_conditions has %d lines, want 7 (parents x conditions)", n)
	}
	if n := len(named(lines, "gatewayapi_httproute_status_parent_info")); n != 3 {
		t.Errorf("gatewayapi_httproute_status_parent_info has %d lines, want 3", n)
	}
	tel := x.get(t, x.TelemetryURL+"/metrics")
	counted := 0
	for _, l := range harness.SampleLines(tel.Body) {
		if !strings.HasPrefix(l, `gateway_metrics_family_duplicates{family="gatewayapi_httproute_`) {
			continue
		}
		counted++
		if !strings.HasSuffix(l, " 0") {
			t.Errorf("the exporter dropped duplicate HTTPRoute series: %s", l)
		}
	}
	if counted == 0 {
		t.Error("no gateway_metrics_family_duplicates for the HTTPRoute families on the telemetry port")
	}
}

func TestGRPCRoute(t *testing.T) {
	runKindCase(t, kindCase{
		File: "grpcroute.yaml", Group: "gateway.networking.k8s.io", Kind: "GRPCRoute", Version: "v1",
		Prefix: "gatewayapi_grpcroute_",
		Want: []string{
			`gatewayapi_grpcroute_created{customresource_group="gateway.networking.k8s.io",customresource_kind="GRPCRoute",customresource_version="v1",name="greeter",namespace="${NS}"} ${CREATED:greeter}`,
			`gatewayapi_grpcroute_deleted{customresource_group="gateway.networking.k8s.io",customresource_kind="GRPCRoute",customresource_version="v1",name="greeter",namespace="${NS}"} 0`,
			`gatewayapi_grpcroute_hostname_info{customresource_group="gateway.networking.k8s.io",customresource_kind="GRPCRoute",customresource_version="v1",hostname="grpc.example.com",name="greeter",namespace="${NS}"} 1`,
			`gatewayapi_grpcroute_labels{app="greeter",customresource_group="gateway.networking.k8s.io",customresource_kind="GRPCRoute",customresource_version="v1",name="greeter",namespace="${NS}"} 1`,
			`gatewayapi_grpcroute_parent_info{customresource_group="gateway.networking.k8s.io",customresource_kind="GRPCRoute",customresource_version="v1",name="greeter",namespace="${NS}",parent_group="gateway.networking.k8s.io",parent_kind="Gateway",parent_name="edge",parent_section_name="http"} 1`,
			`gatewayapi_grpcroute_status_parent_info{controller_name="example.com/e2e-controller",customresource_group="gateway.networking.k8s.io",customresource_kind="GRPCRoute",customresource_version="v1",name="greeter",namespace="${NS}",parent_group="gateway.networking.k8s.io",parent_kind="Gateway",parent_name="edge",parent_namespace="${NS}",parent_section_name="http"} 1`,
			`gatewayapi_grpcroute_status_parents_conditions{controller_name="example.com/e2e-controller",customresource_group="gateway.networking.k8s.io",customresource_kind="GRPCRoute",customresource_version="v1",name="greeter",namespace="${NS}",parent_group="gateway.networking.k8s.io",parent_kind="Gateway",parent_name="edge",parent_namespace="${NS}",parent_section_name="http",type="Accepted"} 1`,
			`gatewayapi_grpcroute_status_parents_conditions{controller_name="example.com/e2e-controller",customresource_group="gateway.networking.k8s.io",customresource_kind="GRPCRoute",customresource_version="v1",name="greeter",namespace="${NS}",parent_group="gateway.networking.k8s.io",parent_kind="Gateway",parent_name="edge",parent_namespace="${NS}",parent_section_name="http",type="ResolvedRefs"} 0`,
		},
	})
}

func TestTLSRoute(t *testing.T) {
	runKindCase(t, kindCase{
		File: "tlsroute.yaml", Group: "gateway.networking.k8s.io", Kind: "TLSRoute", Version: "v1",
		Prefix: "gatewayapi_tlsroute_",
		Want: []string{
			`gatewayapi_tlsroute_created{customresource_group="gateway.networking.k8s.io",customresource_kind="TLSRoute",customresource_version="v1",name="vault",namespace="${NS}"} ${CREATED:vault}`,
			`gatewayapi_tlsroute_deleted{customresource_group="gateway.networking.k8s.io",customresource_kind="TLSRoute",customresource_version="v1",name="vault",namespace="${NS}"} 0`,
			`gatewayapi_tlsroute_hostname_info{customresource_group="gateway.networking.k8s.io",customresource_kind="TLSRoute",customresource_version="v1",hostname="vault.example.com",name="vault",namespace="${NS}"} 1`,
			`gatewayapi_tlsroute_parent_info{customresource_group="gateway.networking.k8s.io",customresource_kind="TLSRoute",customresource_version="v1",name="vault",namespace="${NS}",parent_group="gateway.networking.k8s.io",parent_kind="Gateway",parent_name="edge",parent_section_name="tls-passthrough"} 1`,
			`gatewayapi_tlsroute_status_parent_info{controller_name="example.com/e2e-controller",customresource_group="gateway.networking.k8s.io",customresource_kind="TLSRoute",customresource_version="v1",name="vault",namespace="${NS}",parent_group="gateway.networking.k8s.io",parent_kind="Gateway",parent_name="edge",parent_namespace="${NS}",parent_section_name="tls-passthrough"} 1`,
			`gatewayapi_tlsroute_status_parents_conditions{controller_name="example.com/e2e-controller",customresource_group="gateway.networking.k8s.io",customresource_kind="TLSRoute",customresource_version="v1",name="vault",namespace="${NS}",parent_group="gateway.networking.k8s.io",parent_kind="Gateway",parent_name="edge",parent_namespace="${NS}",parent_section_name="tls-passthrough",type="Accepted"} 1`,
			`gatewayapi_tlsroute_status_parents_conditions{controller_name="example.com/e2e-controller",customresource_group="gateway.networking.k8s.io",customresource_kind="TLSRoute",customresource_version="v1",name="vault",namespace="${NS}",parent_group="gateway.networking.k8s.io",parent_kind="Gateway",parent_name="edge",parent_namespace="${NS}",parent_section_name="tls-passthrough",type="ResolvedRefs"} 1`,
		},
	})
}

func TestTCPRoute(t *testing.T) {
	runKindCase(t, kindCase{
		File: "tcproute.yaml", Group: "gateway.networking.k8s.io", Kind: "TCPRoute", Version: "v1",
		Prefix: "gatewayapi_tcproute_",
		Want: []string{
			`gatewayapi_tcproute_created{customresource_group="gateway.networking.k8s.io",customresource_kind="TCPRoute",customresource_version="v1",name="postgres",namespace="${NS}"} ${CREATED:postgres}`,
			`gatewayapi_tcproute_deleted{customresource_group="gateway.networking.k8s.io",customresource_kind="TCPRoute",customresource_version="v1",name="postgres",namespace="${NS}"} 0`,
			`gatewayapi_tcproute_labels{customresource_group="gateway.networking.k8s.io",customresource_kind="TCPRoute",customresource_version="v1",db="postgres",name="postgres",namespace="${NS}"} 1`,
			`gatewayapi_tcproute_parent_info{customresource_group="gateway.networking.k8s.io",customresource_kind="TCPRoute",customresource_version="v1",name="postgres",namespace="${NS}",parent_group="gateway.networking.k8s.io",parent_kind="Gateway",parent_name="edge",parent_section_name="postgres"} 1`,
			`gatewayapi_tcproute_status_parent_info{controller_name="example.com/e2e-controller",customresource_group="gateway.networking.k8s.io",customresource_kind="TCPRoute",customresource_version="v1",name="postgres",namespace="${NS}",parent_group="gateway.networking.k8s.io",parent_kind="Gateway",parent_name="edge",parent_namespace="${NS}",parent_section_name="postgres"} 1`,
			`gatewayapi_tcproute_status_parents_conditions{controller_name="example.com/e2e-controller",customresource_group="gateway.networking.k8s.io",customresource_kind="TCPRoute",customresource_version="v1",name="postgres",namespace="${NS}",parent_group="gateway.networking.k8s.io",parent_kind="Gateway",parent_name="edge",parent_namespace="${NS}",parent_section_name="postgres",type="Accepted"} 0`,
			`gatewayapi_tcproute_status_parents_conditions{controller_name="example.com/e2e-controller",customresource_group="gateway.networking.k8s.io",customresource_kind="TCPRoute",customresource_version="v1",name="postgres",namespace="${NS}",parent_group="gateway.networking.k8s.io",parent_kind="Gateway",parent_name="edge",parent_namespace="${NS}",parent_section_name="postgres",type="ResolvedRefs"} 1`,
		},
	})
}

func TestUDPRoute(t *testing.T) {
	runKindCase(t, kindCase{
		File: "udproute.yaml", Group: "gateway.networking.k8s.io", Kind: "UDPRoute", Version: "v1",
		Prefix: "gatewayapi_udproute_",
		Want: []string{
			`gatewayapi_udproute_created{customresource_group="gateway.networking.k8s.io",customresource_kind="UDPRoute",customresource_version="v1",name="dns",namespace="${NS}"} ${CREATED:dns}`,
			`gatewayapi_udproute_deleted{customresource_group="gateway.networking.k8s.io",customresource_kind="UDPRoute",customresource_version="v1",name="dns",namespace="${NS}"} 0`,
			`gatewayapi_udproute_parent_info{customresource_group="gateway.networking.k8s.io",customresource_kind="UDPRoute",customresource_version="v1",name="dns",namespace="${NS}",parent_group="gateway.networking.k8s.io",parent_kind="Gateway",parent_name="edge",parent_port="53"} 1`,
			`gatewayapi_udproute_status_parent_info{controller_name="example.com/e2e-controller",customresource_group="gateway.networking.k8s.io",customresource_kind="UDPRoute",customresource_version="v1",name="dns",namespace="${NS}",parent_group="gateway.networking.k8s.io",parent_kind="Gateway",parent_name="edge",parent_namespace="${NS}",parent_port="53"} 1`,
			`gatewayapi_udproute_status_parents_conditions{controller_name="example.com/e2e-controller",customresource_group="gateway.networking.k8s.io",customresource_kind="UDPRoute",customresource_version="v1",name="dns",namespace="${NS}",parent_group="gateway.networking.k8s.io",parent_kind="Gateway",parent_name="edge",parent_namespace="${NS}",parent_port="53",type="Accepted"} 1`,
			`gatewayapi_udproute_status_parents_conditions{controller_name="example.com/e2e-controller",customresource_group="gateway.networking.k8s.io",customresource_kind="UDPRoute",customresource_version="v1",name="dns",namespace="${NS}",parent_group="gateway.networking.k8s.io",parent_kind="Gateway",parent_name="edge",parent_namespace="${NS}",parent_port="53",type="ResolvedRefs"} 1`,
		},
	})
}

func TestBackendTLSPolicy(t *testing.T) {
	runKindCase(t, kindCase{
		File: "backendtlspolicy.yaml", Group: "gateway.networking.k8s.io", Kind: "BackendTLSPolicy", Version: "v1",
		Prefix: "gatewayapi_backendtlspolicy_",
		Want: []string{
			`gatewayapi_backendtlspolicy_created{customresource_group="gateway.networking.k8s.io",customresource_kind="BackendTLSPolicy",customresource_version="v1",name="cart-tls",namespace="${NS}"} ${CREATED:cart-tls}`,
			`gatewayapi_backendtlspolicy_deleted{customresource_group="gateway.networking.k8s.io",customresource_kind="BackendTLSPolicy",customresource_version="v1",name="cart-tls",namespace="${NS}"} 0`,
			`gatewayapi_backendtlspolicy_labels{app="cart",customresource_group="gateway.networking.k8s.io",customresource_kind="BackendTLSPolicy",customresource_version="v1",name="cart-tls",namespace="${NS}"} 1`,
			`gatewayapi_backendtlspolicy_status_ancestors_conditions{ancestor_group="gateway.networking.k8s.io",ancestor_kind="Gateway",ancestor_name="edge",ancestor_namespace="${NS}",ancestor_section_name="https",controller_name="example.com/e2e-controller",customresource_group="gateway.networking.k8s.io",customresource_kind="BackendTLSPolicy",customresource_version="v1",name="cart-tls",namespace="${NS}",type="Accepted"} 1`,
			`gatewayapi_backendtlspolicy_status_ancestors_conditions{ancestor_group="gateway.networking.k8s.io",ancestor_kind="Gateway",ancestor_name="edge",ancestor_namespace="${NS}",controller_name="example.com/e2e-controller",customresource_group="gateway.networking.k8s.io",customresource_kind="BackendTLSPolicy",customresource_version="v1",name="cart-tls",namespace="${NS}",type="Accepted"} 1`,
			`gatewayapi_backendtlspolicy_status_ancestors_conditions{ancestor_group="gateway.networking.k8s.io",ancestor_kind="Gateway",ancestor_name="edge",ancestor_namespace="${NS}",controller_name="example.com/e2e-controller",customresource_group="gateway.networking.k8s.io",customresource_kind="BackendTLSPolicy",customresource_version="v1",name="cart-tls",namespace="${NS}",type="ResolvedRefs"} 0`,
			`gatewayapi_backendtlspolicy_target_info{customresource_group="gateway.networking.k8s.io",customresource_kind="BackendTLSPolicy",customresource_version="v1",name="cart-tls",namespace="${NS}",target_group="",target_kind="Service",target_name="cart",target_section_name="https"} 1`,
			`gatewayapi_backendtlspolicy_target_info{customresource_group="gateway.networking.k8s.io",customresource_kind="BackendTLSPolicy",customresource_version="v1",name="cart-tls",namespace="${NS}",target_group="",target_kind="Service",target_name="payments"} 1`,
		},
	})
}

func TestListenerSet(t *testing.T) {
	runKindCase(t, kindCase{
		File: "listenerset.yaml", Group: "gateway.networking.k8s.io", Kind: "ListenerSet", Version: "v1",
		Prefix: "gatewayapi_listenerset_",
		Want: []string{
			`gatewayapi_listenerset_created{customresource_group="gateway.networking.k8s.io",customresource_kind="ListenerSet",customresource_version="v1",name="extra",namespace="${NS}"} ${CREATED:extra}`,
			`gatewayapi_listenerset_deleted{customresource_group="gateway.networking.k8s.io",customresource_kind="ListenerSet",customresource_version="v1",name="extra",namespace="${NS}"} 0`,
			`gatewayapi_listenerset_info{customresource_group="gateway.networking.k8s.io",customresource_kind="ListenerSet",customresource_version="v1",name="extra",namespace="${NS}",parent_group="gateway.networking.k8s.io",parent_kind="Gateway",parent_name="edge"} 1`,
			`gatewayapi_listenerset_labels{customresource_group="gateway.networking.k8s.io",customresource_kind="ListenerSet",customresource_version="v1",name="extra",namespace="${NS}",team="payments"} 1`,
			`gatewayapi_listenerset_listener_info{allowed_routes_namespaces_from="All",customresource_group="gateway.networking.k8s.io",customresource_kind="ListenerSet",customresource_version="v1",hostname="secure-extra.example.com",listener_name="extra-https",name="extra",namespace="${NS}",port="8443",protocol="HTTPS",tls_mode="Terminate"} 1`,
			`gatewayapi_listenerset_listener_info{allowed_routes_namespaces_from="Same",customresource_group="gateway.networking.k8s.io",customresource_kind="ListenerSet",customresource_version="v1",hostname="extra.example.com",listener_name="extra-http",name="extra",namespace="${NS}",port="8080",protocol="HTTP"} 1`,
			`gatewayapi_listenerset_status_listener_attached_routes{customresource_group="gateway.networking.k8s.io",customresource_kind="ListenerSet",customresource_version="v1",listener_name="extra-http",name="extra",namespace="${NS}"} 4`,
			`gatewayapi_listenerset_status_listener_attached_routes{customresource_group="gateway.networking.k8s.io",customresource_kind="ListenerSet",customresource_version="v1",listener_name="extra-https",name="extra",namespace="${NS}"} 0`,
			`gatewayapi_listenerset_status_listeners_conditions{customresource_group="gateway.networking.k8s.io",customresource_kind="ListenerSet",customresource_version="v1",listener_name="extra-http",name="extra",namespace="${NS}",type="Accepted"} 1`,
			`gatewayapi_listenerset_status_listeners_conditions{customresource_group="gateway.networking.k8s.io",customresource_kind="ListenerSet",customresource_version="v1",listener_name="extra-http",name="extra",namespace="${NS}",type="Programmed"} 1`,
			`gatewayapi_listenerset_status_listeners_conditions{customresource_group="gateway.networking.k8s.io",customresource_kind="ListenerSet",customresource_version="v1",listener_name="extra-https",name="extra",namespace="${NS}",type="Accepted"} 1`,
			`gatewayapi_listenerset_status_listeners_conditions{customresource_group="gateway.networking.k8s.io",customresource_kind="ListenerSet",customresource_version="v1",listener_name="extra-https",name="extra",namespace="${NS}",type="ResolvedRefs"} 0`,
			`gatewayapi_listenerset_status{customresource_group="gateway.networking.k8s.io",customresource_kind="ListenerSet",customresource_version="v1",name="extra",namespace="${NS}",type="Accepted"} 1`,
			`gatewayapi_listenerset_status{customresource_group="gateway.networking.k8s.io",customresource_kind="ListenerSet",customresource_version="v1",name="extra",namespace="${NS}",type="Programmed"} 0`,
			`gatewayapi_listenerset_status_listeners_supported_kinds_info{customresource_group="gateway.networking.k8s.io",customresource_kind="ListenerSet",customresource_version="v1",listener_name="extra-http",name="extra",namespace="${NS}",route_group="gateway.networking.k8s.io",route_kind="HTTPRoute"} 1`,
			`gatewayapi_listenerset_status_listeners_supported_kinds_info{customresource_group="gateway.networking.k8s.io",customresource_kind="ListenerSet",customresource_version="v1",listener_name="extra-https",name="extra",namespace="${NS}",route_group="gateway.networking.k8s.io",route_kind="HTTPRoute"} 1`,
		},
	})
}

func TestAuthPolicy(t *testing.T) {
	runKindCase(t, kindCase{
		File: "authpolicy.yaml", Group: "kuadrant.io", Kind: "AuthPolicy", Version: "v1",
		Prefix:  "gatewayapi_authpolicy_",
		Prepare: deleteHeld("edge-auth"),
		Want: []string{
			`gatewayapi_authpolicy_created{customresource_group="kuadrant.io",customresource_kind="AuthPolicy",customresource_version="v1",name="edge-auth",namespace="${NS}"} ${CREATED:edge-auth}`,
			`gatewayapi_authpolicy_created{customresource_group="kuadrant.io",customresource_kind="AuthPolicy",customresource_version="v1",name="shop-auth",namespace="${NS}"} ${CREATED:shop-auth}`,
			`gatewayapi_authpolicy_deleted{customresource_group="kuadrant.io",customresource_kind="AuthPolicy",customresource_version="v1",name="edge-auth",namespace="${NS}"} ${DELETED:edge-auth}`,
			`gatewayapi_authpolicy_labels{app="shop",customresource_group="kuadrant.io",customresource_kind="AuthPolicy",customresource_version="v1",kuadrant_io_managed="true",name="shop-auth",namespace="${NS}"} 1`,
			`gatewayapi_authpolicy_status{customresource_group="kuadrant.io",customresource_kind="AuthPolicy",customresource_version="v1",name="edge-auth",namespace="${NS}",type="Accepted"} 1`,
			`gatewayapi_authpolicy_status{customresource_group="kuadrant.io",customresource_kind="AuthPolicy",customresource_version="v1",name="edge-auth",namespace="${NS}",type="Enforced"} 1`,
			`gatewayapi_authpolicy_status{customresource_group="kuadrant.io",customresource_kind="AuthPolicy",customresource_version="v1",name="shop-auth",namespace="${NS}",type="Accepted"} 1`,
			`gatewayapi_authpolicy_status{customresource_group="kuadrant.io",customresource_kind="AuthPolicy",customresource_version="v1",name="shop-auth",namespace="${NS}",type="Enforced"} 0`,
			`gatewayapi_authpolicy_target_info{customresource_group="kuadrant.io",customresource_kind="AuthPolicy",customresource_version="v1",name="edge-auth",namespace="${NS}",target_group="gateway.networking.k8s.io",target_kind="Gateway",target_name="edge",target_section_name="https"} 1`,
			`gatewayapi_authpolicy_target_info{customresource_group="kuadrant.io",customresource_kind="AuthPolicy",customresource_version="v1",name="shop-auth",namespace="${NS}",target_group="gateway.networking.k8s.io",target_kind="HTTPRoute",target_name="shop"} 1`,
		},
	})
}

func TestRateLimitPolicy(t *testing.T) {
	runKindCase(t, kindCase{
		File: "ratelimitpolicy.yaml", Group: "kuadrant.io", Kind: "RateLimitPolicy", Version: "v1",
		Prefix: "gatewayapi_ratelimitpolicy_",
		Want: []string{
			`gatewayapi_ratelimitpolicy_created{customresource_group="kuadrant.io",customresource_kind="RateLimitPolicy",customresource_version="v1",name="shop-limits",namespace="${NS}"} ${CREATED:shop-limits}`,
			`gatewayapi_ratelimitpolicy_labels{app="shop",customresource_group="kuadrant.io",customresource_kind="RateLimitPolicy",customresource_version="v1",name="shop-limits",namespace="${NS}"} 1`,
			`gatewayapi_ratelimitpolicy_status{customresource_group="kuadrant.io",customresource_kind="RateLimitPolicy",customresource_version="v1",name="shop-limits",namespace="${NS}",type="Accepted"} 1`,
			`gatewayapi_ratelimitpolicy_status{customresource_group="kuadrant.io",customresource_kind="RateLimitPolicy",customresource_version="v1",name="shop-limits",namespace="${NS}",type="Enforced"} 1`,
			`gatewayapi_ratelimitpolicy_status{customresource_group="kuadrant.io",customresource_kind="RateLimitPolicy",customresource_version="v1",name="shop-limits",namespace="${NS}",type="kuadrant.io/LimitadorReady"} 0`,
			`gatewayapi_ratelimitpolicy_target_info{customresource_group="kuadrant.io",customresource_kind="RateLimitPolicy",customresource_version="v1",name="shop-limits",namespace="${NS}",target_group="gateway.networking.k8s.io",target_kind="HTTPRoute",target_name="shop"} 1`,
		},
	})
}

func TestDNSPolicy(t *testing.T) {
	runKindCase(t, kindCase{
		File: "dnspolicy.yaml", Group: "kuadrant.io", Kind: "DNSPolicy", Version: "v1",
		Prefix: "gatewayapi_dnspolicy_",
		Want: []string{
			`gatewayapi_dnspolicy_created{customresource_group="kuadrant.io",customresource_kind="DNSPolicy",customresource_version="v1",name="edge-dns",namespace="${NS}"} ${CREATED:edge-dns}`,
			`gatewayapi_dnspolicy_status{customresource_group="kuadrant.io",customresource_kind="DNSPolicy",customresource_version="v1",name="edge-dns",namespace="${NS}",type="Accepted"} 1`,
			`gatewayapi_dnspolicy_status{customresource_group="kuadrant.io",customresource_kind="DNSPolicy",customresource_version="v1",name="edge-dns",namespace="${NS}",type="Enforced"} 0`,
			`gatewayapi_dnspolicy_status{customresource_group="kuadrant.io",customresource_kind="DNSPolicy",customresource_version="v1",name="edge-dns",namespace="${NS}",type="SubResourcesHealthy"} 0`,
			`gatewayapi_dnspolicy_target_info{customresource_group="kuadrant.io",customresource_kind="DNSPolicy",customresource_version="v1",name="edge-dns",namespace="${NS}",target_group="gateway.networking.k8s.io",target_kind="Gateway",target_name="edge",target_section_name="https"} 1`,
			`gatewayapi_dnspolicy_status_total_records{customresource_group="kuadrant.io",customresource_kind="DNSPolicy",customresource_version="v1",name="edge-dns",namespace="${NS}"} 2`,
		},
	})
}

func TestTLSPolicy(t *testing.T) {
	runKindCase(t, kindCase{
		File: "tlspolicy.yaml", Group: "kuadrant.io", Kind: "TLSPolicy", Version: "v1",
		Prefix: "gatewayapi_tlspolicy_",
		Want: []string{
			`gatewayapi_tlspolicy_created{customresource_group="kuadrant.io",customresource_kind="TLSPolicy",customresource_version="v1",name="edge-tls",namespace="${NS}"} ${CREATED:edge-tls}`,
			`gatewayapi_tlspolicy_labels{customresource_group="kuadrant.io",customresource_kind="TLSPolicy",customresource_version="v1",issuer="letsencrypt",name="edge-tls",namespace="${NS}"} 1`,
			`gatewayapi_tlspolicy_status{customresource_group="kuadrant.io",customresource_kind="TLSPolicy",customresource_version="v1",name="edge-tls",namespace="${NS}",type="Accepted"} 1`,
			`gatewayapi_tlspolicy_status{customresource_group="kuadrant.io",customresource_kind="TLSPolicy",customresource_version="v1",name="edge-tls",namespace="${NS}",type="Enforced"} 1`,
			`gatewayapi_tlspolicy_target_info{customresource_group="kuadrant.io",customresource_kind="TLSPolicy",customresource_version="v1",name="edge-tls",namespace="${NS}",target_group="gateway.networking.k8s.io",target_kind="Gateway",target_name="edge"} 1`,
		},
	})
}

func TestDNSRecord(t *testing.T) {
	runKindCase(t, kindCase{
		File: "dnsrecord.yaml", Group: "kuadrant.io", Kind: "DNSRecord", Version: "v1alpha1",
		Prefix: "kuadrant_dnsrecord_",
		Want: []string{
			`kuadrant_dnsrecord_created{customresource_group="kuadrant.io",customresource_kind="DNSRecord",customresource_version="v1alpha1",name="edge-api",namespace="${NS}",rootDomain="api.example.com"} ${CREATED:edge-api}`,
			`kuadrant_dnsrecord_created{customresource_group="kuadrant.io",customresource_kind="DNSRecord",customresource_version="v1alpha1",name="edge-www",namespace="${NS}",rootDomain="www.example.com"} ${CREATED:edge-www}`,
			`kuadrant_dnsrecord_status_root_domain_owners{customresource_group="kuadrant.io",customresource_kind="DNSRecord",customresource_version="v1alpha1",name="edge-api",namespace="${NS}",owner="owner1a2b",rootDomain="api.example.com"} 1`,
			`kuadrant_dnsrecord_status_root_domain_owners{customresource_group="kuadrant.io",customresource_kind="DNSRecord",customresource_version="v1alpha1",name="edge-api",namespace="${NS}",owner="owner3c4d",rootDomain="api.example.com"} 1`,
			`kuadrant_dnsrecord_status{customresource_group="kuadrant.io",customresource_kind="DNSRecord",customresource_version="v1alpha1",name="edge-api",namespace="${NS}",rootDomain="api.example.com",type="Healthy"} 0`,
			`kuadrant_dnsrecord_status{customresource_group="kuadrant.io",customresource_kind="DNSRecord",customresource_version="v1alpha1",name="edge-api",namespace="${NS}",rootDomain="api.example.com",type="Ready"} 1`,
		},
	})
}

func TestDNSHealthCheckProbe(t *testing.T) {
	runKindCase(t, kindCase{
		File: "dnshealthcheckprobe.yaml", Group: "kuadrant.io", Kind: "DNSHealthCheckProbe", Version: "v1alpha1",
		Prefix: "kuadrant_dnshealthcheckprobe_",
		Want: []string{
			`kuadrant_dnshealthcheckprobe_healthy_status{customresource_group="kuadrant.io",customresource_kind="DNSHealthCheckProbe",customresource_version="v1alpha1",name="edge-api-192.0.2.1",namespace="${NS}"} 1`,
			`kuadrant_dnshealthcheckprobe_healthy_status{customresource_group="kuadrant.io",customresource_kind="DNSHealthCheckProbe",customresource_version="v1alpha1",name="edge-api-192.0.2.2",namespace="${NS}"} 0`,
			`kuadrant_dnshealthcheckprobe_status_consecutive_failures{customresource_group="kuadrant.io",customresource_kind="DNSHealthCheckProbe",customresource_version="v1alpha1",name="edge-api-192.0.2.1",namespace="${NS}"} 0`,
			`kuadrant_dnshealthcheckprobe_status_consecutive_failures{customresource_group="kuadrant.io",customresource_kind="DNSHealthCheckProbe",customresource_version="v1alpha1",name="edge-api-192.0.2.2",namespace="${NS}"} 4`,
			`kuadrant_dnshealthcheckprobe_spec_failure_threshold{customresource_group="kuadrant.io",customresource_kind="DNSHealthCheckProbe",customresource_version="v1alpha1",name="edge-api-192.0.2.1",namespace="${NS}"} 3`,
			`kuadrant_dnshealthcheckprobe_spec_failure_threshold{customresource_group="kuadrant.io",customresource_kind="DNSHealthCheckProbe",customresource_version="v1alpha1",name="edge-api-192.0.2.2",namespace="${NS}"} 3`,
			`kuadrant_dnshealthcheckprobe_spec_failure_threshold{customresource_group="kuadrant.io",customresource_kind="DNSHealthCheckProbe",customresource_version="v1alpha1",name="edge-api-192.0.2.3",namespace="${NS}"} 3`,
		},
	})
}

// deleteHeld deletes the named object, which a finalizer keeps, and returns
// ${DELETED:<name>}: its deletionTimestamp in seconds.
func deleteHeld(name string) func(*testing.T, *testenv.Env, string, []*unstructured.Unstructured) []string {
	return func(t *testing.T, env *testenv.Env, ns string, objs []*unstructured.Unstructured) []string {
		t.Helper()
		ctx := ctxFor(t)
		for _, o := range objs {
			if o.GetName() != name {
				continue
			}
			ri, err := env.ResourceFor(ctx, o)
			if err != nil {
				t.Fatal(err)
			}
			if err := ri.Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
				t.Fatalf("delete %s: %v", name, err)
			}
			got, err := ri.Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				t.Fatalf("get %s after delete (held by a finalizer): %v", name, err)
			}
			dt := got.GetDeletionTimestamp()
			if dt == nil {
				t.Fatalf("%s has no deletionTimestamp after delete", name)
			}
			return []string{"${DELETED:" + name + "}", fmtSeconds(dt.Time)}
		}
		t.Fatalf("no object %s", name)
		return nil
	}
}

func fmtSeconds(ts time.Time) string {
	return created(&unstructured.Unstructured{Object: map[string]any{"metadata": map[string]any{
		"creationTimestamp": ts.UTC().Format(time.RFC3339)}}})
}
