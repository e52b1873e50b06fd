// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package dashboards

import (
	"fmt"
	"strings"
)

// Each dashboard keeps the uid, title, template variables and every query of
// the gateway-api-state-metrics dashboard it replaces, so that imported
// dashboards, bookmarks and drill-down links keep working, and adds panels
// for the metrics only this exporter provides.

const (
	uidGatewayClasses = "gatewayapigatewayclass"
	uidGateways       = "gatewayapigateways"
	uidPolicies       = "gatewayapipolicies"
	uidListenerSets   = "gatewayapilistenersets"
	uidExporter       = "gatewayapimetricsexporter"
)

// routeKind describes one of the five route kinds.
type routeKind struct {
	file  string // e.g. httproutes.json
	kind  string // e.g. HTTPRoute
	lower string // e.g. httproute: the metric prefix part and the variable name
}

var routeKinds = []routeKind{
	{"httproutes.json", "HTTPRoute", "httproute"},
	{"grpcroutes.json", "GRPCRoute", "grpcroute"},
	{"tlsroutes.json", "TLSRoute", "tlsroute"},
	{"tcproutes.json", "TCPRoute", "tcproute"},
	{"udproutes.json", "UDPRoute", "udproute"},
}

func (r routeKind) uid() string  { return "gatewayapi" + r.lower + "s" }
func (r routeKind) slug() string { return "gateway-api-state-" + r.lower + "s" }

// named is a dashboard with the file it is written to.
type named struct {
	file string
	d    *Dashboard
}

func all() []named {
	out := []named{
		{"gatewayclasses.json", gatewayClasses()},
		{"gateways.json", gateways()},
	}
	for _, r := range routeKinds {
		out = append(out, named{r.file, route(r)})
	}
	out = append(out,
		named{"listenersets.json", listenerSets()},
		named{"policies.json", policies()},
		named{"policy-attachment.json", policyAttachment()},
		named{"topology.json", topology()},
		named{"kuadrant.json", kuadrant()},
		named{"exporter.json", exporter()},
	)
	return out
}

func gatewayClasses() *Dashboard {
	b := newBoard(uidGatewayClasses, "Gateway API State / GatewayClasses",
		"GatewayClasses and the Gateways that use them, from gateway-api-metrics-exporter.", "gatewayapi_gateway_info")
	// GatewayClasses have no namespace: only the Gateways are by namespace.
	b.scope = clusterScope
	b.variable("gatewayclass", "GatewayClass", "label_values(gatewayapi_gatewayclass_info, name)", "")

	b.row("Gateway Classes")
	b.add(stat("Total", "Number of GatewayClasses", `count(gatewayapi_gatewayclass_info)`, false))
	b.add(stat("Accepted", "GatewayClasses with condition Accepted True", `count(gatewayapi_gatewayclass_status{type="Accepted"} > 0)`, false))
	b.add(stat("Not Accepted", "GatewayClasses with condition Accepted False or Unknown",
		`count(gatewayapi_gatewayclass_status{type="Accepted"} == 0) or vector(0)`, true))
	b.add(size(table("GatewayClasses", "GatewayClasses and when they were created",
		`gatewayapi_gatewayclass_created`, createdTable, ""), 15, 8))
	b.addIn(size(linkColumn(table("Gateways (by GatewayClass)", "Gateways and the GatewayClass they use",
		`gatewayapi_gateway_info`, plainTable, ""),
		"Name", "Gateway Details", uidGateways, "gateway-api-state-gateways", "gateway"), 12, 8), objectScope)
	b.add(groupedTable("Supported Features (by GatewayClass)", "Features each GatewayClass reports in status.supportedFeatures",
		`gatewayapi_gatewayclass_status_supported_features{name="$gatewayclass"}`, "features", "Features", "name"))

	b.row("Conditions")
	b.add(size(table("GatewayClass Conditions", "Status conditions of the selected GatewayClasses",
		`gatewayapi_gatewayclass_status{name=~"${gatewayclass}"}`, conditionTable, "Status"), 24, 8))
	return b.dashboard()
}

