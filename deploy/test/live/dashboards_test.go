// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package live

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/kuadrant/gateway-api-metrics-exporter/deploy/dashboards/gen/dashboards"
	"github.com/kuadrant/gateway-api-metrics-exporter/internal/refdata"
	"github.com/kuadrant/gateway-api-metrics-exporter/internal/testenv"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/engine"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/exposition"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/objects"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/policies"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/spec"
	"sigs.k8s.io/yaml"
)

const (
	goldenRel        = "anchors/ksm-golden"
	goldenMetrics    = "ksm-kuadrant-config.metrics.txt"
	oldDashboardsRel = "anchors/gateway-api-state-metrics/config/examples/dashboards"
	textContentType  = "text/plain; version=0.0.4; charset=utf-8"
)

// deliberateDifferences are the metric families where our default spec
// knowingly differs from gateway-api-state-metrics. A difference in a query
// that uses one of them is logged, not failed.
var deliberateDifferences = map[string]string{
	"gatewayapi_gatewayclass_status_supported_features": "status.supportedFeatures is a list of {name} objects since Gateway API v1.2 and our spec labels the name; " +
		"the golden (v0.8-era) objects hold a list of strings, for which KSM's config labelled the string and ours exports nothing",
	"gatewayapi_backendtlspolicy_target_info": "our spec reads spec.targetRefs (v1, with target_section_name) as well as the old spec.targetRef; " +
		"on objects with spec.targetRef, like the golden ones, both agree",
}

type expressionList struct {
	Expressions []struct {
		Dashboard string   `json:"dashboard"`
		Panel     string   `json:"panel"`
		PanelID   int      `json:"panelId"`
		RefID     string   `json:"refId"`
		Expr      string   `json:"expr"`
		Instant   bool     `json:"instant"`
		Variables []string `json:"variables"`
	} `json:"expressions"`
	Variables []struct {
		Dashboard string `json:"dashboard"`
		Name      string `json:"name"`
		Query     string `json:"query"`
	} `json:"variables"`
}

var (
	builtinVarRE = regexp.MustCompile(`\$\{?__[A-Za-z_]+\}?`)
	eqVarRE      = regexp.MustCompile(`([A-Za-z_][A-Za-z0-9_]*)="([^"]*\$[^"]*)"`)
	varRE        = regexp.MustCompile(`\$\{?[A-Za-z_][A-Za-z0-9_]*(:[a-z]+)?\}?`)
	labelValsRE  = regexp.MustCompile(`^label_values\((.+),\s*([A-Za-z_][A-Za-z0-9_]*)\)$`)
)

// substitute replaces Grafana's built-in interval variables by 1m and the
// dashboard variables by .* ("All"). An equality matcher on a variable
// (name="$var") becomes a regex matcher, so that .* selects every value, as
// selecting each value in turn in Grafana would.
func substitute(expr string) string { return substituteWith(expr, nil) }

// substituteWith is substitute with some variables set to a value instead of
// All.
func substituteWith(expr string, values map[string]string) string {
	expr = builtinVarRE.ReplaceAllString(expr, "1m")
	expr = eqVarRE.ReplaceAllString(expr, `${1}=~"${2}"`)
	return varRE.ReplaceAllStringFunc(expr, func(v string) string {
		name := strings.Trim(v, "${}")
		if i := strings.IndexByte(name, ':'); i >= 0 {
			name = name[:i]
		}
		if x, ok := values[name]; ok {
			return x
		}
		return ".*"
	})
}

// jsonExprs returns every "expr" string anywhere in a JSON document.
func jsonExprs(v any) []string {
	var out []string
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok && k == "expr" {
				out = append(out, s)
				continue
			}
			out = append(out, jsonExprs(e)...)
		}
	case []any:
		for _, e := range x {
			out = append(out, jsonExprs(e)...)
		}
	}
	return out
}

