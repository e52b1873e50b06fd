// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package dashboards

import (
	"fmt"
	"strings"
)

// The Kuadrant dashboard covers what today's clusters add to the 2024 set:
// every Kuadrant policy kind's Accepted/Enforced, the Kuadrant instance, DNS
// health (records, probes, DNSPolicies) and status freshness for every kind.

const uidKuadrant = "gatewayapikuadrant"

// allKuadrantPolicies are the lower-case kinds of every Kuadrant policy, the
// four of the policies dashboard and the ones current Kuadrant releases add.
var allKuadrantPolicies = []string{
	"authpolicy", "ratelimitpolicy", "tokenratelimitpolicy", "dnspolicy", "tlspolicy",
	"oidcpolicy", "planpolicy", "telemetrypolicy", "threatpolicy",
}

// newKuadrantPolicies get a row each, as the policies dashboard gives the
// older four.
var newKuadrantPolicies = []struct{ kind, lower string }{
	{"TokenRateLimitPolicy", "tokenratelimitpolicy"},
	{"OIDCPolicy", "oidcpolicy"},
	{"PlanPolicy", "planpolicy"},
	{"TelemetryPolicy", "telemetrypolicy"},
	{"ThreatPolicy", "threatpolicy"},
}

// policyFamilies selects family (e.g. "status") of every Kuadrant policy kind.
func policyFamilies(family, matchers string) string {
	sel := fmt.Sprintf(`__name__=~"gatewayapi_(%s)_%s"`, strings.Join(allKuadrantPolicies, "|"), family)
	if matchers != "" {
		sel += "," + matchers
	}
	return "{" + sel + "}"
}

// StaleObjects is the PromQL that counts, per object (and, for route
// parents and policy ancestors, per controller that wrote them), the
// observedGenerations behind the object's metadata.generation: the
// controller has not reconciled the latest spec. It reads the default
// families, where staleness is decided: per object (the lowest of the
// top-level conditions', or status.observedGeneration, which Kuadrant's
// controllers write instead) and per status entry (route parent, listener,
// policy ancestor: the lowest of its conditions'); never the opt-in
// per-condition ones. An observedGeneration of 0 (unset) is not judged. Each
// family is paired with its own kind's metadata_generation by the
// customresource_* labels (policy_* for the discovered Policy Attachment
// kinds), within one exporter instance: unsharded replicas each export every
// object, and each answers the same (max, not a sum, across them). The alert
// ControllerNotReconciling has the same expression (deploy/test checks it).
func StaleObjects() string {
	const object = "customresource_group, customresource_kind, policy_group, policy_kind, namespace, name"
	return `max by (` + object + `, controller_name) (
  count by (` + object + `, controller_name, job, instance) (
      {__name__=~"(gatewayapi|kuadrant)_[a-z0-9]+_(status|status_parents|status_listeners|status_ancestors|ancestor)_observed_generation"} > 0
    < on(` + object + `, job, instance) group_left()
      {__name__=~"(gatewayapi|kuadrant)_[a-z0-9]+_metadata_generation"}
  )
)`
}

// ProbesFailingBeyondThreshold is the PromQL for the DNSHealthCheckProbes
// whose consecutive failures exceed their own spec.failureThreshold (any
// failure, for a probe without one), valued by the failures; each replica's
// series are paired within it. The alert
// DNSHealthCheckProbeFailuresAboveThreshold has the same expression
// (deploy/test checks it).
func ProbesFailingBeyondThreshold() string {
	const probe = "customresource_group, customresource_kind, namespace, name, job, instance"
	return `kuadrant_dnshealthcheckprobe_status_consecutive_failures
  > on(` + probe + `) group_left()
kuadrant_dnshealthcheckprobe_spec_failure_threshold
or
(
  kuadrant_dnshealthcheckprobe_status_consecutive_failures > 0
    unless on(` + probe + `)
  kuadrant_dnshealthcheckprobe_spec_failure_threshold
)`
}