func gateways() *Dashboard {
	b := newBoard(uidGateways, "Gateway API State / Gateways",
		"Gateways, their listeners, addresses and attached routes, from gateway-api-metrics-exporter.", "gatewayapi_gateway_info")
	b.variable("gateway", "Gateway", "label_values(gatewayapi_gateway_info, name)", "/(.*)/")

	b.row("Gateways")
	b.add(stat("Total", "Number of Gateways", `count(gatewayapi_gateway_info{name=~"$gateway"})`, false))
	b.add(stat("Unhealthy", "Gateways whose Accepted or Programmed condition is not True",
		`count((gatewayapi_gateway_status{name=~"$gateway",type="Accepted"} == 0) or (gatewayapi_gateway_status{name=~"$gateway",type="Programmed"} == 0)) or vector(0)`, true))
	b.add(stat("Accepted", "Gateways with condition Accepted True", `count(gatewayapi_gateway_status{name=~"$gateway",type="Accepted"} > 0)`, false))
	b.add(stat("Programmed", "Gateways with condition Programmed True", `count(gatewayapi_gateway_status{name=~"$gateway",type="Programmed"} > 0)`, false))
	b.add(stat("Listeners", "Listeners declared in spec.listeners", `count(gatewayapi_gateway_listener_info{name=~"$gateway"})`, false))
	b.add(stat("Att. Routes", "Routes attached to all listeners, as reported in status", `sum(gatewayapi_gateway_status_listener_attached_routes{name=~"$gateway"})`, false))
	b.add(size(table("Gateways", "Gateways, their GatewayClass and creation time",
		`gatewayapi_gateway_created{name=~"$gateway"} * on(name, namespace, instance) group_right gatewayapi_gateway_info{name=~"$gateway"}`, createdTable, ""), 12, 8))
	b.add(table("Gateway Status Addresses", "Addresses in status.addresses",
		`gatewayapi_gateway_status_address_info{name=~"$gateway"}`, plainTable, ""))
	b.add(table("Gateway Listeners", "Listeners declared in spec.listeners",
		`gatewayapi_gateway_listener_info{name=~"$gateway"}`, plainTable, ""))
	b.add(table("Gateway Listener Status - Attached Routes", "Routes attached per listener, from status.listeners",
		`gatewayapi_gateway_status_listener_attached_routes{name=~"$gateway"}`, countTable, "# Attached Routes"))

	b.row("Listener Health")
	b.add(stat("Listeners (status)", "Listeners that report conditions in status.listeners",
		`count(count by (namespace, name, listener_name) (gatewayapi_gateway_status_listeners_conditions{name=~"$gateway"}))`, false))
	b.add(stat("Unhealthy Listeners", "Listeners with Accepted, Programmed or ResolvedRefs not True, or Conflicted or OverlappingTLSConfig True",
		`count(count by (namespace, name, listener_name) (`+unhealthyListeners("gatewayapi_gateway_status_listeners_conditions", `name=~"$gateway"`)+`)) or vector(0)`, true))
	b.add(stat("Not Programmed", "Listeners with condition Programmed False or Unknown",
		`count(gatewayapi_gateway_status_listeners_conditions{name=~"$gateway",type="Programmed"} == 0) or vector(0)`, true))
	b.add(stat("Unresolved Refs", "Listeners with condition ResolvedRefs False or Unknown",
		`count(gatewayapi_gateway_status_listeners_conditions{name=~"$gateway",type="ResolvedRefs"} == 0) or vector(0)`, true))
	b.add(size(table("Unhealthy Listener Conditions", "The failing conditions of unhealthy listeners",
		unhealthyListeners("gatewayapi_gateway_status_listeners_conditions", `name=~"$gateway"`), conditionTable, "Status"), 12, 4))
	b.add(conditionMatrix("Listener Conditions", "Every condition of every listener: one row per namespace/gateway/listener, one column per condition type",
		`label_join(gatewayapi_gateway_status_listeners_conditions{name=~"$gateway"}, "listener", "/", "namespace", "name", "listener_name")`,
		"listener", "Namespace/Gateway/Listener", "Conflicted", "OverlappingTLSConfig"))
	b.add(stateTimeline("Gateway Health History", "1 when both Accepted and Programmed are True, 0 otherwise",
		`min by (namespace, name) (gatewayapi_gateway_status{name=~"$gateway",type=~"Accepted|Programmed"})`,
		"{{namespace}}/{{name}}", "Healthy", "Unhealthy"))

	b.row("Routes")
	b.add(size(table("Routes Not Accepted (by Gateway)", "Route parent references, of any route kind, that the Gateway does not accept",
		`count by (parent_namespace, parent_name) (`+routesNotAccepted(`parent_kind="Gateway",parent_name=~"${gateway}"`)+`)`, countTable, "# Routes Not Accepted"), 24, 5))
	for _, r := range routeKinds {
		b.add(linkColumn(table(r.kind+"s (by Gateway)", r.kind+"s whose spec.parentRefs name the Gateway",
			fmt.Sprintf(`gatewayapi_%s_parent_info{parent_kind="Gateway",parent_name=~"${gateway}"}`, r.lower), plainTable, ""),
			"Name", r.kind+" Details", r.uid(), r.slug(), r.lower))
	}
	return b.dashboard()
}