// oldDashboards reads the gateway-api-state-metrics dashboards: per file
// name, their expressions and template variable queries.
func oldDashboards(t *testing.T, dir string) (exprs map[string]map[string]bool, vars map[string]map[string]string) {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no old dashboards in %s: %v", dir, err)
	}
	exprs, vars = map[string]map[string]bool{}, map[string]map[string]string{}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var d map[string]any
		if err := json.Unmarshal(data, &d); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		name := filepath.Base(p)
		exprs[name], vars[name] = map[string]bool{}, map[string]string{}
		for _, e := range jsonExprs(d) {
			exprs[name][e] = true
		}
		tmpl, _ := d["templating"].(map[string]any)
		list, _ := tmpl["list"].([]any)
		for _, v := range list {
			m, _ := v.(map[string]any)
			q := m["query"]
			if qm, ok := q.(map[string]any); ok {
				q = qm["query"]
			}
			if qs, _ := q.(string); qs != "" && m["type"] == "query" {
				vars[name][m["name"].(string)] = qs
			}
		}
	}
	return exprs, vars
}

// serveText serves body as a Prometheus text exposition on loopback.
func serveText(t *testing.T, body []byte) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", textContentType)
		_, _ = w.Write(body)
	}))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	return l.Addr().String()
}

func hostPort(rawURL string) string { return strings.TrimPrefix(rawURL, "http://") }

// diffLines returns the lines only in a and only in b (both sorted).
func diffLines(a, b []string) (onlyA, onlyB []string) {
	inB := map[string]int{}
	for _, x := range b {
		inB[x]++
	}
	for _, x := range a {
		if inB[x] > 0 {
			inB[x]--
			continue
		}
		onlyA = append(onlyA, x)
	}
	inA := map[string]int{}
	for _, x := range a {
		inA[x]++
	}
	for _, x := range b {
		if inA[x] > 0 {
			inA[x]--
			continue
		}
		onlyB = append(onlyB, x)
	}
	return onlyA, onlyB
}

func firstN(l []string, n int) string {
	if len(l) > n {
		return strings.Join(l[:n], "\n      ") + fmt.Sprintf("\n      ... and %d more", len(l)-n)
	}
	return strings.Join(l, "\n      ")
}

func deliberate(expr string) (string, string) {
	for fam, why := range deliberateDifferences {
		if strings.Contains(expr, fam) {
			return fam, why
		}
	}
	return "", ""
}

