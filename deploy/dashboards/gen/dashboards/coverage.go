// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package dashboards

import (
	"fmt"
	"strings"
)

// RouteWithoutPolicy is the PromQL that lists the routes of routeKind
// (HTTPRoute, GRPCRoute) that no Kuadrant policy of policyKind (AuthPolicy,
// RateLimitPolicy) covers. The alerts in deploy/rules/alerts.yaml carry the
// same expression (deploy/test checks it), so a dashboard table and the alert
// always name the same routes. routeSelector (e.g. `name=~"$httproute"`, or
// "") narrows the routes listed.
//
// A route is covered when
//   - one of its parents reports kuadrant.io/<policyKind>Affected True (what
//     Kuadrant itself computed, as the design RFC suggests); or
//   - a policy targets the route: targetRef carries no namespace in Kuadrant's
//     policies, so the target is in the policy's own namespace
//     (target_namespace, when a targetRef has one, wins); or
//   - a policy targets a Gateway the route names in spec.parentRefs (the
//     parentRef's namespace defaults to the route's, the policy's to its own):
//     the whole Gateway, or the listener the policy's sectionName names when
//     the parentRef names the same listener or none (then the route attaches
//     to every listener).
//
// Kuadrant's upstream rules join route and policy on names alone: a route
// covered through its Gateway alerts, and a policy on apps/web also hides
// staging/web. Every join here carries the namespaces.
//
// A route is judged only where the exporter reads policyKind (its
// gateway_metrics_up is 1, in the same exporter instance): on a cluster
// without Kuadrant, or without that policy's CRD, it has no such series and
// nothing is listed; while the kind is down (GatewayMetricsExporterKindDown)
// coverage cannot be judged either.
//
// Not modelled: routes attached through a ListenerSet, and policies that are
// not Accepted or Enforced (KuadrantPolicyNotEnforced alerts on those).
func RouteWithoutPolicy(routeKind, policyKind, routeSelector string) string {
	r := "gatewayapi_" + strings.ToLower(routeKind)
	p := "gatewayapi_" + strings.ToLower(policyKind)
	return fmt.Sprintf(`%[1]s_created%[3]s
unless on(namespace, name)
  (%[1]s_status_parents_conditions{type="kuadrant.io/%[2]sAffected"} == 1)
unless on(namespace, name)
  (
    label_replace(label_replace(%[1]s_created, "route_namespace", "$1", "namespace", "(.*)"), "target_name", "$1", "name", "(.*)")
      and on(route_namespace, target_name)
    %[4]s
  )
unless on(namespace, name)
  (
      (%[5]s
        and on(gateway_namespace, parent_name, parent_section_name)
       %[6]s)
    or
      (%[5]s
        and on(gateway_namespace, parent_name)
       %[7]s)
    or
      (%[8]s
        and on(gateway_namespace, parent_name)
       %[6]s)
  )
and on(job, instance)
  %[9]s`,
		r, policyKind, braces(routeSelector),
		withNamespace(p+`_target_info{target_group="gateway.networking.k8s.io",target_kind="`+routeKind+`"}`, "route_namespace", "target_namespace"),
		routeGatewayParents(r, ""), policyGateways(p, ""),
		policyGateways(p, `,target_section_name=""`), routeGatewayParents(r, `,parent_section_name=""`),
		kuadrantKindRead(policyKind))
}

// kuadrantKindRead is the exporter's gateway_metrics_up of a Kuadrant policy
// kind when it reads it: a coverage expression paired with it on(job,
// instance) says nothing where the kind's CRD is not installed (no series)
// or cannot be read (0).
func kuadrantKindRead(policyKind string) string {
	return `(gateway_metrics_up{group="kuadrant.io",kind="` + policyKind + `"} == 1)`
}