// unhealthyListeners selects the failing listener conditions: positive
// conditions that are not True and negative ones that are True.
func unhealthyListeners(metric, selector string) string {
	return fmt.Sprintf(`(%[1]s{%[2]s,type=~"Accepted|Programmed|ResolvedRefs"} == 0) or (%[1]s{%[2]s,type=~"Conflicted|OverlappingTLSConfig"} == 1)`, metric, selector)
}

// routesNotAccepted selects Accepted == 0 across all five route kinds.
func routesNotAccepted(selector string) string {
	return `{__name__=~"gatewayapi_(httproute|grpcroute|tlsroute|tcproute|udproute)_status_parents_conditions",` + selector + `,type="Accepted"} == 0`
}

func route(r routeKind) *Dashboard {
	v := "${" + r.lower + "}"
	m := func(family string) string { return "gatewayapi_" + r.lower + "_" + family }
	sel := fmt.Sprintf(`{name=~"%s"}`, v)
	b := newBoard(r.uid(), "Gateway API State / "+r.kind+"s",
		r.kind+"s, the parents they target and the parents that accepted them, from gateway-api-metrics-exporter.", m("created"))
	b.variable(r.lower, r.kind, fmt.Sprintf("label_values(%s, name)", m("created")), "/(.*)/")

	b.row(r.kind + "s")
	b.add(stat("Total", "Number of "+r.kind+"s", "count("+m("created")+sel+")", false))
	b.add(stat("Tar. Parents", "Parent references in spec.parentRefs", "count("+m("parent_info")+sel+")", false))
	b.add(stat("Att. Parents", "Parents in status.parents", "count("+m("status_parent_info")+sel+")", false))
	b.add(size(table(r.kind+"s", r.kind+"s and when they were created", m("created")+sel, createdTable, ""), 15, 8))
	b.add(table(r.kind+" *targeted* Parent References", "Parents named in spec.parentRefs", m("parent_info")+sel, plainTable, ""))
	b.add(table(r.kind+" *attached* Parent References", "Parents listed in status.parents, with the controller that wrote each entry", m("status_parent_info")+sel, plainTable, ""))

	cond := m("status_parents_conditions")
	b.row("Parent Status")
	b.add(stat("Accepted", "Route parent entries with condition Accepted True",
		fmt.Sprintf(`count(%s{name=~"%s",type="Accepted"} == 1) or vector(0)`, cond, v), false))
	b.add(stat("Not Accepted", "Route parent entries with condition Accepted False or Unknown",
		fmt.Sprintf(`count(%s{name=~"%s",type="Accepted"} == 0) or vector(0)`, cond, v), true))
	b.add(stat("Unresolved Refs", "Route parent entries with condition ResolvedRefs False or Unknown",
		fmt.Sprintf(`count(%s{name=~"%s",type="ResolvedRefs"} == 0) or vector(0)`, cond, v), true))
	b.add(size(table("Not Accepted (by Parent)", "Number of "+r.kind+"s each parent does not accept",
		fmt.Sprintf(`count by (parent_kind, parent_namespace, parent_name, controller_name) (%s{name=~"%s",type="Accepted"} == 0)`, cond, v),
		countTable, "# Not Accepted"), 15, 4))
	b.add(size(table("Acceptance per Parent and Controller", "Condition Accepted of every "+r.kind+" for every parent and controller",
		fmt.Sprintf(`%s{name=~"%s",type="Accepted"}`, cond, v), conditionTable, "Accepted"), 24, 8))
	b.add(size(table("All Parent Conditions", "Every condition in status.parents[].conditions, including controller-specific ones",
		fmt.Sprintf(`%s{name=~"%s"}`, cond, v), conditionTable, "Status"), 24, 8))

	if r.lower == "httproute" {
		b.row("Kuadrant Policies")
		b.add(stat("Without AuthPolicy", "HTTPRoutes that no AuthPolicy covers: none on the route or on a Gateway, ListenerSet or listener it attaches to, and no parent reporting kuadrant.io/AuthPolicyAffected True",
			"count("+withoutPolicy(sel, "AuthPolicy")+") or vector(0)", true))
		b.add(stat("Without RateLimitPolicy", "HTTPRoutes that no RateLimitPolicy covers: none on the route or on a Gateway, ListenerSet or listener it attaches to, and no parent reporting kuadrant.io/RateLimitPolicyAffected True",
			"count("+withoutPolicy(sel, "RateLimitPolicy")+") or vector(0)", true))
		b.add(size(table("HTTPRoutes without AuthPolicy", "No AuthPolicy, on the route or its Gateway, affects these HTTPRoutes",
			withoutPolicy(sel, "AuthPolicy"), plainTable, ""), 9, 6))
		b.add(size(table("HTTPRoutes without RateLimitPolicy", "No RateLimitPolicy, on the route or its Gateway, affects these HTTPRoutes",
			withoutPolicy(sel, "RateLimitPolicy"), plainTable, ""), 9, 6))
		b.add(size(table("Kuadrant Policy Conditions (per Parent)", "The kuadrant.io/* conditions Kuadrant sets on each route parent",
			fmt.Sprintf(`%s{name=~"%s",type=~"kuadrant.io/.+"}`, cond, v), conditionTable, "Status"), 24, 8))
	}
	return b.dashboard()
}

