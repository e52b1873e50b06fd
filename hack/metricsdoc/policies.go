// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"fmt"
	"strings"

	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/engine"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/exposition"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/objects"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/policies"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/spec"
)

// demoPolicy is an Envoy Gateway SecurityPolicy as its controller reports it.
const demoPolicy = `apiVersion: gateway.envoyproxy.io/v1alpha1
kind: SecurityPolicy
metadata: {name: demo-cors, namespace: demo, generation: 2, creationTimestamp: "2026-11-24T06:00:00Z"}
spec:
  targetRefs:
  - {group: gateway.networking.k8s.io, kind: HTTPRoute, name: demo-route}
status:
  ancestors:
  - ancestorRef: {group: gateway.networking.k8s.io, kind: Gateway, name: demo-gateway, namespace: demo}
    controllerName: gateway.envoyproxy.io/gatewayclass-controller
    conditions:
    - {type: Accepted, status: "True", reason: Accepted, message: Policy has been accepted., observedGeneration: 2, lastTransitionTime: "2026-11-24T06:00:05Z"}
`

const policiesIntro = `
## Discovered policies (no configuration)

Every served CustomResourceDefinition that is a Policy Attachment (GEP-713) is discovered at start-up and whenever
CRDs change (one watch on ` + "`customresourcedefinitions`" + `): it carries the label ` + "`gateway.networking.k8s.io/policy`" + `,
or a served version's schema has ` + "`spec.targetRef`/`spec.targetRefs`" + ` and ` + "`status.ancestors`/`status.conditions`" + `.
Envoy Gateway's SecurityPolicy, BackendTrafficPolicy, ClientTrafficPolicy, EnvoyExtensionPolicy and EnvoyPatchPolicy
are found by their schema. A kind the spec above declares (at any version) keeps exactly its declared families and is
not discovered again. Each discovered kind is read at its highest served version, with one LIST per scrape (list mode)
or one watch (watch mode), reports ` + "`gateway_metrics_up`" + ` like any kind, and serves the families below, declared in
[` + "`pkg/policies/families.yaml`" + `](pkg/policies/families.yaml). Every kind shares the family names;
` + "`policy_group`" + ` and ` + "`policy_kind`" + ` tell them apart. ` + "`--discover-policies=false`" + ` turns discovery off;
` + "`--metric-allowlist`/`--metric-denylist`" + ` apply to these families (a kind left with none is not read), and the opt-in
ones are served when ` + "`--metric-opt-in-list`" + ` names them. The exporter
needs ` + "`list`/`watch`" + ` on each discovered kind; a kind it may not list (403) is skipped, logged once, with no series and no ` + "`gateway_metrics_up`" + ` until it is granted (a kind a spec declares is reported down instead) (for Envoy
Gateway, grant them on ` + "`gateway.envoyproxy.io`" + ` ` + "`securitypolicies`, `backendtrafficpolicies`, `clienttrafficpolicies`, `envoyextensionpolicies`, `envoypatchpolicies`" + `, e.g. with the chart's ` + "`rbac.extraRules`" + `).

Objects that do not follow the shape are tolerated, never a failed scrape: a reference that is not an object (a
string, a number) yields no ` + "`target_info`" + ` sample; a single object where a list is expected (` + "`status.ancestors`" + `,
` + "`status.conditions`" + `) is read as a list of one; a condition status that is not True/False/Unknown has no sample and
counts in ` + "`gateway_metrics_family_evaluation_errors`" + `. There is no cap on references: a policy with 1,000 targetRefs
has 1,000 ` + "`target_info`" + ` series (the API server bounds an object's size; Gateway API's own policies allow 16). No
free-text field (` + "`message`, `reason`" + `) becomes a label.

`

func policiesSection() (string, error) {
	var b strings.Builder
	b.WriteString(policiesIntro)
	k := policies.Template()
	b.WriteString("| family | type | labels | help |\n|---|---|---|---|\n")
	done := map[string]bool{}
	for _, f := range k.Families {
		if done[f.Name] {
			continue
		}
		done[f.Name] = true
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", f.Name, typeCell(f), labelList(k, f), escapeCell(f.Help))
	}
	objs, err := objects.Parse([]byte(demoPolicy))
	if err != nil {
		return "", err
	}
	crd := policies.CRD{Name: "securitypolicies.gateway.envoyproxy.io", Group: "gateway.envoyproxy.io", Version: "v1alpha1", Kind: "SecurityPolicy", Plural: "securitypolicies", Namespaced: true}
	plan := &spec.Plan{Kinds: policies.Kinds([]policies.CRD{crd}, &spec.Plan{}, nil)}
	body, _ := engine.RenderObjects(plan, objs, exposition.Text, nil)
	b.WriteString("\nExamples, rendered from an Envoy Gateway SecurityPolicy accepted by its Gateway (`hack/metricsdoc/policies.go`):\n\n```\n")
	seen := map[string]bool{}
	for _, l := range strings.Split(string(body), "\n") {
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		name := l[:strings.IndexAny(l, "{ ")]
		if !seen[name] {
			seen[name] = true
			b.WriteString(l + "\n")
		}
	}
	for _, f := range k.Families {
		if !seen[f.Name] {
			seen[f.Name] = true
			fmt.Fprintf(&b, "# %s: no sample for this object (it has no top-level conditions)\n", f.Name)
		}
	}
	b.WriteString("```\n")
	return b.String(), nil
}