// GatewayWithoutPolicy is the PromQL that lists, per Gateway listener, the
// listeners that need a Kuadrant policy of policyKind (DNSPolicy, TLSPolicy)
// and that no such policy covers; the alerts GatewayWithoutDnsPolicy and
// GatewayWithoutTlsPolicy carry the same expression (deploy/test checks it).
//
// A listener needs a DNSPolicy when it has a hostname (Kuadrant writes DNS
// records for listener hostnames), and a TLSPolicy when it also terminates
// TLS (protocol HTTPS, or TLS in mode Terminate, the default: TLSPolicy
// issues certificates for listener hostnames); a plain HTTP listener without
// a hostname needs neither. A policy covers a listener when it targets its
// Gateway (no sectionName: every listener) or that listener (sectionName), in
// the right namespace (a targetRef has none: the policy's own; target_namespace
// wins when set). Like RouteWithoutPolicy, it says nothing where the exporter
// does not read policyKind (no CRD, or the kind down).
//
// listenerSelector (e.g. `namespace=~"$namespace"`, or "") narrows the
// Gateways judged.
func GatewayWithoutPolicy(policyKind, listenerSelector string) string {
	sel := `hostname!=""`
	if policyKind == "TLSPolicy" {
		sel += `,protocol=~"HTTPS|TLS",tls_mode!="Passthrough"`
	}
	if listenerSelector != "" {
		sel = listenerSelector + "," + sel
	}
	listeners := "gatewayapi_gateway_listener_info{" + sel + "}"
	p := "gatewayapi_" + strings.ToLower(policyKind) + `_target_info{target_group="gateway.networking.k8s.io",target_kind="Gateway"`
	keyed := fmt.Sprintf(`label_replace(label_replace(label_replace(%s, "gateway_namespace", "$1", "namespace", "(.*)"), "target_name", "$1", "name", "(.*)"), "target_section_name", "$1", "listener_name", "(.*)")`, listeners)
	return fmt.Sprintf(`%[1]s
and on(namespace, name, listener_name)
  (
    %[2]s
      unless on(gateway_namespace, target_name)
    %[3]s
      unless on(gateway_namespace, target_name, target_section_name)
    %[4]s
  )
and on(job, instance)
  %[5]s`,
		listeners, keyed,
		withNamespace(p+`,target_section_name=""}`, "gateway_namespace", "target_namespace"),
		withNamespace(p+`}`, "gateway_namespace", "target_namespace"),
		kuadrantKindRead(policyKind))
}

func braces(selector string) string {
	if selector == "" {
		return ""
	}
	return "{" + selector + "}"
}

// withNamespace adds label dst to the series of expr: the value of label ref
// when set, else the series' own namespace (a reference without a namespace
// means the referrer's namespace). It adds a label and changes none, so two
// series never collapse into one.
func withNamespace(expr, dst, ref string) string {
	return fmt.Sprintf(`label_replace(label_replace(%s, "%s", "$1", "namespace", "(.*)"), "%[2]s", "$1", "%s", "(.+)")`, expr, dst, ref)
}

// routeGatewayParents is the routes' spec.parentRefs to Gateways, with
// gateway_namespace: the parentRef's namespace, else the route's.
func routeGatewayParents(r, extra string) string {
	return withNamespace(r+`_parent_info{parent_group=~"gateway.networking.k8s.io|",parent_kind=~"Gateway|"`+extra+`}`, "gateway_namespace", "parent_namespace")
}

// policyGateways is the policies' Gateway targets with the labels of a
// route's parentRef: gateway_namespace (the targetRef's namespace, else the
// policy's), parent_name and parent_section_name.
func policyGateways(p, extra string) string {
	expr := withNamespace(p+`_target_info{target_group="gateway.networking.k8s.io",target_kind="Gateway"`+extra+`}`, "gateway_namespace", "target_namespace")
	return fmt.Sprintf(`label_replace(label_replace(%s, "parent_name", "$1", "target_name", "(.*)"), "parent_section_name", "$1", "target_section_name", "(.*)")`, expr)
}
