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
// It reads the attachment graph's gatewayapi_<route>_policy_coverage (see
// METRICS.md), which the exporter computes per route: 1 when a policy of the
// kind applies to the route (on the route, or on a Gateway, ListenerSet or
// listener it attaches to, each reference's namespace defaulted as the API
// does) or a parent of the route reports kuadrant.io/<policyKind>Affected
// True; 0 otherwise. Kuadrant's upstream rules join route and policy on names
// alone: a route covered through its Gateway alerts, and a policy on apps/web
// also hides staging/web.
//
// The family exists only while the exporter reads policyKind (its CRD is
// installed and the kind was read completely): on a cluster without Kuadrant,
// or without that policy's CRD, nothing is listed.
//
// Not judged: whether the policy is Accepted or Enforced
// (KuadrantPolicyNotEnforced alerts on those).
func RouteWithoutPolicy(routeKind, policyKind, routeSelector string) string {
	sel := `policy_group="kuadrant.io",policy_kind="` + policyKind + `"`
	if routeSelector != "" {
		sel = routeSelector + "," + sel
	}
	return "gatewayapi_" + strings.ToLower(routeKind) + "_policy_coverage{" + sel + "} == 0"
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

// withNamespace adds label dst to the series of expr: the value of label ref
// when set, else the series' own namespace (a reference without a namespace
// means the referrer's namespace). It adds a label and changes none, so two
// series never collapse into one.
func withNamespace(expr, dst, ref string) string {
	return fmt.Sprintf(`label_replace(label_replace(%s, "%s", "$1", "namespace", "(.*)"), "%[2]s", "$1", "%s", "(.+)")`, expr, dst, ref)
}
