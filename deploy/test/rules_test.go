// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package deploytest

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/kuadrant/gateway-api-metrics-exporter/deploy/dashboards/gen/dashboards"
	"github.com/kuadrant/gateway-api-metrics-exporter/deploy/test/render"
	"github.com/kuadrant/gateway-api-metrics-exporter/internal/markdown"
)

func readRepoFile(t *testing.T, rel string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), rel))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

type ruleFile struct {
	Groups []ruleGroup `json:"groups"`
}

type ruleGroup struct {
	Name     string           `json:"name"`
	Interval string           `json:"interval,omitempty"`
	Rules    []map[string]any `json:"rules"`
}

func parseRuleFile(t *testing.T, data []byte) ruleFile {
	t.Helper()
	var rf ruleFile
	if err := yaml.UnmarshalStrict(data, &rf); err != nil {
		t.Fatalf("parse rule file: %v", err)
	}
	return rf
}

func TestPrometheusRuleSameGroups(t *testing.T) {
	alerts := parseRuleFile(t, readRepoFile(t, "deploy/rules/alerts.yaml"))
	var pr struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Spec       ruleFile
	}
	if err := yaml.Unmarshal(readRepoFile(t, "deploy/rules/prometheusrule.yaml"), &pr); err != nil {
		t.Fatal(err)
	}
	if pr.APIVersion != "monitoring.coreos.com/v1" || pr.Kind != "PrometheusRule" {
		t.Errorf("prometheusrule.yaml is %s %s, want monitoring.coreos.com/v1 PrometheusRule", pr.APIVersion, pr.Kind)
	}
	if !reflect.DeepEqual(alerts.Groups, pr.Spec.Groups) {
		t.Errorf("prometheusrule.yaml groups differ from alerts.yaml groups")
	}
	if len(alerts.Groups) == 0 {
		t.Fatal("alerts.yaml has no groups")
	}
}

// The old project's alerts, which must keep their names and expressions.
var legacyAlerts = map[string]string{
	"UnhealthyGateway":     `(gatewayapi_gateway_status{type="Accepted"} == 0) or (gatewayapi_gateway_status{type="Programmed"} == 0)`,
	"InsecureHTTPListener": `gatewayapi_gateway_listener_info{protocol="HTTP"}`,
}

var requiredAlerts = []string{
	"UnhealthyGateway", "InsecureHTTPListener",
	"GatewayListenerNotProgrammed", "GatewayListenerResolvedRefsFalse",
	"RouteNotAcceptedByParent", "HTTPRouteWithoutAuthPolicy",
	"GatewayMetricsExporterKindDown",
	"PolicyNotAccepted", "PolicyOverriddenOrConflicted", "PolicyTargetNotFound",
	// issue 11: today's clusters
	"GatewayListenerConflicted", "ControllerNotReconciling", "KuadrantPolicyNotEnforced",
	"DNSRecordUnhealthy", "DNSHealthCheckProbeUnhealthy",
	"HTTPRouteWithoutRateLimitPolicy", "GRPCRouteWithoutAuthPolicy", "GRPCRouteWithoutRateLimitPolicy",
	// issue 22: quiet, correct alerts
	"GatewayNotProgrammed", "GatewayWithoutDnsPolicy", "GatewayWithoutTlsPolicy", "GatewayMetricsExporterAbsent",
	// issue 20: the cardinality guard
	"GatewayMetricsFamilyOverLimit",
	// issue 21: the attachment graph
	"RouteParentNotFound", "RouteParentPending", "RouteParentStale", "BackendRefNotPermitted", "CertificateRefNotPermitted",
}

func alertsByName(t *testing.T) map[string]map[string]any {
	t.Helper()
	rf := parseRuleFile(t, readRepoFile(t, "deploy/rules/alerts.yaml"))
	out := map[string]map[string]any{}
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			name, _ := r["alert"].(string)
			if name == "" {
				continue
			}
			if _, dup := out[name]; dup {
				t.Errorf("alert %s defined twice", name)
			}
			out[name] = r
		}
	}
	return out
}