func kuadrant() *Dashboard {
	b := newBoard(uidKuadrant, "Gateway API State / Kuadrant",
		"Kuadrant on today's clusters: every policy kind's Accepted and Enforced conditions, the Kuadrant instance, DNS health, and whether controllers keep statuses current, from gateway-api-metrics-exporter.",
		`{__name__=~"(gatewayapi|kuadrant)_.+_created"}`)
	for _, p := range newKuadrantPolicies {
		b.variable(p.lower, p.kind, fmt.Sprintf("label_values(gatewayapi_%s_created, name)", p.lower), "/(.*)/")
	}

	b.row("Policy Health (every Kuadrant policy kind)")
	b.add(stat("Policies", "Kuadrant policies of every kind", `count(`+policyFamilies("created", "")+`) or vector(0)`, false))
	b.add(stat("Not Accepted", "Policies with condition Accepted False or Unknown",
		`count(`+policyFamilies("status", `type="Accepted"`)+` == 0) or vector(0)`, true))
	b.add(stat("Not Enforced", "Policies with condition Enforced False or Unknown",
		`count(`+policyFamilies("status", `type="Enforced"`)+` == 0) or vector(0)`, true))
	b.add(stat("Without Status", "Policies with no status conditions at all: not reconciled by Kuadrant",
		`count(`+policyFamilies("created", "")+` unless on(customresource_group, customresource_kind, namespace, name) `+policyFamilies("status", "")+`) or vector(0)`, true))
	b.add(stat("Kuadrant Ready", "Kuadrant instances with condition Ready True",
		`count(gatewayapi_kuadrant_status{type="Ready"} == 1) or vector(0)`, false))
	b.add(stat("Kuadrant Not Ready", "Kuadrant instances with condition Ready False or Unknown",
		`count(gatewayapi_kuadrant_status{type="Ready"} == 0) or vector(0)`, true))
	b.add(conditionMatrix("Accepted and Enforced per Policy", "Condition Accepted and Enforced of every Kuadrant policy: one row per kind/namespace/name",
		`label_join(`+policyFamilies("status", `type=~"Accepted|Enforced"`)+`, "policy", "/", "customresource_kind", "namespace", "name")`,
		"policy", "Kind/Namespace/Policy"))
	b.add(size(table("Policy Targets", "What each Kuadrant policy targets (targetRef; the policy's namespace when it names none)",
		policyFamilies("target_info", ""), plainTable, ""), 24, 8))
	b.add(size(table("Kuadrant Conditions", "Status conditions of the Kuadrant instance",
		`gatewayapi_kuadrant_status`, conditionTable, "Status"), 24, 5))

	for _, p := range newKuadrantPolicies {
		policyRow(b, p.kind, p.lower,
			stat("Total", "Number of "+p.kind+"s", fmt.Sprintf(`count(gatewayapi_%s_created{name=~"${%s}"}) or vector(0)`, p.lower, p.lower), false))
	}

	b.row("Coverage")
	for _, r := range []struct{ kind, lower string }{{"HTTPRoute", "httproute"}, {"GRPCRoute", "grpcroute"}} {
		for _, policy := range []string{"AuthPolicy", "RateLimitPolicy"} {
			b.add(size(linkColumn(table(r.kind+"s without "+policy,
				"No "+policy+" on the route or on a Gateway, ListenerSet or listener it attaches to (in the right namespace), and no parent reporting kuadrant.io/"+policy+"Affected True; as the alert "+r.kind+"Without"+policy,
				RouteWithoutPolicy(r.kind, policy, ""), plainTable, ""),
				"Name", r.kind+" Details", "gatewayapi"+r.lower+"s", "gateway-api-state-"+r.lower+"s", r.lower), 12, 6))
		}
	}
	for _, g := range []struct{ policy, alert, needs string }{
		{"DNSPolicy", "GatewayWithoutDnsPolicy", "has a hostname"},
		{"TLSPolicy", "GatewayWithoutTlsPolicy", "terminates TLS for a hostname"},
	} {
		b.addIn(size(linkColumn(table("Gateway Listeners without "+g.policy,
			"Listeners that "+g.needs+" but no "+g.policy+" targets (their Gateway, or them by sectionName); as the alert "+g.alert,
			scoped(GatewayWithoutPolicy(g.policy, `namespace=~"$namespace"`), clusterScope), plainTable, ""),
			"Name", "Gateway Details", uidGateways, "gateway-api-state-gateways", "gateway"), 12, 6), "")
	}

	b.row("DNS Health")
	b.add(stat("Records Not Ready", "DNSRecords with condition Ready False or Unknown: not written to the DNS provider",
		`count(kuadrant_dnsrecord_status{type="Ready"} == 0) or vector(0)`, true))
	b.add(stat("Records Unhealthy", "DNSRecords with condition Healthy False or Unknown: endpoints failing their health checks",
		`count(kuadrant_dnsrecord_status{type="Healthy"} == 0) or vector(0)`, true))
	b.add(stat("Probes Unhealthy", "DNSHealthCheckProbes reporting status.healthy false",
		`count(kuadrant_dnshealthcheckprobe_healthy_status == 0) or vector(0)`, true))
	b.add(stat("DNSPolicies Unhealthy", "DNSPolicies with condition SubResourcesHealthy False or Unknown",
		`count(gatewayapi_dnspolicy_status{type="SubResourcesHealthy"} == 0) or vector(0)`, true))
	b.add(conditionMatrix("DNSRecord Conditions", "Every condition of every DNSRecord: one row per namespace/record/root domain",
		`label_join(kuadrant_dnsrecord_status, "record", "/", "namespace", "name", "rootDomain")`,
		"record", "Namespace/DNSRecord/Root Domain"))
	b.add(size(table("Health Check Probes", "status.healthy of every DNSHealthCheckProbe",
		`kuadrant_dnshealthcheckprobe_healthy_status`, conditionTable, "Healthy"), 12, 6))
	b.add(size(stateTimeline("Probe Health History", "status.healthy of each DNSHealthCheckProbe over time",
		`min by (namespace, name) (kuadrant_dnshealthcheckprobe_healthy_status)`, "{{namespace}}/{{name}}", "Healthy", "Unhealthy"), 12, 6))
	b.add(conditionMatrix("DNSPolicy Records per Root Host", "status.recordConditions of every DNSPolicy: the conditions of the records of each root host (as the alert DNSPolicyRecordNotHealthy)",
		`label_join(gatewayapi_dnspolicy_status_record_conditions, "root", "/", "namespace", "name", "root_host")`,
		"root", "Namespace/DNSPolicy/Root Host"))
	b.add(size(table("Probes Failing Beyond Their Threshold", "Consecutive failures of each DNSHealthCheckProbe above its spec.failureThreshold (any, without one), as the alert DNSHealthCheckProbeFailuresAboveThreshold",
		ProbesFailingBeyondThreshold(),
		countTable, "Consecutive Failures"), 12, 6))
	b.add(size(timeseries("Probe Consecutive Failures", "status.consecutiveFailures of each DNSHealthCheckProbe over time",
		`max by (namespace, name) (kuadrant_dnshealthcheckprobe_status_consecutive_failures)`, "{{namespace}}/{{name}}", "short"), 12, 6))

	b.row("Status Freshness")
	b.add(stat("Stale Objects", "Objects whose status (or a route parent, listener or policy ancestor of it) has an observedGeneration behind metadata.generation",
		`count(`+StaleObjects()+`) or vector(0)`, true))
	b.add(size(table("Stale Status Entries", "observedGenerations behind metadata.generation, per object and controller (the object's own, and its route parents', listeners' and policy ancestors'): the controller has not reconciled the latest spec",
		StaleObjects(), countTable, "# Stale Entries"), 20, 6))
	// How long a condition has been failing, from Prometheus' own samples
	// (the per-condition lastTransitionTime families are opt-in): conditions
	// are 1 or 0, so one minus their average over a day is the share of the
	// day's samples in which they were False or Unknown.
	b.add(size(table("Failing Conditions, % of the Last Day Failing", "Top-level conditions False or Unknown now, and the share of the last 24 hours (of the samples Prometheus holds) they were not True",
		`100 * (1 - avg_over_time({__name__=~"(gatewayapi|kuadrant)_[a-z0-9]+_status"}[1d])) and on(customresource_group, customresource_kind, namespace, name, type) ({__name__=~"(gatewayapi|kuadrant)_[a-z0-9]+_status"} == 0)`,
		countTable, "% Failing"), 24, 8))
	return b.dashboard()
}
