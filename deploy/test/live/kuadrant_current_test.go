// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package live

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

const kuadrantCurrentRel = "anchors/kuadrant-current"

// kuadrantRule is one rule of Kuadrant's example PrometheusRules.
type kuadrantRule struct {
	File, Group, Name, Expr string
	Alert                   bool
}

// kuadrantRuleFiles reads the PrometheusRules in dir (Kuadrant's
// examples/alerts), writes each one's spec.groups as a Prometheus rule file
// under tmp, and returns the files and the rules.
func kuadrantRuleFiles(t *testing.T, dir, tmp string) ([]string, []kuadrantRule) {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	var rules []kuadrantRule
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range bytes.Split(data, []byte("\n---")) {
			var pr struct {
				Kind string `json:"kind"`
				Spec struct {
					Groups []struct {
						Name  string `json:"name"`
						Rules []struct {
							Alert  string `json:"alert"`
							Record string `json:"record"`
							Expr   string `json:"expr"`
						} `json:"rules"`
					} `json:"groups"`
				} `json:"spec"`
			}
			if err := yaml.Unmarshal(doc, &pr); err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			if pr.Kind != "PrometheusRule" {
				continue
			}
			var raw struct {
				Spec struct {
					Groups any `json:"groups"`
				} `json:"spec"`
			}
			if err := yaml.Unmarshal(doc, &raw); err != nil {
				t.Fatal(err)
			}
			// JSON is YAML: Prometheus reads the groups as they are.
			out, err := json.Marshal(map[string]any{"groups": raw.Spec.Groups})
			if err != nil {
				t.Fatal(err)
			}
			f := filepath.Join(tmp, fmt.Sprintf("%s-%d.rules.yaml", strings.TrimSuffix(filepath.Base(p), ".yaml"), i))
			if err := os.WriteFile(f, out, 0o644); err != nil {
				t.Fatal(err)
			}
			files = append(files, f)
			for _, g := range pr.Spec.Groups {
				for _, r := range g.Rules {
					name, alert := r.Record, false
					if r.Alert != "" {
						name, alert = r.Alert, true
					}
					rules = append(rules, kuadrantRule{File: filepath.Base(p), Group: g.Name, Name: name, Expr: r.Expr, Alert: alert})
				}
			}
		}
	}
	if len(rules) == 0 {
		t.Fatalf("no PrometheusRule rules in %s", dir)
	}
	return files, rules
}