// withoutPolicy selects the HTTPRoutes that no policy of the given Kuadrant
// kind covers, as the HTTPRouteWithoutAuthPolicy/RateLimitPolicy alerts do.
func withoutPolicy(selector, policy string) string {
	return RouteWithoutPolicy("HTTPRoute", policy, strings.Trim(selector, "{}"))
}

func listenerSets() *Dashboard {
	b := newBoard(uidListenerSets, "Gateway API State / ListenerSets",
		"ListenerSets, their listeners and the Gateways they attach to, from gateway-api-metrics-exporter.", "gatewayapi_listenerset_info")
	b.variable("listenerset", "ListenerSet", "label_values(gatewayapi_listenerset_info, name)", "/(.*)/")
	sel := `name=~"${listenerset}"`

	b.row("ListenerSets")
	b.add(stat("Total", "Number of ListenerSets", `count(gatewayapi_listenerset_info{`+sel+`})`, false))
	b.add(stat("Accepted", "ListenerSets with condition Accepted True", `count(gatewayapi_listenerset_status{`+sel+`,type="Accepted"} > 0)`, false))
	b.add(stat("Programmed", "ListenerSets with condition Programmed True", `count(gatewayapi_listenerset_status{`+sel+`,type="Programmed"} > 0)`, false))
	b.add(stat("Unhealthy", "ListenerSets whose Accepted or Programmed condition is not True",
		`count((gatewayapi_listenerset_status{`+sel+`,type="Accepted"} == 0) or (gatewayapi_listenerset_status{`+sel+`,type="Programmed"} == 0)) or vector(0)`, true))
	b.add(stat("Listeners", "Listeners declared in spec.listeners", `count(gatewayapi_listenerset_listener_info{`+sel+`})`, false))
	b.add(stat("Att. Routes", "Routes attached to all listeners, as reported in status", `sum(gatewayapi_listenerset_status_listener_attached_routes{`+sel+`})`, false))
	b.add(linkColumn(table("ListenerSets", "ListenerSets and the Gateway (parent) they attach to",
		`gatewayapi_listenerset_info{`+sel+`}`, plainTable, ""),
		"Parent", "Gateway Details", uidGateways, "gateway-api-state-gateways", "gateway"))
	b.add(table("ListenerSet Created", "When each ListenerSet was created", `gatewayapi_listenerset_created{`+sel+`}`, createdTable, ""))
	b.add(table("ListenerSet Conditions", "Status conditions of each ListenerSet", `gatewayapi_listenerset_status{`+sel+`}`, conditionTable, "Status"))
	b.add(table("ListenerSet Listeners", "Listeners declared in spec.listeners", `gatewayapi_listenerset_listener_info{`+sel+`}`, plainTable, ""))

	b.row("Listener Health")
	b.add(stat("Unhealthy Listeners", "Listeners with Accepted, Programmed or ResolvedRefs not True, or Conflicted or OverlappingTLSConfig True",
		`count(count by (namespace, name, listener_name) (`+unhealthyListeners("gatewayapi_listenerset_status_listeners_conditions", sel)+`)) or vector(0)`, true))
	b.add(size(table("Attached Routes", "Routes attached per listener, from status.listeners",
		`gatewayapi_listenerset_status_listener_attached_routes{`+sel+`}`, countTable, "# Attached Routes"), 21, 6))
	b.add(conditionMatrix("Listener Conditions", "Every condition of every listener: one row per namespace/listenerset/listener, one column per condition type",
		`label_join(gatewayapi_listenerset_status_listeners_conditions{`+sel+`}, "listener", "/", "namespace", "name", "listener_name")`,
		"listener", "Namespace/ListenerSet/Listener", "Conflicted", "OverlappingTLSConfig"))
	return b.dashboard()
}