// TestDashboardsWithPrometheus evaluates every dashboard query with a real
// Prometheus:
//
//   - the queries of the old gateway-api-state-metrics dashboards, against
//     Prometheus "ksm" (scraping the real kube-state-metrics output of the
//     golden objects) and Prometheus "ours" (scraping what the embedded
//     default spec renders for the same objects): the results must be equal,
//     label sets and values, apart from the deliberate differences;
//   - the queries of the new panels, against Prometheus "live" (scraping an
//     in-process exporter on the test API server with the samples): each must
//     return data;
//   - the alerting rules, loaded into Prometheus "live": every rule evaluates
//     without error.
func TestDashboardsWithPrometheus(t *testing.T) {
	promBin := requireTool(t, "prometheus")
	env := testenv.Current(t)
	root := repoRoot(t)

	var list expressionList
	data, err := os.ReadFile(filepath.Join(root, "deploy/dashboards/expressions.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Expressions) == 0 {
		t.Fatal("expressions.json lists no expressions")
	}

	// Prometheus "live" with the alert rules, scraping an exporter on the
	// test API server (admin credentials; RBAC is TestManifestsOnAPIServer's),
	// both its ports, under the job our ServiceMonitors give it. A second
	// exporter, whose telemetry port only is scraped (its own job), serves
	// one family over a limit of 1 (every GatewayClass of the samples and
	// fixtures), so that the guard's panel and alert have something to show;
	// one /metrics scrape makes its state.
	// The live exporter serves the opt-in backend_ref_info too, which the
	// Topology dashboard and BackendRefNotPermitted read.
	liveX := startExporter(t, "exporter(live)", append(slices.Clone(loopbackArgs), "--kubeconfig="+env.Kubeconfig,
		"--metric-opt-in-list=^gatewayapi_.+_backend_ref_info$")...)
	guardedX := startExporter(t, "exporter(guarded)", append(slices.Clone(loopbackArgs), "--kubeconfig="+env.Kubeconfig,
		"--max-series-per-family=1", "--metric-allowlist=^gatewayapi_gatewayclass_info$", "--discover-policies=false")...)
	if b := guardedX.scrape(t); bytes.Contains(b, []byte("gatewayapi_gatewayclass_info")) {
		t.Fatalf("the guarded exporter serves gatewayapi_gatewayclass_info over a limit of 1:\n%s", b)
	}
	alerts := filepath.Join(root, "deploy/rules/alerts.yaml")
	live := startPrometheus(t, promBin, "live", []scrapeJob{
		{Name: "gateway-api-metrics-exporter", Target: hostPort(liveX.MetricsURL), More: []string{hostPort(liveX.TelemetryURL)}},
		{Name: "guarded-telemetry", Target: hostPort(guardedX.TelemetryURL)},
	}, []string{alerts})

	// Prometheus "ksm" and "ours", when the reference data is there.
	var ksm, ours *prometheus
	var oldExprs map[string]map[string]bool
	var oldVars map[string]map[string]string
	sharedRoot, haveShared := refdata.Optional(t, goldenRel, oldDashboardsRel)
	if haveShared {
		ksmBody, oursBody := goldenBodies(t, sharedRoot)
		ksm = startPrometheus(t, promBin, "ksm", []scrapeJob{{Name: "ksm", Target: serveText(t, ksmBody)}}, nil)
		ours = startPrometheus(t, promBin, "ours", []scrapeJob{{Name: "ours", Target: serveText(t, oursBody)}}, nil)
		oldExprs, oldVars = oldDashboards(t, filepath.Join(sharedRoot, oldDashboardsRel))
	}
	t0 := time.Now()
	for _, p := range []*prometheus{live, ksm, ours} {
		if p != nil {
			p.waitScraped(t, 60*time.Second)
		}
	}
	t.Logf("all targets up and scraped twice after %.1fs", time.Since(t0).Seconds())

	// Ours select by cluster and namespace too (dashboards.Unscoped removes
	// exactly that); with the variables on All they select what the old
	// ones did.
	isOld := func(dashboard, expr string) bool { return oldExprs[dashboard][dashboards.Unscoped(expr)] }

	t.Run("old-panels-ksm-vs-ours", func(t *testing.T) {
		if !haveShared {
			t.Skip("skipping: reference data not found (see the log above)")
		}
		seen := map[string]bool{}
		compared, withData, equal, deliberateN := 0, 0, 0, 0
		for _, e := range list.Expressions {
			if !isOld(e.Dashboard, e.Expr) || seen[e.Dashboard+"\x00"+dashboards.Unscoped(e.Expr)] {
				continue
			}
			seen[e.Dashboard+"\x00"+dashboards.Unscoped(e.Expr)] = true
			q := substitute(e.Expr)
			rk, err1 := ksm.query(q)
			ro, err2 := ours.query(q)
			if err1 != nil || err2 != nil {
				t.Errorf("%s %q: %s\n    ksm: %v\n    ours: %v", e.Dashboard, e.Panel, q, err1, err2)
				continue
			}
			compared++
			if len(rk.Series) > 0 {
				withData++
			}
			k, o := canonical(rk, true), canonical(ro, true)
			if slices.Equal(k, o) {
				equal++
				continue
			}
			onlyK, onlyO := diffLines(k, o)
			what := "values"
			if !slices.Equal(canonical(rk, false), canonical(ro, false)) {
				what = "series sets"
			}
			msg := fmt.Sprintf("%s panel %q: %s differ\n    query: %s\n    only with KSM (%d):\n      %s\n    only with ours (%d):\n      %s",
				e.Dashboard, e.Panel, what, q, len(onlyK), firstN(onlyK, 8), len(onlyO), firstN(onlyO, 8))
			if fam, why := deliberate(e.Expr); fam != "" {
				deliberateN++
				t.Logf("deliberate difference (%s: %s):\n%s", fam, why, msg)
				continue
			}
			t.Error(msg)
		}
		if compared == 0 {
			t.Fatal("no expression of expressions.json comes from the old dashboards")
		}
		nOld := 0
		for _, m := range oldExprs {
			nOld += len(m)
		}
		if len(seen) != nOld {
			t.Errorf("expressions.json holds %d of the %d distinct expressions of the old dashboards", len(seen), nOld)
		}
		t.Logf("old-dashboard expressions: %d compared (%d return data with KSM), %d equal, %d deliberate differences, %d other differences",
			compared, withData, equal, deliberateN, compared-equal-deliberateN)
	})

	t.Run("old-variables-ksm-vs-ours", func(t *testing.T) {
		if !haveShared {
			t.Skip("skipping: reference data not found (see the log above)")
		}
		n := 0
		var names []string
		for d := range oldVars {
			names = append(names, d)
		}
		sort.Strings(names)
		for _, d := range names {
			for name, query := range oldVars[d] {
				m := labelValsRE.FindStringSubmatch(query)
				if m == nil {
					t.Errorf("%s: variable %s: unexpected query %q", d, name, query)
					continue
				}
				q := fmt.Sprintf("group by (%s) (%s)", m[2], m[1])
				rk, err1 := ksm.query(q)
				ro, err2 := ours.query(q)
				if err1 != nil || err2 != nil {
					t.Errorf("%s: variable %s: %s: ksm %v, ours %v", d, name, q, err1, err2)
					continue
				}
				n++
				if k, o := canonical(rk, false), canonical(ro, false); !slices.Equal(k, o) {
					t.Errorf("%s: variable %s (%s) offers different values:\n    KSM:  %v\n    ours: %v", d, name, query, k, o)
				}
			}
		}
		t.Logf("%d template variables of the old dashboards offer the same values", n)
	})

	t.Run("new-panels-live", func(t *testing.T) {
		if !currentCRDs {
			t.Skip("skipping: Kuadrant's current CRDs are not installed (see TestMain's message); in CI this fails")
		}
		declared := declaredFamilies(defaultPlan(t))
		newN, withData, onlyFallback := 0, 0, 0
		for _, e := range list.Expressions {
			q := substitute(e.Expr)
			r, err := live.query(q)
			if err != nil {
				t.Errorf("%s panel %q: %s: %v", e.Dashboard, e.Panel, q, err)
				continue
			}
			if haveShared && isOld(e.Dashboard, e.Expr) {
				continue
			}
			newN++
			// A name the exporter does not serve would only show as "no data".
			if missing := undeclaredFamilies(e.Expr, declared); len(missing) > 0 {
				t.Errorf("%s panel %q (id %d) reads families the embedded spec does not declare: %s",
					e.Dashboard, e.Panel, e.PanelID, strings.Join(missing, ", "))
				continue
			}
			if len(r.Series) == 0 {
				t.Errorf("%s panel %q (id %d): no data from the live exporter: %s", e.Dashboard, e.Panel, e.PanelID, q)
				continue
			}
			withData++
			if core, ok := strings.CutSuffix(q, " or vector(0)"); ok {
				if rc, err := live.query(core); err == nil && len(rc.Series) == 0 {
					onlyFallback++
					t.Logf("%s panel %q: data only from `or vector(0)` (0 on the samples): %s", e.Dashboard, e.Panel, core)
				}
			}
		}
		what := "new-panel"
		if !haveShared {
			what = "(old dashboards unavailable, so all)"
		}
		t.Logf("%d %s expressions: %d return data against the live exporter (%d of them only through `or vector(0)`); all %d expressions evaluate without error there",
			newN, what, withData, onlyFallback, len(list.Expressions))
	})

	// Every query selects by the cluster variable, and those of objects by
	// the namespace variable: with one that matches nothing, a query answers
	// nothing (or the label-less 0 of its "or vector(0)"), so no panel mixes
	// in other clusters' or namespaces' objects. (The test's series have no
	// cluster label: "All", .*, selects them, as the other subtests show.)
	t.Run("cluster-and-namespace-select-live", func(t *testing.T) {
		checked := map[string]int{}
		for _, e := range list.Expressions {
			if !slices.Contains(e.Variables, "cluster") {
				t.Errorf("%s panel %q (id %d) does not select by cluster: %s", e.Dashboard, e.Panel, e.PanelID, e.Expr)
			}
			for _, v := range []string{"cluster", "namespace"} {
				if !slices.Contains(e.Variables, v) {
					continue
				}
				q := substituteWith(e.Expr, map[string]string{v: "no-such-" + v})
				r, err := live.query(q)
				if err != nil {
					t.Errorf("%s panel %q: %s: %v", e.Dashboard, e.Panel, q, err)
					continue
				}
				checked[v]++
				for _, s := range r.Series {
					if len(s.Labels) > 0 || s.Value != "0" {
						t.Errorf("%s panel %q (id %d) with %s no-such-%s still answers %v %s: %s", e.Dashboard, e.Panel, e.PanelID, v, v, s.Labels, s.Value, q)
						break
					}
				}
			}
		}
		t.Logf("queries checked with a cluster that does not exist: %d, with a namespace that does not exist: %d", checked["cluster"], checked["namespace"])
	})

	t.Run("alert-expressions-live", func(t *testing.T) {
		if !currentCRDs {
			t.Skip("skipping: Kuadrant's current CRDs are not installed (see TestMain's message); in CI this fails")
		}
		declared := declaredFamilies(defaultPlan(t))
		rules := alertRules(t, alerts)
		withData := 0
		for _, r := range rules {
			if missing := undeclaredFamilies(r.Expr, declared); len(missing) > 0 {
				t.Errorf("alert %s reads families the embedded spec does not declare: %s", r.Alert, strings.Join(missing, ", "))
				continue
			}
			res, err := live.query(r.Expr)
			if err != nil {
				t.Errorf("alert %s: %v", r.Alert, err)
				continue
			}
			why, excused := alertsWithoutData[r.Alert]
			switch {
			case len(res.Series) > 0 && excused:
				t.Errorf("alert %s returns data on the samples and fixtures: drop it from alertsWithoutData (%s)", r.Alert, why)
			case len(res.Series) > 0:
				withData++
			case !excused:
				t.Errorf("alert %s: its expression returns no data on the samples and fixtures; add an object that raises it to testdata", r.Alert)
			}
		}
		t.Logf("%d of %d alert expressions return data against the live exporter; without: %v", withData, len(rules), keysOf(alertsWithoutData))
	})

	t.Run("alert-rules-live", func(t *testing.T) {
		rules := live.waitRulesEvaluated(t, 30*time.Second)
		var states []string
		for _, r := range rules {
			if r.Health != "ok" || r.LastError != "" {
				t.Errorf("rule %s/%s: health %s, error %q", r.Group, r.Name, r.Health, r.LastError)
			}
			states = append(states, fmt.Sprintf("%s=%s(%d)", r.Name, r.State, len(r.Alerts)))
		}
		t.Logf("%d rules of %s evaluate without error; states on the samples: %s", len(rules), alerts, strings.Join(states, " "))

		// The alerts the samples and fixtures raise (pending: "for" has not
		// passed), written by hand from them.
		want := map[string][]string{
			// fixture-inherited is covered through fixture-gateway; demo/demo-route
			// by demo/demo-auth, which does not cover deploy-test-fixtures/demo-route.
			// No policy covers the topo-* routes, whatever their parents' state.
			"HTTPRouteWithoutAuthPolicy": {"deploy-test-fixtures/demo-route", "deploy-test-fixtures/fixture-http-route",
				"deploy-test-fixtures/topo-missing-parent", "deploy-test-fixtures/topo-pending", "deploy-test-fixtures/topo-stale", "deploy-test-fixtures/topo-via-listenerset"},
			"HTTPRouteWithoutRateLimitPolicy": {"deploy-test-fixtures/demo-route", "deploy-test-fixtures/fixture-http-route", "deploy-test-fixtures/fixture-inherited",
				"deploy-test-fixtures/topo-missing-parent", "deploy-test-fixtures/topo-pending", "deploy-test-fixtures/topo-stale", "deploy-test-fixtures/topo-via-listenerset"},
			// The attachment graph: topo-no-such-gateway does not exist; no
			// controller wrote a status for demo-route, fixture-inherited,
			// topo-pending and topo-via-listenerset (their parents exist);
			// topo-stale's status names topo-old-gateway, its spec does not;
			// topo-pending's backend and topo-gateway's certificate are in
			// namespaces without a ReferenceGrant.
			"RouteParentNotFound": {"deploy-test-fixtures/topo-missing-parent"},
			"RouteParentPending": {"deploy-test-fixtures/demo-route", "deploy-test-fixtures/fixture-inherited",
				"deploy-test-fixtures/topo-pending", "deploy-test-fixtures/topo-via-listenerset"},
			"RouteParentStale":           {"deploy-test-fixtures/topo-stale"},
			"BackendRefNotPermitted":     {"deploy-test-fixtures/topo-pending"},
			"CertificateRefNotPermitted": {"deploy-test-fixtures/topo-gateway"},
			"GRPCRouteWithoutAuthPolicy": {"demo/demo-grpc-route", "deploy-test-fixtures/fixture-grpc-route"},
			// demo-ratelimit and demo-tls: Enforced False; fixture-gateway-auth: no status.
			"KuadrantPolicyNotEnforced": {"demo/demo-ratelimit", "demo/demo-tls", "deploy-test-fixtures/fixture-gateway-auth"},
			// per listener: demo-gateway's DNSPolicy covers its https listener
			// only, so http and tls-passthrough (hostnames) alert; its
			// TLSPolicy covers the whole Gateway; fixture-gateway's https
			// listener has neither (its http one, no hostname, needs none).
			"GatewayWithoutDnsPolicy": {"demo/demo-gateway", "demo/demo-gateway", "deploy-test-fixtures/fixture-gateway"},
			"GatewayWithoutTlsPolicy": {"deploy-test-fixtures/fixture-gateway"},
			// fixture-listeners: Accepted and Programmed False; fixture-gateway
			// has the CRD's default status, both Unknown (no controller).
			"GatewayNotProgrammed": {"deploy-test-fixtures/fixture-gateway", "deploy-test-fixtures/fixture-gateway",
				"deploy-test-fixtures/fixture-listeners", "deploy-test-fixtures/fixture-listeners"},
			// makeStale's GatewayClass (cluster-scoped).
			"ControllerNotReconciling": {"/deploy-test-unaccepted"},
		}
		if currentCRDs {
			// testdata/current.yaml's policies target Gateways edge and
			// llm-gateway and HTTPRoute shop, none of which exists in their
			// namespace; policy-objects.yaml's fixture-missing-target
			// targets no-such-gateway. The sample demo/demo-backend-tls
			// targets XBackend demo-partner-api, which is among the
			// experimental samples: TestMain does not apply them.
			want["PolicyTargetNotFound"] = []string{"demo/demo-backend-tls", "deploy-test-fixtures/edge-dns", "deploy-test-fixtures/edge-oidc",
				"deploy-test-fixtures/edge-telemetry", "deploy-test-fixtures/edge-threats", "deploy-test-fixtures/edge-tls",
				"deploy-test-fixtures/fixture-missing-target", "deploy-test-fixtures/llm-tokens",
				"deploy-test-fixtures/shop-limits", "deploy-test-fixtures/shop-oidc", "deploy-test-fixtures/shop-plans"}
			// testdata/current.yaml: shop-oidc is not Accepted.
			want["KuadrantPolicyNotEnforced"] = append(want["KuadrantPolicyNotEnforced"], "deploy-test-fixtures/shop-oidc")
			for alert, objs := range map[string][]string{
				"KuadrantNotReady":                          {"deploy-test-fixtures/kuadrant"},
				"DNSRecordUnhealthy":                        {"deploy-test-fixtures/edge-api", "deploy-test-fixtures/edge-www"},
				"DNSHealthCheckProbeUnhealthy":              {"deploy-test-fixtures/edge-api-192.0.2.20"},
				"DNSHealthCheckProbeFailuresAboveThreshold": {"deploy-test-fixtures/edge-api-192.0.2.20"},
				"DNSPolicyRecordsUnhealthy":                 {"deploy-test-fixtures/edge-dns"},
				"DNSPolicyRecordNotHealthy":                 {"deploy-test-fixtures/edge-dns"},
				"XBackendTrafficPolicyNotAccepted":          {"deploy-test-fixtures/cart-sessions"},
				"GatewayListenerConflicted":                 {"deploy-test-fixtures/fixture-conflicting-listeners"},
			} {
				want[alert] = objs
			}
		}
		// The guarded exporter's family, over its limit of 1.
		r, err := live.query(`ALERTS{alertname="GatewayMetricsFamilyOverLimit"}`)
		if err != nil {
			t.Fatal(err)
		}
		var over []string
		for _, s := range r.Series {
			over = append(over, s.Labels["job"]+": "+s.Labels["family"]+" over --"+s.Labels["limit"])
		}
		if want := []string{"guarded-telemetry: gatewayapi_gatewayclass_info over --max-series-per-family"}; !slices.Equal(over, want) {
			t.Errorf("alert GatewayMetricsFamilyOverLimit: got %v, want %v", over, want)
		}
		for alert, objs := range want {
			r, err := live.query(fmt.Sprintf(`ALERTS{alertname=%q}`, alert))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, s := range r.Series {
				got = append(got, s.Labels["namespace"]+"/"+s.Labels["name"])
			}
			sort.Strings(got)
			if !slices.Equal(got, objs) {
				t.Errorf("alert %s on the samples and fixtures: got %v, want %v", alert, got, objs)
			}
		}
	})
}

// alertsWithoutData are the alerts whose expression the samples and
// fixtures cannot make return data, and why.
var alertsWithoutData = map[string]string{
	"GatewayMetricsExporterKindDown": "needs a kind the exporter cannot list; deploy/test/live's manifests tests and e2e's failure tests cover gateway_metrics_up 0",
	"GatewayMetricsExporterAbsent":   "fires only while no target of the job is up: Prometheus here scrapes the exporter (deploy/rules/tests/exporter.yaml has the cases where it fires)",
}

func keysOf(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

type alertRule struct{ Alert, Expr string }

// alertRules reads the alerting rules of a Prometheus rule file.
func alertRules(t *testing.T, path string) []alertRule {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Groups []struct {
			Rules []alertRule `json:"rules"`
		} `json:"groups"`
	}
	if err := yaml.Unmarshal(data, &f); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var out []alertRule
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			if r.Alert != "" {
				out = append(out, r)
			}
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s: no alerting rules", path)
	}
	return out
}

