// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package app

import (
	"bytes"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/kuadrant/gateway-api-metrics-exporter/internal/fixture"
	"github.com/kuadrant/gateway-api-metrics-exporter/internal/refdata"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/engine"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/exposition"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/spec"
)

// countSamples renders the benchmark fixture (10k HTTPRoutes with 2 parents x
// 6 conditions, 1k Gateways x 8 listeners x 4 conditions: pkg/scrape's and
// e2e's benchmarks) through the engine, as a scrape renders them, and counts
// the body's sample lines per family. No API server: what is counted is what
// the spec makes of the objects.
func countSamples(t *testing.T, plan *spec.Plan) map[string]int {
	t.Helper()
	o := engine.NewOffline(plan, nil)
	for i := range 10000 {
		o.Add(fixture.HTTPRoute(i))
	}
	for i := range 1000 {
		o.Add(fixture.Gateway(i, 8))
	}
	var b bytes.Buffer
	if err := o.WriteTo(&b, exposition.Text); err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for _, l := range bytes.Split(b.Bytes(), []byte("\n")) {
		if len(l) > 0 && l[0] != '#' {
			n[string(l[:bytes.IndexAny(l, "{ ")])]++
		}
	}
	return n
}

// total adds up the samples of the families keep accepts.
func total(n map[string]int, plan *spec.Plan, keep func(*spec.Family) bool) int {
	sum := 0
	seen := map[string]bool{}
	for _, k := range plan.Kinds {
		for _, f := range k.Families {
			if !seen[f.Name] && keep(f) {
				seen[f.Name] = true
				sum += n[f.Name]
			}
		}
	}
	return sum
}

// TestDefaultSpecSampleBudget: the embedded spec's families as served by
// default (no --metric-opt-in-list), but the attachment graph's, stay within
// 320,000 samples on the benchmark fixture (issue 20's budget: the old
// families, the listener and parent conditions, freshness per entry); the
// graph families are counted apart. The expected counts are written by hand
// from the fixture objects and the families (per HTTPRoute: labels 1,
// created 1, deleted 1, hostname_info 2, parent_info 2, status_parent_info 2,
// status_parents_conditions 2x6, metadata_generation 1,
// status_parents_observed_generation 2 = 24; per Gateway: info 1, labels 1,
// created 1, deleted 1, listener_info 8, status 2, attached routes 8,
// address_info 1, listeners_conditions 8x4, supported_kinds 8,
// metadata_generation 1, status_observed_generation 1,
// status_listeners_observed_generation 8 = 73); with every opt-in family,
// each condition adds its observedGeneration and lastTransitionTime (HTTPRoute
// +24, Gateway +2x2 top-level +2x32 listeners = +68). The graph families: per
// HTTPRoute parent_attachment 2 (its parentRefs) and backend_ref_info 3 (its
// backendRefs), per Gateway listener_certificate_ref_info 8 (one
// certificateRef per listener); policy_coverage has none, as no policy kind
// is served to the graph here (with AuthPolicy and RateLimitPolicy installed
// it adds 2 per route).
func TestDefaultSpecSampleBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("renders 11k objects")
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	embedded, err := LoadPlan("", "", false, log)
	if err != nil {
		t.Fatal(err)
	}
	// One rendering with every family; the default is what the flags keep.
	n := countSamples(t, embedded)
	notGraph := func(keep func(*spec.Family) bool) func(*spec.Family) bool {
		return func(f *spec.Family) bool { return f.Graph == spec.NoRelation && keep(f) }
	}
	isGraph := func(f *spec.Family) bool { return f.Graph != spec.NoRelation }
	def := total(n, embedded, notGraph(mustParse(t).familyFilter()))
	all := total(n, embedded, notGraph(mustParse(t, "--metric-opt-in-list=.*").familyFilter()))
	graphs := total(n, embedded, isGraph)
	t.Logf("benchmark fixture: %d samples by default (%d with the graph families), %d with every opt-in family", def, def+graphs, all)
	if want := 10000*24 + 1000*73; def != want {
		t.Errorf("default spec: %d samples, want %d", def, want)
	}
	if def > 320000 {
		t.Errorf("default spec: %d samples, over the budget of 320,000", def)
	}
	if want := 10000*(24+24) + 1000*(73+68); all != want {
		t.Errorf("with every opt-in family: %d samples, want %d", all, want)
	}
	if want := 10000*(2+3) + 1000*8; graphs != want {
		t.Errorf("graph families: %d samples, want %d", graphs, want)
	}

	// For comparison, the old gateway-api-state-metrics configuration.
	if dir, ok := refdata.Optional(t, "anchors/gateway-api-state-metrics/config/default/custom-resource-state.yaml"); ok {
		data, err := os.ReadFile(filepath.Join(dir, "anchors/gateway-api-state-metrics/config/default/custom-resource-state.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		old, _, err := spec.Load("old", data)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("the old configuration: %d samples", total(countSamples(t, old), old, func(*spec.Family) bool { return true }))
	}
}
