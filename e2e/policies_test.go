// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kuadrant/gateway-api-metrics-exporter/internal/harness"
	"github.com/kuadrant/gateway-api-metrics-exporter/internal/testenv"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/policies"
)

// Envoy Gateway's policy CRDs come from its Go module, pinned here by version
// and by the module's go.sum hash: `go mod download` fetches it through the
// module proxy and checks it against the checksum database, and the test
// checks the hash again, so the CRDs are exactly that release's without
// Envoy Gateway entering any go.mod (no module imports it).
const (
	envoyGatewayModule  = "github.com/envoyproxy/gateway"
	envoyGatewayVersion = "v1.9.1"
	envoyGatewaySum     = "h1:vAVp6/AlBXJ1aOhp1mxL7fNEzVEfjADUguUhm2wzxQY="
)

// envoyGatewayPolicyCRDs are the policy CRDs of the Envoy Gateway release
// (charts/gateway-crds-helm/templates/generated, Helm guard lines removed),
// written into dir.
func envoyGatewayPolicyCRDs(t *testing.T, dir string) []string {
	t.Helper()
	out, err := exec.Command("go", "mod", "download", "-json", envoyGatewayModule+"@"+envoyGatewayVersion).Output()
	if err != nil {
		t.Fatalf("go mod download %s@%s: %v %s", envoyGatewayModule, envoyGatewayVersion, err, exitStderr(err))
	}
	var mod struct{ Dir, Sum, Error string }
	if err := json.Unmarshal(out, &mod); err != nil || mod.Dir == "" {
		t.Fatalf("go mod download: %v %q", err, out)
	}
	if mod.Sum != envoyGatewaySum {
		t.Fatalf("%s@%s has hash %s, want %s", envoyGatewayModule, envoyGatewayVersion, mod.Sum, envoyGatewaySum)
	}
	var files []string
	for _, plural := range []string{"securitypolicies", "backendtrafficpolicies", "clienttrafficpolicies", "envoyextensionpolicies"} {
		src := filepath.Join(mod.Dir, "charts/gateway-crds-helm/templates/generated", "gateway.envoyproxy.io_"+plural+".yaml")
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		var keep []string
		for _, l := range strings.Split(string(b), "\n") {
			if !strings.HasPrefix(l, "{{") {
				keep = append(keep, l)
			}
		}
		dst := filepath.Join(dir, plural+".yaml")
		if err := os.WriteFile(dst, []byte(strings.Join(keep, "\n")), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, dst)
	}
	return files
}

func exitStderr(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}

// quotaPolicyCRD is a policy of a made-up project, marked by the GEP-713
// label, with plain status.conditions. The test installs it while the
// exporter runs.
const quotaPolicyCRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: quotapolicies.policies.example.test
  labels: {gateway.networking.k8s.io/policy: Direct}
spec:
  group: policies.example.test
  scope: Namespaced
  names: {kind: QuotaPolicy, listKind: QuotaPolicyList, plural: quotapolicies, singular: quotapolicy}
  versions:
  - name: v1alpha1
    served: true
    storage: true
    subresources: {status: {}}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              limit: {type: integer}
              targetRef:
                type: object
                required: [group, kind, name]
                properties: {group: {type: string}, kind: {type: string}, name: {type: string}}
          status:
            type: object
            properties:
              conditions: {type: array, items: {type: object, x-kubernetes-preserve-unknown-fields: true}}
`

// loosePolicyCRD looks like a policy by its schema (spec.targetRef,
// status.ancestors) but lets its objects hold anything there: the bad input.
const loosePolicyCRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: loosepolicies.policies.example.test
spec:
  group: policies.example.test
  scope: Namespaced
  names: {kind: LoosePolicy, listKind: LoosePolicyList, plural: loosepolicies, singular: loosepolicy}
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              targetRef: {x-kubernetes-preserve-unknown-fields: true}
              targetRefs: {x-kubernetes-preserve-unknown-fields: true}
          status:
            type: object
            properties:
              ancestors: {x-kubernetes-preserve-unknown-fields: true}
`