func TestAlertsPresent(t *testing.T) {
	alerts := alertsByName(t)
	for _, name := range requiredAlerts {
		if _, ok := alerts[name]; !ok {
			t.Errorf("alert %s missing from alerts.yaml", name)
		}
	}
	for name, expr := range legacyAlerts {
		r, ok := alerts[name]
		if !ok {
			continue
		}
		if got := strings.TrimSpace(r["expr"].(string)); got != expr {
			t.Errorf("legacy alert %s: expr %q, want it unchanged: %q", name, got, expr)
		}
		if r["for"] != "10m" || Get(r, "labels", "severity") != "critical" {
			t.Errorf("legacy alert %s: for/severity changed", name)
		}
	}
	for name, r := range alerts {
		if Get(r, "labels", "severity") == nil {
			t.Errorf("alert %s has no severity label", name)
		}
		for _, a := range []string{"summary", "description"} {
			if Get(r, "annotations", a) == nil {
				t.Errorf("alert %s has no %s annotation", name, a)
			}
		}
	}
}

// Get is a tiny path lookup for test maps.
func Get(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

// TestEveryAlertUnitTested checks that deploy/rules/tests has, for every
// alert, at least one case where it fires and one where it does not.
func TestEveryAlertUnitTested(t *testing.T) {
	alerts := alertsByName(t)
	files, err := filepath.Glob(filepath.Join(repoRoot(t), "deploy/rules/tests/*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no promtool unit tests found: %v", err)
	}
	firing := map[string]bool{}
	quiet := map[string]bool{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var tf struct {
			RuleFiles []string `json:"rule_files"`
			Tests     []struct {
				AlertRuleTest []struct {
					Alertname string `json:"alertname"`
					ExpAlerts []any  `json:"exp_alerts"`
				} `json:"alert_rule_test"`
			} `json:"tests"`
		}
		if err := yaml.Unmarshal(data, &tf); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if !reflect.DeepEqual(tf.RuleFiles, []string{"../alerts.yaml"}) {
			t.Errorf("%s: rule_files = %v, want [../alerts.yaml]", f, tf.RuleFiles)
		}
		for _, tc := range tf.Tests {
			for _, a := range tc.AlertRuleTest {
				if _, ok := alerts[a.Alertname]; !ok {
					t.Errorf("%s tests unknown alert %s", filepath.Base(f), a.Alertname)
				}
				if len(a.ExpAlerts) > 0 {
					firing[a.Alertname] = true
				} else {
					quiet[a.Alertname] = true
				}
			}
		}
	}
	var names []string
	for n := range alerts {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if !firing[n] {
			t.Errorf("alert %s has no promtool test case where it fires", n)
		}
		if !quiet[n] {
			t.Errorf("alert %s has no promtool test case where it stays quiet", n)
		}
	}
}

var spaceRE = regexp.MustCompile(`\s+`)

// TestFreshnessAlertMatchesDashboards checks that ControllerNotReconciling
// and the dashboards' stale-status panels run one expression.
func TestFreshnessAlertMatchesDashboards(t *testing.T) {
	r, ok := alertsByName(t)["ControllerNotReconciling"]
	if !ok {
		t.Fatal("alert ControllerNotReconciling missing")
	}
	got, _ := r["expr"].(string)
	if want := dashboards.StaleObjects(); normExpr(got) != normExpr(want) {
		t.Errorf("alert ControllerNotReconciling: expr differs from dashboards.StaleObjects(); copy it from there:\n%s", want)
	}
}

func normExpr(s string) string { return strings.TrimSpace(spaceRE.ReplaceAllString(s, " ")) }

// TestCoverageAlertsMatchDashboards checks that the route coverage alerts and
// the dashboards' "without policy" tables run one expression
// (dashboards.RouteWithoutPolicy), so they always name the same routes.
func TestCoverageAlertsMatchDashboards(t *testing.T) {
	alerts := alertsByName(t)
	for _, route := range []string{"HTTPRoute", "GRPCRoute"} {
		for _, policy := range []string{"AuthPolicy", "RateLimitPolicy"} {
			name := route + "Without" + policy
			r, ok := alerts[name]
			if !ok {
				t.Errorf("alert %s missing", name)
				continue
			}
			got, _ := r["expr"].(string)
			if want := dashboards.RouteWithoutPolicy(route, policy, ""); normExpr(got) != normExpr(want) {
				t.Errorf("alert %s: expr differs from dashboards.RouteWithoutPolicy(%q, %q, \"\"); copy it from there:\n%s", name, route, policy, want)
			}
		}
	}
	for name, policy := range map[string]string{"GatewayWithoutDnsPolicy": "DNSPolicy", "GatewayWithoutTlsPolicy": "TLSPolicy"} {
		r, ok := alerts[name]
		if !ok {
			t.Errorf("alert %s missing", name)
			continue
		}
		got, _ := r["expr"].(string)
		if want := dashboards.GatewayWithoutPolicy(policy, ""); normExpr(got) != normExpr(want) {
			t.Errorf("alert %s: expr differs from dashboards.GatewayWithoutPolicy(%q, \"\"); copy it from there:\n%s", name, policy, want)
		}
	}
}

// TestPolicyTargetAlertMatchesDashboards checks that PolicyTargetNotFound
// and the Topology dashboard's "Policy Targets Not Found" run one expression.
func TestPolicyTargetAlertMatchesDashboards(t *testing.T) {
	r, ok := alertsByName(t)["PolicyTargetNotFound"]
	if !ok {
		t.Fatal("alert PolicyTargetNotFound missing")
	}
	got, _ := r["expr"].(string)
	if want := dashboards.PolicyTargetNotFound(); normExpr(got) != normExpr(want) {
		t.Errorf("alert PolicyTargetNotFound: expr differs from dashboards.PolicyTargetNotFound(); copy it from there:\n%s", want)
	}
}

// TestProbeFailuresAlertMatchesDashboards checks that
// DNSHealthCheckProbeFailuresAboveThreshold and the Kuadrant dashboard's
// probe panel run one expression.
func TestProbeFailuresAlertMatchesDashboards(t *testing.T) {
	r, ok := alertsByName(t)["DNSHealthCheckProbeFailuresAboveThreshold"]
	if !ok {
		t.Fatal("alert DNSHealthCheckProbeFailuresAboveThreshold missing")
	}
	got, _ := r["expr"].(string)
	if want := dashboards.ProbesFailingBeyondThreshold(); normExpr(got) != normExpr(want) {
		t.Errorf("alert DNSHealthCheckProbeFailuresAboveThreshold: expr differs from dashboards.ProbesFailingBeyondThreshold(); copy it from there:\n%s", want)
	}
}

// alertGroups are the group names of alerts.yaml, in order, and their
// switches (the names without ".rules").
func alertGroups(t *testing.T) (names, switches []string) {
	t.Helper()
	for _, g := range parseRuleFile(t, readRepoFile(t, "deploy/rules/alerts.yaml")).Groups {
		sw, ok := strings.CutSuffix(g.Name, ".rules")
		if !ok {
			t.Errorf("alert group %s: the name does not end in .rules", g.Name)
		}
		names = append(names, g.Name)
		switches = append(switches, sw)
	}
	return names, switches
}

// chartGroupDefaults is prometheusRule.groups of the chart's values.yaml.
func chartGroupDefaults(t *testing.T) map[string]bool {
	t.Helper()
	var v struct {
		PrometheusRule struct {
			Groups map[string]bool `json:"groups"`
		} `json:"prometheusRule"`
	}
	if err := yaml.Unmarshal(readRepoFile(t, render.ChartPath+"/values.yaml"), &v); err != nil {
		t.Fatal(err)
	}
	return v.PrometheusRule.Groups
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestAlertGroupSwitches: every group of alerts.yaml has its switch in the
// chart's values.yaml and values.schema.json, and none more; the legacy
// group of gateway-api-state-metrics (the critical InsecureHTTPListener) is
// off by default and holds exactly the old alerts.
func TestAlertGroupSwitches(t *testing.T) {
	_, switches := alertGroups(t)
	want := slices.Clone(switches)
	sort.Strings(want)
	defaults := chartGroupDefaults(t)
	if got := sortedKeys(defaults); !slices.Equal(got, want) {
		t.Errorf("values.yaml prometheusRule.groups: %v, want one switch per group of alerts.yaml: %v", got, want)
	}
	var schema map[string]any
	if err := json.Unmarshal(readRepoFile(t, render.ChartPath+"/values.schema.json"), &schema); err != nil {
		t.Fatal(err)
	}
	props, _ := Get(schema, "properties", "prometheusRule", "properties", "groups", "properties").(map[string]any)
	if got := sortedKeys(props); !slices.Equal(got, want) {
		t.Errorf("values.schema.json prometheusRule.groups: %v, want %v", got, want)
	}
	if defaults["gateway-api-state-metrics"] {
		t.Errorf("the legacy group gateway-api-state-metrics is on by default")
	}
	rf := parseRuleFile(t, readRepoFile(t, "deploy/rules/alerts.yaml"))
	for _, g := range rf.Groups {
		if g.Name != "gateway-api-state-metrics.rules" {
			continue
		}
		var names []string
		for _, r := range g.Rules {
			names = append(names, r["alert"].(string))
		}
		sort.Strings(names)
		if old := sortedKeys(legacyAlerts); !slices.Equal(names, old) {
			t.Errorf("group %s holds %v, want exactly the old project's alerts %v", g.Name, names, old)
		}
	}
}

// chartRuleGroups renders the chart with a PrometheusRule and values, and
// returns its groups (nil without a PrometheusRule).
func chartRuleGroups(t *testing.T, release string, values map[string]any) []any {
	t.Helper()
	v := map[string]any{"prometheusRule": map[string]any{"enabled": true}}
	for k, x := range values {
		v[k] = x
	}
	data, err := render.Helm(filepath.Join(repoRoot(t), render.ChartPath), release, render.HelmNamespace, v)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := render.Objects(data)
	if err != nil {
		t.Fatal(err)
	}
	prs := byKind(objs, "PrometheusRule")
	switch len(prs) {
	case 0:
		return nil
	case 1:
		return render.List(prs[0], "spec", "groups")
	}
	t.Fatalf("%d PrometheusRules rendered", len(prs))
	return nil
}

func groupNames(groups []any) []string {
	var out []string
	for _, g := range groups {
		out = append(out, render.Str(g, "name"))
	}
	return out
}

// TestChartAlertGroups: the chart's PrometheusRule holds the groups switched
// on, each as alerts.yaml has it; with every group off it renders none.
func TestChartAlertGroups(t *testing.T) {
	names, switches := alertGroups(t)
	defaults := chartGroupDefaults(t)
	var wantDefault []string
	for i, sw := range switches {
		if defaults[sw] {
			wantDefault = append(wantDefault, names[i])
		}
	}
	if got := groupNames(chartRuleGroups(t, "gateway-api-metrics-exporter", nil)); !slices.Equal(got, wantDefault) {
		t.Errorf("default values: groups %v, want %v", got, wantDefault)
	}
	rf := parseRuleFile(t, readRepoFile(t, "deploy/rules/alerts.yaml"))
	allOff := map[string]any{}
	for _, sw := range switches {
		allOff[sw] = false
	}
	for i, sw := range switches {
		only := maps.Clone(allOff)
		only[sw] = true
		got := chartRuleGroups(t, "gateway-api-metrics-exporter", map[string]any{"prometheusRule": map[string]any{"enabled": true, "groups": only}})
		if len(got) != 1 || !reflect.DeepEqual(normalize(t, got[0]), normalize(t, rf.Groups[i])) {
			t.Errorf("only %s on: groups %v, want exactly %s as alerts.yaml has it", sw, groupNames(got), names[i])
		}
	}
	if got := chartRuleGroups(t, "gateway-api-metrics-exporter", map[string]any{"prometheusRule": map[string]any{"enabled": true, "groups": allOff}}); got != nil {
		t.Errorf("every group off: a PrometheusRule with %v", groupNames(got))
	}
}

// TestChartExporterAbsentJob: GatewayMetricsExporterAbsent looks for the job
// the chart's ServiceMonitor gives its targets (Prometheus Operator: the
// value of the Service's jobLabel label, else the Service's name, which is
// the chart's fullname), or prometheusRule.exporterJob.
func TestChartExporterAbsentJob(t *testing.T) {
	for _, c := range []struct {
		name, release string
		values        map[string]any
		job           string
	}{
		{"service name", "obs", nil, "obs-gateway-api-metrics-exporter"},
		{"release named like the chart", "gateway-api-metrics-exporter", nil, "gateway-api-metrics-exporter"},
		{"jobLabel", "obs", map[string]any{"prometheus": map[string]any{"monitor": map[string]any{"jobLabel": "app.kubernetes.io/name"}}}, "gateway-api-metrics-exporter"},
		{"exporterJob", "obs", map[string]any{"prometheusRule": map[string]any{"enabled": true, "exporterJob": "kube-state-metrics"}}, "kube-state-metrics"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var expr string
			for _, g := range chartRuleGroups(t, c.release, c.values) {
				for _, r := range render.List(g, "rules") {
					if render.Str(r, "alert") == "GatewayMetricsExporterAbsent" {
						expr = render.Str(r, "expr")
					}
				}
			}
			if want := fmt.Sprintf(`absent(up{job=%q} == 1)`, c.job); strings.TrimSpace(expr) != want {
				t.Errorf("GatewayMetricsExporterAbsent expr %q, want %q", expr, want)
			}
		})
	}
}

// TestAlertComponents: each group's kustomize Component holds exactly that
// group as alerts.yaml has it, and deploy/rules (the default Component)
// exactly the groups the chart switches on by default.
func TestAlertComponents(t *testing.T) {
	names, switches := alertGroups(t)
	rf := parseRuleFile(t, readRepoFile(t, "deploy/rules/alerts.yaml"))
	root := repoRoot(t)
	for i, sw := range switches {
		dir := filepath.Join(root, "deploy/kustomize/components/alerts", sw)
		// A Component is built through a kustomization that uses it.
		tmp := t.TempDir()
		rel, err := filepath.Rel(tmp, dir)
		if err != nil {
			t.Fatal(err)
		}
		k := "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\ncomponents:\n  - " + rel + "\n"
		if err := os.WriteFile(filepath.Join(tmp, "kustomization.yaml"), []byte(k), 0o644); err != nil {
			t.Fatal(err)
		}
		data, err := render.Kustomize(tmp)
		if err != nil {
			t.Fatalf("component %s: %v", sw, err)
		}
		objs, err := render.Objects(data)
		if err != nil {
			t.Fatal(err)
		}
		if len(objs) != 1 || objs[0].Kind() != "PrometheusRule" {
			t.Errorf("component %s renders %d objects, want one PrometheusRule", sw, len(objs))
			continue
		}
		got := render.List(objs[0], "spec", "groups")
		if len(got) != 1 || !reflect.DeepEqual(normalize(t, got[0]), normalize(t, rf.Groups[i])) {
			t.Errorf("component %s: groups %v, want exactly %s as alerts.yaml has it", sw, groupNames(got), names[i])
		}
	}

	defaults := chartGroupDefaults(t)
	var want []string
	for i, sw := range switches {
		if defaults[sw] {
			want = append(want, names[i])
		}
	}
	var got []string
	for _, pr := range byKind(rendered(t, "rules"), "PrometheusRule") {
		if pr.Namespace() != "monitoring" {
			t.Errorf("PrometheusRule %s in namespace %q, want monitoring", pr.Name(), pr.Namespace())
		}
		got = append(got, groupNames(render.List(pr, "spec", "groups"))...)
	}
	sort.Strings(got)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("kubectl apply -k deploy/rules: groups %v, want the chart's defaults %v", got, want)
	}
}

