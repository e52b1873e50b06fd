// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package dashboards

const uidTopology = "gatewayapitopology"

// routeFamilies selects one graph family of every route kind, e.g.
// routeFamilies("parent_attachment", `state="Pending"`).
func routeFamilies(family, selector string) string {
	s := `{__name__=~"gatewayapi_(httproute|grpcroute|tlsroute|tcproute|udproute)_` + family + `"`
	if selector != "" {
		s += "," + selector
	}
	return s + "}"
}

// PolicyTargetNotFound is the PromQL that lists the policy targets that do
// not exist, of every policy kind: the declared ones
// (gatewayapi_<kind>_target_resolved) and the discovered Policy Attachment
// kinds (gatewayapi_policy_target_resolved). The attachment graph judges a
// target only where it can (a kind the exporter reads, read completely, in a
// namespace it reads), so a missing series is never a missing target. The
// alert PolicyTargetNotFound has the same expression (deploy/test checks
// it).
func PolicyTargetNotFound() string {
	return `{__name__=~"gatewayapi_.+_target_resolved"} == 0`
}

// topology is the attachment graph's board (METRICS.md, "The attachment
// graph"): what lies between objects. Per Gateway, the routes that name it and
// the state of each attachment; per route, the policies that apply to it and
// how; the references no ReferenceGrant permits. Each panel reads the
// exporter's verdicts as served: the joins happen in the exporter, where
// every object is known, not in PromQL.
func topology() *Dashboard {
	b := newBoard(uidTopology, "Gateway API State / Topology",
		"How Gateway API objects attach to each other, from gateway-api-metrics-exporter's attachment graph: route parents and their state, the policies that apply to each route and how, and cross-namespace references no ReferenceGrant permits.",
		routeFamilies("parent_attachment", ""))
	b.variable("gateway", "Gateway", "label_values(gatewayapi_gateway_info, name)", "/(.*)/")
	attach := func(selector string) string { return routeFamilies("parent_attachment", selector) }

	b.row("Route Attachment")
	b.add(stat("Route Parents", "spec.parentRefs entries of every route kind",
		`count(`+attach(`state!="Stale"`)+`)`, false))
	b.add(stat("Accepted", "parentRefs a controller accepted (condition Accepted True in status.parents)",
		`count(`+attach(`state="Accepted"`)+`) or vector(0)`, false))
	b.add(stat("Not Accepted", "parentRefs whose status.parents entries carry Accepted, none True",
		`count(`+attach(`state="NotAccepted"`)+`) or vector(0)`, true))
	b.add(stat("Pending", "parentRefs to an existing parent that no controller has acknowledged (no Accepted condition): the RouteParentPending alert after 15 minutes",
		`count(`+attach(`state="Pending"`)+`) or vector(0)`, true))
	b.add(stat("Parent Not Found", "parentRefs to a Gateway, ListenerSet or listener that does not exist: the RouteParentNotFound alert",
		`count(`+attach(`state="ParentNotFound"`)+`) or vector(0)`, true))
	b.add(stat("Stale", "status.parents entries for a parent that spec.parentRefs no longer names: the RouteParentStale alert",
		`count(`+attach(`state="Stale"`)+`) or vector(0)`, true))
	b.add(size(table("Routes per Gateway", "Routes whose parentRefs name the Gateway (directly, not through a ListenerSet), by listener and attachment state",
		`count by (parent_namespace, parent_name, parent_section_name, state) (`+attach(`parent_kind="Gateway",parent_name=~"${gateway}"`)+`)`,
		countTable, "# Routes"), 12, 8))
	b.add(size(table("Routes per ListenerSet", "Routes whose parentRefs name a ListenerSet, by listener and attachment state",
		`count by (parent_namespace, parent_name, parent_section_name, state) (`+attach(`parent_kind="ListenerSet"`)+`)`,
		countTable, "# Routes"), 12, 8))
	b.add(size(linkColumn(table("Route Attachments (by Gateway)", "Every parentRef to the selected Gateways and its state",
		attach(`parent_kind="Gateway",parent_name=~"${gateway}"`), plainTable, ""),
		"Parent", "Gateway Details", uidGateways, "gateway-api-state-gateways", "gateway"), 24, 8))
	b.add(size(table("Attachment Problems", "parentRefs in state NotAccepted, Pending or ParentNotFound, and Stale status entries, of every route kind",
		attach(`state!="Accepted"`), plainTable, ""), 24, 8))

	b.row("Effective Policies")
	b.add(size(table("Policies by Kind and Path", "Route/policy pairs by how the policy applies: via the route itself, its Gateway, or a listener or ListenerSet it attaches through",
		`count by (policy_kind, via) (`+routeFamilies("effective_policy_info", "")+`)`, countTable, "# Routes"), 8, 8))
	b.add(size(table("Coverage Gaps", "Routes that no policy of a kind applies to (coverage 0): every kind the cluster uses, AuthPolicy and RateLimitPolicy always",
		routeFamilies("policy_coverage", "")+` == 0`, plainTable, ""), 16, 8))
	b.add(size(table("Effective Policies per Route", "Every policy that applies to each route, and how (via)",
		routeFamilies("effective_policy_info", ""), plainTable, ""), 24, 10))
	b.add(size(table("Policy Targets Not Found", "Policy targets that do not exist (with a sectionName: the listener or rule), of every policy kind: the PolicyTargetNotFound alert",
		PolicyTargetNotFound(), plainTable, ""), 24, 6))

	b.row("References")
	b.add(stat("Certificate Refs Not Permitted", "Listener certificateRefs to another namespace that no ReferenceGrant permits: the CertificateRefNotPermitted alert",
		`count(`+certRefs(`permitted="false"`)+`) or vector(0)`, true))
	b.add(stat("Backend Refs Not Permitted", "Route backendRefs to another namespace that no ReferenceGrant permits (the opt-in family backend_ref_info: --metric-opt-in-list): the BackendRefNotPermitted alert",
		`count(`+routeFamilies("backend_ref_info", `permitted="false"`)+`) or vector(0)`, true))
	b.add(size(table("Certificate References Not Permitted", "Listener certificateRefs no ReferenceGrant permits (permitted false), or whose namespace's grants the exporter does not read (unknown)",
		certRefs(`permitted!="true"`), plainTable, ""), 24, 6))
	b.add(size(table("Backend References Not Permitted", "Route backendRefs no ReferenceGrant permits (permitted false), or whose namespace's grants the exporter does not read (unknown); needs the opt-in family backend_ref_info",
		routeFamilies("backend_ref_info", `permitted!="true"`), plainTable, ""), 24, 6))
	return b.dashboard()
}

func certRefs(selector string) string {
	s := `{__name__=~"gatewayapi_(gateway|listenerset)_listener_certificate_ref_info"`
	if selector != "" {
		s += "," + selector
	}
	return s + "}"
}