// Policies with statuses as Envoy Gateway v1.9 writes them (controller
// gateway.envoyproxy.io/gatewayclass-controller, one ancestor per Gateway),
// and a BackendTLSPolicy, which metrics-spec declares.
const envoyGatewayPolicies = `
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: SecurityPolicy
metadata: {name: sp-cors}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: web}]
  cors: {allowOrigins: ["https://www.example.com"]}
status:
  ancestors:
  - ancestorRef: {group: gateway.networking.k8s.io, kind: Gateway, name: eg, namespace: ${NS}}
    controllerName: gateway.envoyproxy.io/gatewayclass-controller
    conditions:
    - {type: Accepted, status: "True", reason: Accepted, message: Policy has been accepted., observedGeneration: 1, lastTransitionTime: "2026-01-01T00:00:00Z"}
---
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: ClientTrafficPolicy
metadata: {name: ctp-gateway}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: eg}]
  timeout: {http: {idleTimeout: 5s}}
status:
  ancestors:
  - ancestorRef: {group: gateway.networking.k8s.io, kind: Gateway, name: eg, namespace: ${NS}}
    controllerName: gateway.envoyproxy.io/gatewayclass-controller
    conditions:
    - {type: Accepted, status: "True", reason: Accepted, message: Policy has been accepted., observedGeneration: 1, lastTransitionTime: "2026-01-01T00:00:00Z"}
    - {type: Overridden, status: "True", reason: Overridden, message: "This policy is being overridden by other clientTrafficPolicies for these listeners: [https]", observedGeneration: 1, lastTransitionTime: "2026-01-01T00:05:00Z"}
---
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: BackendTrafficPolicy
metadata: {name: btp-invalid}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: web}]
  timeout: {tcp: {connectTimeout: 2s}}
status:
  ancestors:
  - ancestorRef: {group: gateway.networking.k8s.io, kind: Gateway, name: eg, namespace: ${NS}, sectionName: http}
    controllerName: gateway.envoyproxy.io/gatewayclass-controller
    conditions:
    - {type: Accepted, status: "False", reason: Invalid, message: "Timeout: invalid value", observedGeneration: 1, lastTransitionTime: "2026-01-01T00:10:00Z"}
---
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: EnvoyExtensionPolicy
metadata: {name: eep-lua}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: eg}]
  lua: [{type: Inline, inline: "function envoy_on_response(h) end"}]
status:
  ancestors:
  - ancestorRef: {group: gateway.networking.k8s.io, kind: Gateway, name: eg, namespace: ${NS}}
    controllerName: gateway.envoyproxy.io/gatewayclass-controller
    conditions:
    - {type: Accepted, status: "True", reason: Accepted, message: Policy has been accepted., observedGeneration: 1, lastTransitionTime: "2026-01-01T00:00:00Z"}
---
apiVersion: gateway.networking.k8s.io/v1
kind: BackendTLSPolicy
metadata: {name: btls}
spec:
  targetRefs: [{group: "", kind: Service, name: backend}]
  validation: {hostname: backend.example.com, wellKnownCACertificates: System}
status:
  ancestors:
  - ancestorRef: {group: gateway.networking.k8s.io, kind: Gateway, name: eg, namespace: ${NS}}
    controllerName: gateway.envoyproxy.io/gatewayclass-controller
    conditions:
    - {type: Accepted, status: "True", reason: Accepted, message: Policy has been accepted., observedGeneration: 1, lastTransitionTime: "2026-01-01T00:00:00Z"}
`

// Objects of LoosePolicy that do not follow GEP-713's shape.
const loosePolicies = `
apiVersion: policies.example.test/v1
kind: LoosePolicy
metadata: {name: string-ref}
spec: {targetRef: eg}
status: {ancestors: not-a-list}
---
apiVersion: policies.example.test/v1
kind: LoosePolicy
metadata: {name: map-ancestors}
spec: {targetRef: {group: gateway.networking.k8s.io, kind: Gateway, name: eg}}
status:
  ancestors:
    ancestorRef: {kind: Gateway, name: eg}
    controllerName: example.test/ctl
    conditions: [{type: Accepted, status: "True"}, {type: Programmed, status: maybe}]
---
apiVersion: policies.example.test/v1
kind: LoosePolicy
metadata: {name: odd-labels}
spec: {targetRef: {group: gateway.networking.k8s.io, kind: "Gate\"way", name: "eg\\1", sectionName: "ünï code"}}
status:
  ancestors:
  - ancestorRef: {name: "line\nbreak"}
    controllerName: "例え.example/ctl"
    conditions: [{type: "a=b,c}", status: "True", reason: "R", message: "free text, never a label"}]
`

