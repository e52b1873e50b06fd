// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package deploytest

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/kuadrant/gateway-api-metrics-exporter/internal/refdata"
)

// TestKuadrantExampleCoverageRules runs Kuadrant's current example
// "policies missing" rules (kuadrant-operator
// examples/alerts/prometheusrules_policies_missing.yaml, read from ../shared)
// with promtool on the input of our first AuthPolicy coverage test
// (deploy/rules/tests/kuadrant-coverage.yaml), and pins what they answer: the
// wrong answers our HTTPRouteWithoutAuthPolicy fixes. Ours fire, on the same
// objects, for apps/other-listener, apps/edge-route, staging/shop and
// apps/orphan only.
func TestKuadrantExampleCoverageRules(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if refdata.InCI() {
			t.Fatal("CI=true: promtool not in PATH (deploy/rules/test.sh installs it)")
		}
		t.Skip("skipping: promtool not in PATH (deploy/rules/test.sh installs it)")
	}
	const upstreamRel = "anchors/kuadrant-current/alerts/prometheusrules_policies_missing.yaml"
	upstream := filepath.Join(refdata.Require(t, upstreamRel), upstreamRel)
	data, err := os.ReadFile(upstream)
	if err != nil {
		t.Fatal(err)
	}
	var pr struct {
		Spec struct {
			Groups []map[string]any `json:"groups"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(data, &pr); err != nil {
		t.Fatal(err)
	}
	// Prefix their alert names, which are also ours.
	for _, g := range pr.Spec.Groups {
		rules, _ := g["rules"].([]any)
		for _, r := range rules {
			if m, ok := r.(map[string]any); ok && m["alert"] != nil {
				m["alert"] = fmt.Sprint("KuadrantExample", m["alert"])
			}
		}
	}
	dir := t.TempDir()
	rulesJSON, err := json.Marshal(map[string]any{"groups": pr.Spec.Groups})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "upstream.rules.yaml"), rulesJSON, 0o644); err != nil {
		t.Fatal(err)
	}

	var ours struct {
		Tests []struct {
			Name        string `json:"name"`
			InputSeries []any  `json:"input_series"`
		} `json:"tests"`
	}
	if err := yaml.Unmarshal(readRepoFile(t, "deploy/rules/tests/kuadrant-coverage.yaml"), &ours); err != nil {
		t.Fatal(err)
	}
	if len(ours.Tests) == 0 || !strings.HasPrefix(ours.Tests[0].Name, "AuthPolicy coverage") {
		t.Fatalf("deploy/rules/tests/kuadrant-coverage.yaml: first test is not the AuthPolicy coverage case")
	}

	// Kuadrant's rule joins on the route name alone and only looks at
	// policies that target HTTPRoutes. Wrong at 10m:
	//   - alerts although covered: via-gateway, all-listeners, local (a policy
	//     on their Gateway), via-listener (a policy on their listener),
	//     via-listenerset (a policy on its ListenerSet's Gateway), affected
	//     (Kuadrant reports kuadrant.io/AuthPolicyAffected True);
	//   - silent although not covered: staging/shop (apps/shop's policy
	//     targets a route of the same name in another namespace).
	// Right: other-listener, edge-route and orphan alert; late, xns and
	// apps/shop don't.
	var exp []map[string]any
	for _, name := range []string{"via-gateway", "via-listener", "other-listener", "all-listeners", "edge-route", "local", "affected", "via-listenerset", "orphan"} {
		exp = append(exp, map[string]any{
			"exp_labels": map[string]string{
				"severity": "warning", "customresource_group": "gateway.networking.k8s.io", "customresource_kind": "HTTPRoute",
				"customresource_version": "v1", "name": name, "namespace": "apps", "httproute_name": name,
			},
			"exp_annotations": map[string]string{
				"summary":     "No AuthPolicy targeting HTTPRoute '" + name + "'",
				"description": "This alert fires if a HTTPRoute does not have an associated AuthPolicy.",
			},
		})
	}
	test := map[string]any{
		"rule_files":          []string{"upstream.rules.yaml"},
		"evaluation_interval": "1m",
		"tests": []any{map[string]any{
			"interval":     "1m",
			"input_series": ours.Tests[0].InputSeries,
			"alert_rule_test": []any{map[string]any{
				"eval_time": "10m", "alertname": "KuadrantExampleHTTPRouteWithoutAuthPolicy", "exp_alerts": exp,
			}},
		}},
	}
	testJSON, err := json.Marshal(test)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "test.yaml"), testJSON, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(promtool, "test", "rules", "test.yaml")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("Kuadrant's example rule did not give the answers pinned here: %v\n%s", err, out)
	}
}
