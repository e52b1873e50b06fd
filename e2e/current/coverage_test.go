// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package current

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
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

// seen is what the tests saw served, for checkCoverage, which runs after
// all of them (testenv.AfterTests): samples per family over every scrape,
// and the kinds whose test ran.
var seen = struct {
	sync.Mutex
	families map[string]int
	kinds    map[string]bool
}{families: map[string]int{}, kinds: map[string]bool{}}

// recordServed notes the sample lines of a scrape.
func recordServed(lines []string) {
	seen.Lock()
	defer seen.Unlock()
	for _, l := range lines {
		seen.families[harness.MetricName(l)]++
	}
}

// recordKindTested notes that the test of kind ran.
func recordKindTested(kind string) {
	seen.Lock()
	seen.kinds[kind] = true
	seen.Unlock()
}

// checkCoverage requires, once every test has run, a sample of every family
// of the embedded spec (but the ones listed in noSampleHere) in what the
// tests' scrapes served, whatever order they ran in; with -v it prints the
// coverage per kind. When some kind's test did not run (-run), it checks
// nothing.
func checkCoverage() error {
	plan, _, err := spec.LoadFS(metricsspec.FS)
	if err != nil {
		return err
	}
	seen.Lock()
	defer seen.Unlock()
	var untested []string
	for _, k := range servedKinds {
		if !seen.kinds[k.Kind] {
			untested = append(untested, k.Kind)
		}
	}
	if len(untested) > 0 {
		if len(untested) < len(servedKinds) {
			fmt.Fprintf(os.Stderr, "coverage of the families not checked: the tests of %s did not run\n", strings.Join(untested, ", "))
		}
		return nil
	}
	var table, problems []string
	table = append(table, "| kind | read at | families served/declared | condition families | nested families |", "|---|---|---|---|---|")
	for _, k := range slicesSortedKinds(plan) {
		names := map[string]*spec.Family{}
		for _, f := range k.Families {
			names[f.Name] = f
		}
		var have, conds, nested int
		var missing []string
		for name, f := range names {
			if seen.families[name] > 0 {
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
			problems = append(problems, fmt.Sprintf("%s: families without a sample on the current CRDs: %s", k.GVK.Kind, strings.Join(missing, ", ")))
		}
		version := ""
		for _, sk := range servedKinds {
			if sk.Kind == k.GVK.Kind {
				version = sk.Version
			}
		}
		table = append(table, fmt.Sprintf("| %s | %s/%s | %d/%d | %d | %d |", k.GVK.Kind, k.GVK.Group, version, have, len(names), conds, nested))
	}
	if testing.Verbose() {
		fmt.Printf("coverage on the Gateway API v1.6.3 experimental channel and Kuadrant's current CRDs:\n%s\n", strings.Join(table, "\n"))
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "\n"))
	}
	return nil
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