const quotaPolicy = `
apiVersion: policies.example.test/v1alpha1
kind: QuotaPolicy
metadata: {name: quota}
spec:
  limit: 100
  targetRef: {group: gateway.networking.k8s.io, kind: Gateway, name: eg}
status:
  conditions:
  - {type: Accepted, status: "True", reason: Accepted, message: ok, observedGeneration: 1, lastTransitionTime: "2026-01-01T00:00:00Z"}
  - {type: Enforced, status: "False", reason: Pending, message: waiting for the data plane, observedGeneration: 1, lastTransitionTime: "2026-01-01T00:10:00Z"}
`

// pol is the labels every discovered family of one object carries.
func pol(group, version, kind, name string) string {
	return fmt.Sprintf(`customresource_group=%q,customresource_kind=%q,customresource_version=%q,name=%q,namespace="${NS}",policy_group=%q,policy_kind=%q`,
		group, kind, version, name, group, kind)
}

const egAncestor = `ancestor_group="gateway.networking.k8s.io",ancestor_kind="Gateway",ancestor_name="eg",ancestor_namespace="${NS}"`
const egController = `controller_name="gateway.envoyproxy.io/gatewayclass-controller"`

// meta are the created/deleted/metadata_generation lines of one object.
func meta(labels, name string) []string {
	return []string{
		`gatewayapi_policy_created{` + labels + `} ${CREATED:` + name + `}`,
		`gatewayapi_policy_deleted{` + labels + `} 0`,
		`gatewayapi_policy_metadata_generation{` + labels + `} 1`,
	}
}

// entry is the lowest observedGeneration of one ancestor's conditions.
func entry(anc, labels, generation string) []string {
	return []string{`gatewayapi_policy_ancestor_observed_generation{` + anc + `,` + labels + `} ` + generation}
}

// ancestor are the three families of one ancestor condition (the last two
// opt-in).
func ancestor(anc, labels, typ, value, generation, ltt string) []string {
	return []string{
		`gatewayapi_policy_ancestor_condition{` + anc + `,` + labels + `,type="` + typ + `"} ` + value,
		`gatewayapi_policy_ancestor_condition_observed_generation{` + anc + `,` + labels + `,type="` + typ + `"} ` + generation,
		`gatewayapi_policy_ancestor_condition_last_transition_time{` + anc + `,` + labels + `,type="` + typ + `"} ` + ltt,
	}
}

