// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package dashboards

// The Policy Attachment dashboard: every policy kind the exporter discovers
// (GEP-713; gatewayapi_policy_* families, see METRICS.md "Discovered
// policies"), whichever project defines it, with the state each ancestor
// reports.

const uidPolicyAttachment = "gatewayapipolicyattachment"

func policyAttachment() *Dashboard {
	b := newBoard(uidPolicyAttachment, "Gateway API State / Policy Attachment",
		"Every Policy Attachment kind in the cluster (Envoy Gateway's, Gateway API's, any project's), discovered by gateway-api-metrics-exporter without configuration: targets, and the state each ancestor reports.",
		"gatewayapi_policy_created")
	b.variable("policy_kind", "Policy Kind", "label_values(gatewayapi_policy_created, policy_kind)", "")
	sel := `policy_kind=~"${policy_kind}"`

	b.row("Discovered Policies")
	b.add(stat("Policy Kinds", "Policy kinds discovered (with at least one object)",
		`count(count by (policy_group, policy_kind) (gatewayapi_policy_created))`, false))
	b.add(stat("Policies", "Policies of the selected kinds", `count(gatewayapi_policy_created{`+sel+`})`, false))
	b.add(stat("Not Accepted", "Policy/ancestor pairs with condition Accepted False or Unknown, and policies whose top-level Accepted is not True",
		`count(gatewayapi_policy_ancestor_condition{`+sel+`, type="Accepted"} == 0 or gatewayapi_policy_status_condition{`+sel+`, type="Accepted"} == 0) or vector(0)`, true))
	b.add(stat("Overridden / Conflicted", "Policy/ancestor pairs with condition Overridden or Conflicted True",
		`count(gatewayapi_policy_ancestor_condition{`+sel+`, type=~"Overridden|Conflicted"} == 1 or gatewayapi_policy_status_condition{`+sel+`, type=~"Overridden|Conflicted"} == 1) or vector(0)`, true))
	b.add(size(table("Policies per Kind", "Objects of each discovered policy kind",
		`count by (policy_group, policy_kind) (gatewayapi_policy_created{`+sel+`})`, countTable, "# Policies"), 8, 8))
	b.add(size(table("Targets", "What each policy targets (spec.targetRef or spec.targetRefs)",
		`gatewayapi_policy_target_info{`+sel+`}`, plainTable, ""), 16, 8))

	b.row("Ancestors")
	b.add(conditionMatrix("Ancestor State", "One row per policy and ancestor (controller), one column per condition type; Overridden and Conflicted are bad when True",
		`max by (policy_ancestor, type) (label_join(gatewayapi_policy_ancestor_condition{`+sel+`}, "policy_ancestor", " ", "policy_kind", "namespace", "name", "ancestor_kind", "ancestor_namespace", "ancestor_name", "ancestor_section_name"))`,
		"policy_ancestor", "Policy / Ancestor", "Overridden", "Conflicted"))
	b.add(size(table("Ancestor Conditions", "status.ancestors[].conditions, per ancestor and controller",
		`gatewayapi_policy_ancestor_condition{`+sel+`}`, conditionTable, "Status"), 24, 8))
	b.add(size(table("Top-level Conditions", "status.conditions of policies without a PolicyStatus",
		`gatewayapi_policy_status_condition{`+sel+`}`, conditionTable, "Status"), 12, 8))
	b.add(size(table("Targets Not Found", "Targets that do not exist (of the kinds the exporter reads; with a sectionName, the listener or rule too), as the alert PolicyTargetNotFound for the discovered kinds",
		`gatewayapi_policy_target_resolved{`+sel+`} == 0`, plainTable, ""), 12, 8))
	return b.dashboard()
}