var (
	familyNameRE  = regexp.MustCompile(`\b(?:gatewayapi|kuadrant)_[a-z0-9_]*[a-z0-9]\b`)
	nameMatcherRE = regexp.MustCompile(`__name__=~"([^"]*)"`)
)

// declaredFamilies is the set of family names the plan declares, and those
// of every discovered Policy Attachment kind (pkg/policies).
func declaredFamilies(plan *spec.Plan) map[string]bool {
	out := map[string]bool{}
	for _, k := range append(slices.Clone(plan.Kinds), policies.Template()) {
		for _, f := range k.Families {
			out[f.Name] = true
		}
	}
	return out
}

// undeclaredFamilies lists what expr reads that the embedded spec does not
// declare: family names, and __name__ regexes that no declared family
// matches. A panel or alert that reads one has a name the exporter does not
// serve (the dashboards and alerts were first written from agreed names,
// before the families existed).
func undeclaredFamilies(expr string, declared map[string]bool) []string {
	var out []string
	for _, m := range nameMatcherRE.FindAllStringSubmatch(expr, -1) {
		re, err := regexp.Compile("^(?:" + m[1] + ")$")
		if err != nil {
			out = append(out, m[0]+" (bad regex)")
			continue
		}
		found := false
		for name := range declared {
			if re.MatchString(name) {
				found = true
				break
			}
		}
		if !found {
			out = append(out, m[0])
		}
	}
	for _, name := range familyNameRE.FindAllString(nameMatcherRE.ReplaceAllString(expr, ""), -1) {
		if !declared[name] && !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out
}

// goldenBodies returns real kube-state-metrics' /metrics body for the golden
// objects (the old Kuadrant CRS config) and what the embedded default spec
// renders for the same objects.
func goldenBodies(t *testing.T, sharedRoot string) (ksmBody, oursBody []byte) {
	t.Helper()
	golden := filepath.Join(sharedRoot, goldenRel)
	ksmBody, err := os.ReadFile(filepath.Join(golden, goldenMetrics))
	if err != nil {
		t.Fatal(err)
	}
	objs, err := objects.ReadAll(filepath.Join(golden, "objects"))
	if err != nil {
		t.Fatal(err)
	}
	nErr := 0
	oursBody, unmatched := engine.RenderObjects(defaultPlan(t), objs, exposition.Text, func(f *spec.Family, err error) {
		if nErr++; nErr <= 5 {
			t.Logf("rendering the golden objects: %s: %v", f.Name, err)
		}
	})
	t.Logf("golden objects: %d read, %d without a kind in the default spec, %d evaluation errors; our body %d bytes, KSM's %d bytes",
		len(objs), unmatched, nErr, len(oursBody), len(ksmBody))
	return ksmBody, oursBody
}

// waitRulesEvaluated waits until every rule of p has been evaluated once and
// returns them.
func (p *prometheus) waitRulesEvaluated(t *testing.T, within time.Duration) []rule {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		rules, err := p.rules()
		if err != nil {
			t.Fatal(err)
		}
		pending := 0
		for _, r := range rules {
			if r.Health == "unknown" || strings.HasPrefix(r.LastEvaluation, "0001-") {
				pending++
			}
		}
		if len(rules) > 0 && pending == 0 {
			return rules
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus %s: after %v, %d of %d rules not evaluated yet", p.Name, within, pending, len(rules))
		}
		time.Sleep(300 * time.Millisecond)
	}
}