// runbookBase is where every alert's runbook_url points, followed by the
// anchor of its section.
const runbookBase = "https://github.com/kuadrant/gateway-api-metrics-exporter/blob/main/docs/runbooks.md#"

var headingRE = regexp.MustCompile(`(?m)^## (.+)$`)

// TestRunbooks: every alert has a runbook_url to a section of
// docs/runbooks.md, and that section says what the alert means, how to check
// and how to fix it.
func TestRunbooks(t *testing.T) {
	doc := string(readRepoFile(t, "docs/runbooks.md"))
	sections := map[string]string{}
	locs := headingRE.FindAllStringSubmatchIndex(doc, -1)
	for i, m := range locs {
		end := len(doc)
		if i+1 < len(locs) {
			end = locs[i+1][0]
		}
		sections[markdown.Anchor(doc[m[2]:m[3]])] = doc[m[1]:end]
	}
	alerts := alertsByName(t)
	for _, name := range sortedKeys(alerts) {
		url, _ := Get(alerts[name], "annotations", "runbook_url").(string)
		anchor, ok := strings.CutPrefix(url, runbookBase)
		if !ok {
			t.Errorf("alert %s: runbook_url %q, want %s<anchor>", name, url, runbookBase)
			continue
		}
		body, ok := sections[anchor]
		if !ok {
			t.Errorf("alert %s: runbook_url anchor #%s is no section of docs/runbooks.md", name, anchor)
			continue
		}
		for _, part := range []string{"**Meaning.**", "**Check.**", "**Fix.**"} {
			if !strings.Contains(body, part) {
				t.Errorf("docs/runbooks.md#%s (%s) lacks %s", anchor, name, part)
			}
		}
	}
}