// TestKuadrantCurrentWithPrometheus evaluates Kuadrant's current example
// dashboards and alerting rules (kuadrant-operator examples/dashboards and
// examples/alerts, in ../shared/anchors/kuadrant-current) with a real
// Prometheus on two sources for the same objects: real kube-state-metrics
// output with the old Kuadrant CRS config, and what our default spec renders.
// Every query, template variable, rule expression and resulting alert must
// give the same series (labels and values) on both.
//
// Kuadrant's dashboards filter on exported_namespace: they expect Prometheus
// to scrape without honorLabels, so the target's namespace label pushes the
// objects' one to exported_namespace. Both Prometheus servers scrape that way
// here (target label namespace="monitoring").
func TestKuadrantCurrentWithPrometheus(t *testing.T) {
	promBin := requireTool(t, "prometheus")
	sharedRoot := sharedDir(t, goldenRel, kuadrantCurrentRel+"/dashboards", kuadrantCurrentRel+"/alerts")
	ksmBody, oursBody := goldenBodies(t, sharedRoot)
	ruleFiles, rules := kuadrantRuleFiles(t, filepath.Join(sharedRoot, kuadrantCurrentRel, "alerts"), t.TempDir())
	target := map[string]string{"namespace": "monitoring"}
	ksm := startPrometheus(t, promBin, "ksm-kuadrant", []scrapeJob{{Name: "ksm", Target: serveText(t, ksmBody), Labels: target}}, ruleFiles)
	ours := startPrometheus(t, promBin, "ours-kuadrant", []scrapeJob{{Name: "ours", Target: serveText(t, oursBody), Labels: target}}, ruleFiles)
	for _, p := range []*prometheus{ksm, ours} {
		p.waitScraped(t, 60*time.Second)
	}
	for _, p := range []*prometheus{ksm, ours} {
		for _, r := range p.waitRulesEvaluated(t, 30*time.Second) {
			if r.Health != "ok" {
				t.Errorf("prometheus %s: rule %s/%s: health %s, error %q", p.Name, r.Group, r.Name, r.Health, r.LastError)
			}
		}
	}

	// compare evaluates q on both and reports whether it returned data and
	// whether both answers are the same.
	compare := func(t *testing.T, what, q string) (withData, same bool) {
		t.Helper()
		rk, err1 := ksm.query(q)
		ro, err2 := ours.query(q)
		if err1 != nil || err2 != nil {
			t.Errorf("%s: %s\n    ksm: %v\n    ours: %v", what, q, err1, err2)
			return false, false
		}
		k, o := canonical(rk, true), canonical(ro, true)
		if slices.Equal(k, o) {
			return len(k) > 0, true
		}
		onlyK, onlyO := diffLines(k, o)
		t.Errorf("%s: results differ\n    query: %s\n    only with KSM (%d):\n      %s\n    only with ours (%d):\n      %s",
			what, q, len(onlyK), firstN(onlyK, 8), len(onlyO), firstN(onlyO, 8))
		return len(k) > 0, false
	}

	t.Run("dashboards", func(t *testing.T) {
		exprs, vars := oldDashboards(t, filepath.Join(sharedRoot, kuadrantCurrentRel, "dashboards"))
		var files []string
		for f := range exprs {
			files = append(files, f)
		}
		sort.Strings(files)
		compared, withData, equal, nVars := 0, 0, 0, 0
		for _, f := range files {
			var list []string
			for e := range exprs[f] {
				list = append(list, e)
			}
			sort.Strings(list)
			for _, e := range list {
				compared++
				d, same := compare(t, f, substitute(e))
				if d {
					withData++
				}
				if same {
					equal++
				}
			}
			for name, query := range vars[f] {
				m := labelValsRE.FindStringSubmatch(query)
				if m == nil {
					t.Errorf("%s: variable %s: unexpected query %q", f, name, query)
					continue
				}
				nVars++
				compare(t, f+" variable "+name, fmt.Sprintf("group by (%s) (%s)", m[2], m[1]))
			}
		}
		t.Logf("Kuadrant's current dashboards: %d distinct queries compared (%d return data), %d identical on KSM and ours; %d template variables compared",
			compared, withData, equal, nVars)
		if withData == 0 {
			t.Error("no dashboard query returned data: the comparison proves nothing")
		}
	})

	t.Run("alerts", func(t *testing.T) {
		compared, withData, equal := 0, 0, 0
		for _, r := range rules {
			compared++
			d, same := compare(t, fmt.Sprintf("%s %s/%s", r.File, r.Group, r.Name), r.Expr)
			if d {
				withData++
			}
			if same {
				equal++
			}
		}
		// The rules as Prometheus runs them: the alerts each server raised.
		_, sameAlerts := compare(t, "ALERTS", `ALERTS`)
		firing, err := ksm.query(`count by (alertname) (ALERTS)`)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, s := range firing.Series {
			names = append(names, s.Labels["alertname"]+"="+s.Value)
		}
		sort.Strings(names)
		t.Logf("Kuadrant's current alert rules: %d rule expressions compared (%d return data), %d identical on KSM and ours; ALERTS identical: %v (%s)",
			compared, withData, equal, sameAlerts, strings.Join(names, " "))
		if withData == 0 {
			t.Error("no rule expression returned data: the comparison proves nothing")
		}
	})
}

func TestUndeclaredFamilies(t *testing.T) {
	declared := map[string]bool{"gatewayapi_authpolicy_status": true, "gatewayapi_gateway_info": true}
	for _, c := range []struct {
		expr string
		want []string
	}{
		{`count(gatewayapi_gateway_info) or vector(0)`, nil},
		{`gatewayapi_kuadrant_status{type="Ready"} == 0`, []string{"gatewayapi_kuadrant_status"}},
		{`{__name__=~"gatewayapi_(authpolicy|oidcpolicy)_status",type="kuadrant.io/x"}`, nil},
		{`{__name__=~"(gatewayapi|kuadrant)_[a-z0-9]+_metadata_generation"} < gatewayapi_gateway_info`,
			[]string{`__name__=~"(gatewayapi|kuadrant)_[a-z0-9]+_metadata_generation"`}},
	} {
		if got := undeclaredFamilies(c.expr, declared); !slices.Equal(got, c.want) {
			t.Errorf("undeclaredFamilies(%s) = %q, want %q", c.expr, got, c.want)
		}
	}
}