type kuadrantPolicy struct {
	kind, lower string
	ready       string // the condition the old dashboard counted
}

var kuadrantPolicies = []kuadrantPolicy{
	{"TLSPolicy", "tlspolicy", "Ready"},
	{"DNSPolicy", "dnspolicy", "Ready"},
	{"RateLimitPolicy", "ratelimitpolicy", "Available"},
	{"AuthPolicy", "authpolicy", "Available"},
}

func policies() *Dashboard {
	b := newBoard(uidPolicies, "Gateway API State / Policies",
		"Kuadrant policies and BackendTLSPolicies: their targets and conditions, and the HTTPRoutes no policy covers, from gateway-api-metrics-exporter.",
		`{__name__=~"gatewayapi_(tlspolicy|dnspolicy|ratelimitpolicy|authpolicy|backendtlspolicy|xbackendtrafficpolicy)_created"}`)
	for _, p := range kuadrantPolicies {
		b.variable(p.lower, p.kind, fmt.Sprintf("label_values(gatewayapi_%s_created, name)", p.lower), "/(.*)/")
	}
	b.variable("backendtlspolicy", "BackendTLSPolicy", "label_values(gatewayapi_backendtlspolicy_created, name)", "/(.*)/")
	b.variable("xbackendtrafficpolicy", "XBackendTrafficPolicy", "label_values(gatewayapi_xbackendtrafficpolicy_created, name)", "/(.*)/")

	for _, p := range kuadrantPolicies {
		m := "gatewayapi_" + p.lower
		v := "${" + p.lower + "}"
		policyRow(b, p.kind, p.lower,
			stat("Total", "Number of "+p.kind+" conditions", fmt.Sprintf(`count(%s_status{name=~"%s"})`, m, v), false),
			stat(p.ready, p.kind+"s with a "+p.ready+" condition (older Kuadrant releases)",
				fmt.Sprintf(`count(%s_status{type="%s", name=~"%s"})`, m, p.ready, v), false))
	}

	b.row("BackendTLSPolicy")
	b.add(stat("Not Accepted", "BackendTLSPolicy ancestor entries with condition Accepted False or Unknown",
		`count(gatewayapi_backendtlspolicy_status_ancestors_conditions{name=~"${backendtlspolicy}",type="Accepted"} == 0) or vector(0)`, true))
	b.add(size(table("BackendTLSPolicy", "BackendTLSPolicies and the Services they target",
		`gatewayapi_backendtlspolicy_target_info{name=~"${backendtlspolicy}"}`, plainTable, ""), 21, 6))
	b.add(size(table("BackendTLSPolicy Ancestor Conditions", "Conditions in status.ancestors[].conditions, per ancestor and controller",
		`gatewayapi_backendtlspolicy_status_ancestors_conditions{name=~"${backendtlspolicy}"}`, conditionTable, "Status"), 24, 8))

	b.row("XBackendTrafficPolicy")
	b.add(stat("Not Accepted", "XBackendTrafficPolicy ancestor entries with condition Accepted False or Unknown, as the alert XBackendTrafficPolicyNotAccepted",
		`count(gatewayapi_xbackendtrafficpolicy_status_ancestors_conditions{name=~"${xbackendtrafficpolicy}",type="Accepted"} == 0) or vector(0)`, true))
	b.add(size(table("XBackendTrafficPolicy", "XBackendTrafficPolicies and the Services they target",
		`gatewayapi_xbackendtrafficpolicy_target_info{name=~"${xbackendtrafficpolicy}"}`, plainTable, ""), 21, 6))
	b.add(size(table("XBackendTrafficPolicy Ancestor Conditions", "Conditions in status.ancestors[].conditions, per ancestor and controller",
		`gatewayapi_xbackendtrafficpolicy_status_ancestors_conditions{name=~"${xbackendtrafficpolicy}"}`, conditionTable, "Status"), 24, 8))

	b.row("HTTPRoute Coverage")
	b.add(linkColumn(table("HTTPRoutes without AuthPolicy", "No AuthPolicy on the route or on a Gateway, ListenerSet or listener it attaches to (in the right namespace), and no parent reporting kuadrant.io/AuthPolicyAffected True",
		withoutPolicy("", "AuthPolicy"), plainTable, ""),
		"Name", "HTTPRoute Details", "gatewayapihttproutes", "gateway-api-state-httproutes", "httproute"))
	b.add(linkColumn(table("HTTPRoutes without RateLimitPolicy", "No RateLimitPolicy on the route or on a Gateway, ListenerSet or listener it attaches to (in the right namespace), and no parent reporting kuadrant.io/RateLimitPolicyAffected True",
		withoutPolicy("", "RateLimitPolicy"), plainTable, ""),
		"Name", "HTTPRoute Details", "gatewayapihttproutes", "gateway-api-state-httproutes", "httproute"))
	return b.dashboard()
}

