package current

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/kuadrant/gateway-api-metrics-exporter/internal/harness"
	metricsspec "github.com/kuadrant/gateway-api-metrics-exporter/metrics-spec"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/spec"
)

// noSampleHere are the families the kind tests cannot give a sample, and why.
var noSampleHere = map[string]string{
	"gatewayapi_tlspolicy_deleted":       "legacy family without nilIsZero: only while an object is being deleted",
	"gatewayapi_dnspolicy_deleted":       "legacy family without nilIsZero: only while an object is being deleted",
	"gatewayapi_ratelimitpolicy_deleted": "legacy family without nilIsZero: only while an object is being deleted",
	"gatewayapi_authpolicy_deleted":      "legacy family without nilIsZero: only while an object is being deleted",
	// Kuadrant's controllers leave the conditions' observedGeneration unset
	// (status.observedGeneration says it), and so do these tests.
	"gatewayapi_tlspolicy_status_condition_observed_generation":            "Kuadrant writes status.observedGeneration",
	"gatewayapi_ratelimitpolicy_status_condition_observed_generation":      "Kuadrant writes status.observedGeneration",
	"gatewayapi_authpolicy_status_condition_observed_generation":           "Kuadrant writes status.observedGeneration",
	"gatewayapi_kuadrant_status_condition_observed_generation":             "Kuadrant writes status.observedGeneration",
	"gatewayapi_tokenratelimitpolicy_status_condition_observed_generation": "Kuadrant writes status.observedGeneration",
	"gatewayapi_oidcpolicy_status_condition_observed_generation":           "Kuadrant writes status.observedGeneration",
	"gatewayapi_planpolicy_status_condition_observed_generation":           "Kuadrant writes status.observedGeneration",
	"gatewayapi_telemetrypolicy_status_condition_observed_generation":      "Kuadrant writes status.observedGeneration",
	"gatewayapi_threatpolicy_status_condition_observed_generation":         "Kuadrant writes status.observedGeneration",
}

// TestEveryFamilyServed scrapes every namespace the kind tests above wrote
// (file order runs it after them) and requires a sample of every family of
// the embedded spec, but the ones listed in noSampleHere; it logs the
// coverage per kind. The attachment graph's families have their samples from
// graph_test.go's scenario, which it writes itself unless it is written
// already.
func TestEveryFamilyServed(t *testing.T) {
	env := envFor(t)
	ensureGraphScenario(t, env)
	plan, _, err := spec.LoadFS(metricsspec.FS)
	if err != nil {
		t.Fatal(err)
	}
	x := &exporter{startWithArgs(t, env)}
	lines := x.scrape(t)
	served := map[string]int{}
	for _, l := range lines {
		served[harness.MetricName(l)]++
	}
	up := map[string]string{}
	for _, l := range harness.WithPrefix(lines, "gateway_metrics_up") {
		kind := l[strings.Index(l, `kind="`)+6:]
		up[kind[:strings.IndexByte(kind, '"')]] = l[strings.LastIndexByte(l, ' ')+1:]
	}

	var table []string
	table = append(table, "| kind | read at | families served/declared | condition families | nested families | gateway_metrics_up |", "|---|---|---|---|---|---|")
	kinds := slicesSortedKinds(plan)
	for _, k := range kinds {
		names := map[string]*spec.Family{}
		for _, f := range k.Families {
			names[f.Name] = f
		}
		var have, conds, nested int
		var missing []string
		for name, f := range names {
			if served[name] > 0 {
				have++
			} else if _, ok := noSampleHere[name]; !ok {
				missing = append(missing, name)
			}
			if f.Each.Nested != nil {
				nested++
			}
			if isConditionFamily(f) {
				conds++
			}
		}
		if len(missing) > 0 {
			sort.Strings(missing)
			t.Errorf("%s: families without a sample on the current CRDs: %s", k.GVK.Kind, strings.Join(missing, ", "))
		}
		version := ""
		for _, sk := range servedKinds {
			if sk.Kind == k.GVK.Kind {
				version = sk.Version
			}
		}
		table = append(table, fmt.Sprintf("| %s | %s/%s | %d/%d | %d | %d | %s |", k.GVK.Kind, k.GVK.Group, version, have, len(names), conds, nested, up[k.GVK.Kind]))
		if up[k.GVK.Kind] != "1" {
			t.Errorf("%s: gateway_metrics_up %q, want 1", k.GVK.Kind, up[k.GVK.Kind])
		}
	}
	t.Logf("coverage on the Gateway API v1.6.3 experimental channel and Kuadrant's current CRDs:\n%s", strings.Join(table, "\n"))
}

// isConditionFamily: a family read from conditions (top-level or nested).
func isConditionFamily(f *spec.Family) bool {
	if len(f.Each.Path) > 0 && f.Each.Path[len(f.Each.Path)-1].Raw == "conditions" {
		return true
	}
	for lv := f.Each.Nested; lv != nil; lv = lv.Nested {
		if len(lv.Path) > 0 && (lv.Path[len(lv.Path)-1].Raw == "conditions" || lv.Path[len(lv.Path)-1].Raw == "recordConditions") {
			return true
		}
	}
	return false
}

func slicesSortedKinds(plan *spec.Plan) []*spec.Kind {
	out := append([]*spec.Kind(nil), plan.Kinds...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].GVK.Group+out[i].GVK.Kind < out[j].GVK.Group+out[j].GVK.Kind })
	return out
}
