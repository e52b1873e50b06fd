package deploytest

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/kuadrant/gateway-api-metrics-exporter/deploy/dashboards/gen/dashboards"
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