// policyRow is the row of one Kuadrant policy kind (lower: its family
// prefix and the board's variable of its names): the stats given, then
// Accepted and Enforced, what each policy targets and its conditions.
func policyRow(b *board, kind, lower string, stats ...*Panel) {
	m := "gatewayapi_" + lower
	v := "${" + lower + "}"
	b.row(kind)
	for _, p := range stats {
		b.add(p)
	}
	b.add(stat("Accepted", kind+"s with condition Accepted True",
		fmt.Sprintf(`count(%s_status{type="Accepted", name=~"%s"} > 0) or vector(0)`, m, v), false))
	b.add(stat("Enforced", kind+"s with condition Enforced True",
		fmt.Sprintf(`count(%s_status{type="Enforced", name=~"%s"} > 0) or vector(0)`, m, v), false))
	b.add(table(kind, kind+"s and the object each one targets", fmt.Sprintf(`%s_target_info{name=~"%s"}`, m, v), plainTable, ""))
	b.add(size(table(kind+" Conditions", "Status conditions of each "+kind,
		fmt.Sprintf(`%s_status{name=~"%s"}`, m, v), conditionTable, "Status"), 12, 6))
}

func exporter() *Dashboard {
	b := newBoard(uidExporter, "Gateway API State / Exporter",
		"Health of gateway-api-metrics-exporter itself: whether it can read each resource kind, how long that takes, and its own telemetry (telemetry port).",
		`{__name__=~"(gatewayapi|kuadrant)_.+_created"}`)
	// The exporter's own series carry its target's labels, not the objects'
	// namespaces: only the cluster selects them.
	own := func(p *Panel) { b.addIn(p, clusterScope) }

	b.row("Exporter")
	own(stat("Kinds Up", "Resource kinds the exporter reads successfully (gateway_metrics_up == 1)",
		`count(gateway_metrics_up == 1) or vector(0)`, false))
	own(stat("Kinds Down", "Resource kinds the exporter cannot read (gateway_metrics_up == 0)",
		`count(gateway_metrics_up == 0) or vector(0)`, true))
	own(stat("Exporter Instances", "Exporter instances (or shards) reporting gateway_metrics_up",
		`count(count by (instance) (gateway_metrics_up))`, false))
	own(stat("Max Scrape Duration", "Slowest resource kind in the latest scrape",
		`max(gateway_metrics_scrape_duration_seconds)`, false))
	own(size(table("Exporter Up per Kind", "gateway_metrics_up per group, version and kind", `gateway_metrics_up`, conditionTable, "Up"), 12, 8))
	b.add(table("Objects per Kind", "Objects exported per kind (series of the *_created families)",
		`count by (customresource_group, customresource_version, customresource_kind) ({__name__=~"gatewayapi_.+_created|kuadrant_dnsrecord_created"})`, countTable, "# Objects"))
	own(stateTimeline("Up per Kind", "gateway_metrics_up over time, per kind",
		`min by (group, version, kind) (gateway_metrics_up)`, "{{kind}}.{{group}}/{{version}}", "Up", "Down"))
	own(size(timeseries("Scrape Duration per Kind", "gateway_metrics_scrape_duration_seconds: time to read and render each kind",
		`max by (group, version, kind) (gateway_metrics_scrape_duration_seconds)`, "{{kind}}.{{group}}/{{version}}", "s"), 24, 8))

	// The telemetry port's families (pkg/telemetry): scrape it too (the
	// chart's selfMonitor.enabled, the kustomize ServiceMonitor's second
	// endpoint).
	b.row("Telemetry")
	own(size(table("Version", "gateway_metrics_build_info of each exporter instance: version, revision, Go version",
		`gateway_metrics_build_info`, plainTable, ""), 12, 5))
	own(stat("Scrapes Rejected (1h)", "Requests to /metrics refused with 503 because --max-concurrent-scrapes were in flight",
		`sum(increase(gateway_metrics_scrapes_rejected_total[1h])) or vector(0)`, true))
	own(stat("Duplicate Samples", "Samples not served because two elements of one object gave the same series, in the objects the exporter holds now (gateway_metrics_family_duplicates, the largest instance)",
		`sum(max by (family) (gateway_metrics_family_duplicates)) or vector(0)`, true))
	own(stat("Evaluation Errors", "Family evaluations that fail for the objects the exporter holds now (gateway_metrics_family_evaluation_errors, the largest instance): a value of the wrong shape, or an optional field that is absent",
		`sum(max by (family) (gateway_metrics_family_evaluation_errors)) or vector(0)`, false))
	own(size(timeseries("Scrapes by Outcome", "Requests to /metrics per second: complete, partial (a kind down) or timeout",
		`sum by (outcome) (rate(gateway_metrics_scrapes_total[$__rate_interval]))`, "{{outcome}}", "reqps"), 12, 8))
	own(timeseries("LISTs by Result", "Paginated LISTs per second (list mode; in watch mode the relists), by success or error",
		`sum by (result) (rate(gateway_metrics_list_total[$__rate_interval]))`, "{{result}}", "reqps"))
	own(timeseries("LIST Duration p90 per Kind", "90th percentile of the time to list and render all pages of a kind",
		`histogram_quantile(0.9, sum by (le, group, version, kind) (rate(gateway_metrics_list_duration_seconds_bucket[$__rate_interval])))`, "{{kind}}.{{group}}/{{version}}", "s"))
	own(size(table("Evaluation Errors by Family", "gateway_metrics_family_evaluation_errors of the families that have some, in the objects the exporter holds now (the largest instance); the exporter logs each distinct wrong-shaped value once",
		`max by (family) (gateway_metrics_family_evaluation_errors) > 0`, countTable, "# Errors"), 12, 8))
	own(timeseries("Resident Memory", "process_resident_memory_bytes of each exporter instance",
		`process_resident_memory_bytes and on(job, instance) gateway_metrics_build_info`, "{{instance}}", "bytes"))
	own(timeseries("CPU", "CPU seconds per second of each exporter instance",
		`rate(process_cpu_seconds_total[$__rate_interval]) and on(job, instance) gateway_metrics_build_info`, "{{instance}}", "short"))

	// What each family costs in Prometheus, per exporter instance, as the
	// limits apply per instance.
	b.row("Cardinality")
	own(stat("Families Over Limit", "Families withheld from /metrics for being over --max-series-per-family or --max-series (gateway_metrics_family_over_limit), as the alert GatewayMetricsFamilyOverLimit",
		`count(max by (family) (gateway_metrics_family_over_limit) == 1) or vector(0)`, true))
	own(size(table("Top Families by Series", "The 20 families with the most samples (gateway_metrics_family_series, the largest exporter instance): what each costs in Prometheus",
		`topk(20, max by (family) (gateway_metrics_family_series))`, countTable, "# Series"), 11, 8))
	own(size(timeseries("Series per Family", "gateway_metrics_family_series of the 10 largest families over time (the largest exporter instance)",
		`topk(10, max by (family) (gateway_metrics_family_series))`, "{{family}}", "short"), 10, 8))
	return b.dashboard()
}