func concat(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// deleteCRDs removes CRDs (and so their objects) and waits until they are
// gone, so that the package's other tests see the kinds they expect.
func deleteCRDs(t *testing.T, env *testenv.Env, names ...string) {
	crds := env.Dynamic().Resource(policies.CRDs)
	ctx := ctxFor(t)
	for _, n := range names {
		if err := crds.Delete(ctx, n, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("delete CRD %s: %v", n, err)
		}
	}
	for _, n := range names {
		for {
			if _, err := crds.Get(ctx, n, metav1.GetOptions{}); apierrors.IsNotFound(err) {
				break
			} else if ctx.Err() != nil {
				t.Errorf("CRD %s still there: %v", n, err)
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
}

// scrapeUntil scrapes until done accepts the sample lines (the reflectors of
// watch mode, or a CRD the API server just started serving, need a moment),
// and returns them; after 60s it returns what it has.
func scrapeUntil(t *testing.T, x *exporter, done func(lines []string) bool) []string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		r := x.scrape(t)
		parseText(t, r.Body)
		lines := harness.SampleLines(r.Body)
		if done(lines) || time.Now().After(deadline) {
			return lines
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func hasAll(lines []string, want ...string) bool {
	set := map[string]bool{}
	for _, l := range lines {
		set[l] = true
	}
	for _, w := range want {
		if !set[w] {
			return false
		}
	}
	return true
}

func TestDiscoveredPolicies(t *testing.T)      { runDiscoveredPolicies(t, "list") }
func TestDiscoveredPoliciesWatch(t *testing.T) { runDiscoveredPolicies(t, "watch") }

// runDiscoveredPolicies: with no configuration, Envoy Gateway's four policy
// kinds (found by their schema) and a made-up LoosePolicy are served at
// start-up with the generic families; BackendTLSPolicy keeps its declared
// ones; a QuotaPolicy CRD installed while the exporter runs (found by its
// GEP-713 label) is served from a later scrape, and stops being served once
// its CRD is deleted. Objects that do not follow the shape, odd label values
// and 1,000 targetRefs never fail the scrape.
func runDiscoveredPolicies(t *testing.T, mode string) {
	env := testenv.Current(t)
	ns := nsFor(t)
	dir := t.TempDir()

	crdFiles := envoyGatewayPolicyCRDs(t, dir)
	loose := filepath.Join(dir, "loosepolicies.yaml")
	if err := os.WriteFile(loose, []byte(loosePolicyCRD), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		deleteCRDs(t, env, "securitypolicies.gateway.envoyproxy.io", "backendtrafficpolicies.gateway.envoyproxy.io",
			"clienttrafficpolicies.gateway.envoyproxy.io", "envoyextensionpolicies.gateway.envoyproxy.io",
			"loosepolicies.policies.example.test", "quotapolicies.policies.example.test")
	})
	if err := env.InstallCRDs(ctxFor(t), append(crdFiles, loose)...); err != nil {
		t.Fatal(err)
	}
	objs := applyYAML(t, env, ns, envoyGatewayPolicies)
	objs = append(objs, applyYAML(t, env, ns, loosePolicies)...)
	var many strings.Builder
	many.WriteString("apiVersion: policies.example.test/v1\nkind: LoosePolicy\nmetadata: {name: many-refs}\nspec:\n  targetRefs:\n")
	var wantMany []string
	for i := range 1000 {
		fmt.Fprintf(&many, "  - {group: gateway.networking.k8s.io, kind: HTTPRoute, name: route-%04d}\n", i)
		wantMany = append(wantMany, fmt.Sprintf(`gatewayapi_policy_target_info{%s,target_group="gateway.networking.k8s.io",target_kind="HTTPRoute",target_name="route-%04d"} 1`,
			pol("policies.example.test", "v1", "LoosePolicy", "many-refs"), i),
			// The namespace has no HTTPRoutes: no target exists.
			fmt.Sprintf(`gatewayapi_policy_target_resolved{%s,target_group="gateway.networking.k8s.io",target_kind="HTTPRoute",target_name="route-%04d"} 0`,
				pol("policies.example.test", "v1", "LoosePolicy", "many-refs"), i))
	}
	objs = append(objs, applyYAML(t, env, ns, many.String())...)

	// Every discovered family, the opt-in per-condition ones included.
	x := startExporter(t, "--kubeconfig="+env.Kubeconfig, "--namespaces="+ns, "--collection="+mode, "--metric-opt-in-list=^gatewayapi_policy_")

	const eg = "gateway.envoyproxy.io"
	sp, ctp := pol(eg, "v1alpha1", "SecurityPolicy", "sp-cors"), pol(eg, "v1alpha1", "ClientTrafficPolicy", "ctp-gateway")
	btp, eep := pol(eg, "v1alpha1", "BackendTrafficPolicy", "btp-invalid"), pol(eg, "v1alpha1", "EnvoyExtensionPolicy", "eep-lua")
	lp := func(name string) string { return pol("policies.example.test", "v1", "LoosePolicy", name) }
	gwTarget := `target_group="gateway.networking.k8s.io",target_kind="Gateway",target_name="eg"`
	routeTarget := `target_group="gateway.networking.k8s.io",target_kind="HTTPRoute",target_name="web"`
	want := concat(
		meta(sp, "sp-cors"),
		[]string{`gatewayapi_policy_target_info{` + sp + `,` + routeTarget + `} 1`, `gatewayapi_policy_target_resolved{` + sp + `,` + routeTarget + `} 0`},
		ancestor(egAncestor+`,`+egController, sp, "Accepted", "1", "1", "1.7672256e+09"),
		entry(egAncestor+`,`+egController, sp, "1"),

		meta(ctp, "ctp-gateway"),
		[]string{`gatewayapi_policy_target_info{` + ctp + `,` + gwTarget + `} 1`, `gatewayapi_policy_target_resolved{` + ctp + `,` + gwTarget + `} 0`},
		ancestor(egAncestor+`,`+egController, ctp, "Accepted", "1", "1", "1.7672256e+09"),
		ancestor(egAncestor+`,`+egController, ctp, "Overridden", "1", "1", "1.7672259e+09"),
		entry(egAncestor+`,`+egController, ctp, "1"),

		meta(btp, "btp-invalid"),
		[]string{`gatewayapi_policy_target_info{` + btp + `,` + routeTarget + `} 1`, `gatewayapi_policy_target_resolved{` + btp + `,` + routeTarget + `} 0`},
		ancestor(egAncestor+`,ancestor_section_name="http",`+egController, btp, "Accepted", "0", "1", "1.7672262e+09"),
		entry(egAncestor+`,ancestor_section_name="http",`+egController, btp, "1"),

		meta(eep, "eep-lua"),
		[]string{`gatewayapi_policy_target_info{` + eep + `,` + gwTarget + `} 1`, `gatewayapi_policy_target_resolved{` + eep + `,` + gwTarget + `} 0`},
		ancestor(egAncestor+`,`+egController, eep, "Accepted", "1", "1", "1.7672256e+09"),
		entry(egAncestor+`,`+egController, eep, "1"),

		// A string targetRef and a string ancestors: no target, no ancestor.
		meta(lp("string-ref"), "string-ref"),
		// One ancestor object in place of a list: read as a list of one; it
		// has no observedGeneration or lastTransitionTime. Status "maybe" is
		// no condition status: no sample, an evaluation error (below).
		meta(lp("map-ancestors"), "map-ancestors"),
		[]string{
			`gatewayapi_policy_target_info{` + lp("map-ancestors") + `,` + gwTarget + `} 1`,
			`gatewayapi_policy_target_resolved{` + lp("map-ancestors") + `,` + gwTarget + `} 0`,
			`gatewayapi_policy_ancestor_condition{ancestor_kind="Gateway",ancestor_name="eg",controller_name="example.test/ctl",` + lp("map-ancestors") + `,type="Accepted"} 1`,
		},
		// Label values escaped as the exposition format wants; message and
		// reason are no labels. Its target is of no kind the exporter reads:
		// no target_resolved.
		meta(lp("odd-labels"), "odd-labels"),
		[]string{
			`gatewayapi_policy_target_info{` + lp("odd-labels") + `,target_group="gateway.networking.k8s.io",target_kind="Gate\"way",target_name="eg\\1",target_section_name="ünï code"} 1`,
			`gatewayapi_policy_ancestor_condition{ancestor_name="line\nbreak",controller_name="例え.example/ctl",` + lp("odd-labels") + `,type="a=b,c}"} 1`,
		},
		meta(lp("many-refs"), "many-refs"),
		wantMany,
	)
	wantUp := []string{
		upLine(eg, "BackendTrafficPolicy", "v1alpha1", "1"), upLine(eg, "ClientTrafficPolicy", "v1alpha1", "1"),
		upLine(eg, "EnvoyExtensionPolicy", "v1alpha1", "1"), upLine(eg, "SecurityPolicy", "v1alpha1", "1"),
		upLine("policies.example.test", "LoosePolicy", "v1", "1"),
	}
	discoveredUp := func(lines []string) []string {
		var out []string
		for _, l := range lines {
			if strings.HasPrefix(l, `gateway_metrics_up{group="gateway.envoyproxy.io"`) || strings.HasPrefix(l, `gateway_metrics_up{group="policies.example.test"`) {
				out = append(out, l)
			}
		}
		return out
	}
	lines := scrapeUntil(t, x, func(lines []string) bool { return hasAll(lines, wantUp...) })
	assertLines(t, "start-up: gateway_metrics_up of the discovered kinds", discoveredUp(lines), wantUp)
	assertLines(t, "start-up: gatewayapi_policy_*", harness.WithPrefix(lines, "gatewayapi_policy_"), expand(t, ns, objs, nil, want))
	checkNoDuplicateSeries(t, lines)
	// BackendTLSPolicy is declared in metrics-spec: its own families only.
	btls := `gatewayapi_backendtlspolicy_status_ancestors_conditions{ancestor_group="gateway.networking.k8s.io",ancestor_kind="Gateway",ancestor_name="eg",ancestor_namespace="${NS}",controller_name="gateway.envoyproxy.io/gatewayclass-controller",customresource_group="gateway.networking.k8s.io",customresource_kind="BackendTLSPolicy",customresource_version="v1",name="btls",namespace="${NS}",type="Accepted"} 1`
	if !hasAll(lines, expand(t, ns, nil, nil, []string{btls})...) {
		t.Errorf("BackendTLSPolicy lost its declared families; want %s", btls)
	}
	for _, l := range harness.WithPrefix(lines, "gatewayapi_policy_") {
		if strings.Contains(l, `policy_kind="BackendTLSPolicy"`) {
			t.Errorf("BackendTLSPolicy is declared, yet discovered: %s", l)
		}
	}
	for _, l := range lines {
		if harness.MetricName(l) == "gatewayapi_policy_ancestor_condition" && strings.Contains(l, `policy_group="gateway.envoyproxy.io"`) {
			t.Logf("an Envoy Gateway user sees: %s", l)
		}
	}

	// The same per-family error accounting as declared kinds.
	fams := parseText(t, x.get(t, x.TelemetryURL+"/metrics").Body)
	evalErrs := 0.0
	if f := fams["gateway_metrics_family_evaluation_errors"]; f != nil {
		for _, m := range f.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == "family" && lp.GetValue() == "gatewayapi_policy_ancestor_condition" {
					evalErrs += m.GetGauge().GetValue()
				}
			}
		}
	}
	// The string ancestors of string-ref and the status "maybe" of
	// map-ancestors.
	if evalErrs != 2 {
		t.Errorf("gateway_metrics_family_evaluation_errors{family=\"gatewayapi_policy_ancestor_condition\"} = %v, want 2 (string ancestors, status \"maybe\")", evalErrs)
	}

	// API calls: list mode makes one LIST per discovered kind per scrape
	// (one namespace here, one page), watch mode none; finding the kinds
	// (one watch on CRDs) costs nothing per scrape.
	before := listCounts(t, x)
	for range 3 {
		x.scrape(t)
	}
	after := listCounts(t, x)
	perScrape := 3.0
	if mode == "watch" {
		perScrape = 0
	}
	for _, k := range []string{"SecurityPolicy", "BackendTrafficPolicy", "ClientTrafficPolicy", "EnvoyExtensionPolicy", "LoosePolicy"} {
		if d := after[k] - before[k]; d != perScrape {
			t.Errorf("%s mode: %v LISTs of %s in 3 scrapes, want %v", mode, d, k, perScrape)
		}
	}

	// A policy CRD installed while the exporter runs.
	qfile := filepath.Join(dir, "quotapolicies.yaml")
	if err := os.WriteFile(qfile, []byte(quotaPolicyCRD), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := env.InstallCRDs(ctxFor(t), qfile); err != nil {
		t.Fatal(err)
	}
	qobjs := applyYAML(t, env, ns, quotaPolicy)
	q := pol("policies.example.test", "v1alpha1", "QuotaPolicy", "quota")
	wantQuota := expand(t, ns, qobjs, nil, concat(meta(q, "quota"), []string{
		`gatewayapi_policy_target_info{` + q + `,` + gwTarget + `} 1`,
		`gatewayapi_policy_target_resolved{` + q + `,` + gwTarget + `} 0`,
		`gatewayapi_policy_status_condition{` + q + `,type="Accepted"} 1`,
		`gatewayapi_policy_status_condition{` + q + `,type="Enforced"} 0`,
		`gatewayapi_policy_status_observed_generation{` + q + `} 1`,
		`gatewayapi_policy_status_condition_observed_generation{` + q + `,type="Accepted"} 1`,
		`gatewayapi_policy_status_condition_observed_generation{` + q + `,type="Enforced"} 1`,
		`gatewayapi_policy_status_condition_last_transition_time{` + q + `,type="Accepted"} 1.7672256e+09`,
		`gatewayapi_policy_status_condition_last_transition_time{` + q + `,type="Enforced"} 1.7672262e+09`,
	}))
	quotaUp := upLine("policies.example.test", "QuotaPolicy", "v1alpha1", "1")
	lines = scrapeUntil(t, x, func(lines []string) bool { return hasAll(lines, append(wantQuota, quotaUp)...) })
	assertLines(t, "after installing QuotaPolicy: gateway_metrics_up", discoveredUp(lines), append(wantUp, quotaUp))
	assertLines(t, "after installing QuotaPolicy: gatewayapi_policy_*", harness.WithPrefix(lines, "gatewayapi_policy_"),
		append(expand(t, ns, objs, nil, want), wantQuota...))

	// Its CRD deleted: the kind and its series go, the others stay.
	deleteCRDs(t, env, "quotapolicies.policies.example.test")
	lines = scrapeUntil(t, x, func(lines []string) bool {
		return !strings.Contains(strings.Join(lines, "\n"), `QuotaPolicy`)
	})
	assertLines(t, "after deleting QuotaPolicy: gateway_metrics_up", discoveredUp(lines), wantUp)
	assertLines(t, "after deleting QuotaPolicy: gatewayapi_policy_*", harness.WithPrefix(lines, "gatewayapi_policy_"), expand(t, ns, objs, nil, want))
}

// With --discover-policies=false the exporter serves the spec's kinds only.
func TestDiscoverPoliciesOff(t *testing.T) {
	env := testenv.Current(t)
	ns := nsFor(t)
	dir := t.TempDir()
	qfile := filepath.Join(dir, "quotapolicies.yaml")
	if err := os.WriteFile(qfile, []byte(quotaPolicyCRD), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { deleteCRDs(t, env, "quotapolicies.policies.example.test") })
	if err := env.InstallCRDs(ctxFor(t), qfile); err != nil {
		t.Fatal(err)
	}
	applyYAML(t, env, ns, quotaPolicy)

	off := startExporter(t, "--kubeconfig="+env.Kubeconfig, "--namespaces="+ns, "--discover-policies=false")
	r := off.scrape(t)
	parseText(t, r.Body)
	if s := string(r.Body); strings.Contains(s, "gatewayapi_policy_") || strings.Contains(s, "QuotaPolicy") {
		t.Errorf("--discover-policies=false serves discovered families:\n%s", s)
	}
	assertAllUp(t, harness.SampleLines(r.Body))

	// The allow/deny lists apply to discovered families; without
	// --metric-opt-in-list, the per-condition freshness families are not
	// served, the per-object one is.
	deny := startExporter(t, "--kubeconfig="+env.Kubeconfig, "--namespaces="+ns, "--metric-denylist=gatewayapi_policy_status_condition.*,gatewayapi_policy_created")
	lines := harness.SampleLines(deny.scrape(t).Body)
	q := pol("policies.example.test", "v1alpha1", "QuotaPolicy", "quota")
	assertLines(t, "denylist: gatewayapi_policy_*", harness.WithPrefix(lines, "gatewayapi_policy_"), expand(t, ns, nil, nil, []string{
		`gatewayapi_policy_deleted{` + q + `} 0`,
		`gatewayapi_policy_metadata_generation{` + q + `} 1`,
		`gatewayapi_policy_status_observed_generation{` + q + `} 1`,
		`gatewayapi_policy_target_info{` + q + `,target_group="gateway.networking.k8s.io",target_kind="Gateway",target_name="eg"} 1`,
		`gatewayapi_policy_target_resolved{` + q + `,target_group="gateway.networking.k8s.io",target_kind="Gateway",target_name="eg"} 0`,
	}))
}
