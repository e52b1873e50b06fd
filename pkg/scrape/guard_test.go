// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package scrape

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/engine"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/source"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/spec"
)

// The order in which the guard withholds families, written by hand: a family
// over --max-series-per-family first, whatever the body; then, while the
// body is over --max-series, the largest family left, ties by name.
func TestGuardDecide(t *testing.T) {
	totals := map[string]*engine.FamilyStats{
		"a": {Series: 10}, "b": {Series: 50}, "c": {Series: 30}, "d": {Series: 30}, "e": {Series: 0},
	}
	names := []string{"a", "b", "c", "d", "e"}
	for _, tc := range []struct {
		limits Limits
		want   map[string]string
	}{
		{Limits{}, map[string]string{}},
		{Limits{SeriesPerFamily: 50}, map[string]string{}},
		{Limits{SeriesPerFamily: 40}, map[string]string{"b": LimitFamily}},
		// 70 left over 50: c (30, before d by name), then 40 fits.
		{Limits{SeriesPerFamily: 40, Series: 50}, map[string]string{"b": LimitFamily, "c": LimitBody}},
		// 120 over 60: b (50), then c (30): 40 fits.
		{Limits{Series: 60}, map[string]string{"b": LimitBody, "c": LimitBody}},
		{Limits{Series: 120}, map[string]string{}},
		// Nothing fits but the empty family.
		{Limits{Series: 5}, map[string]string{"a": LimitBody, "b": LimitBody, "c": LimitBody, "d": LimitBody}},
	} {
		g := &guard{limits: tc.limits}
		if got := g.decide(totals, names); fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%+v: withheld %v, want %v", tc.limits, got, tc.want)
		}
	}
}

// Two kinds that declare the same family name are counted together, as the
// family is served.
const guardSpec = `spec:
  resources:
  - groupVersionKind: {group: example.com, version: v1, kind: Widget}
    labelsFromPath: {name: [metadata, name]}
    metrics:
    - {name: shared, help: h, each: {type: Gauge, gauge: {path: [spec, n]}}}
    - {name: widget_only, help: h, each: {type: Gauge, gauge: {path: [spec, n]}}}
  - groupVersionKind: {group: example.com, version: v1, kind: Gadget}
    labelsFromPath: {name: [metadata, name]}
    metrics:
    - {name: shared, help: h, each: {type: Gauge, gauge: {path: [spec, n]}}}
`

type families struct {
	mu     sync.Mutex
	states []FamilyState
}

func (f *families) ListDone(source.Resource, string, time.Duration) {}
func (f *families) Families(s []FamilyState) {
	f.mu.Lock()
	f.states = s
	f.mu.Unlock()
}

func (f *families) get(name string) (FamilyState, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range f.states {
		if s.Name == name {
			return s, true
		}
	}
	return FamilyState{}, false
}

// Over its limit, a family serves nothing, the rest of the body is the same,
// the crossing is logged once however many scrapes see it, and the state
// says so; back under, it is served again (logged once) and its state says
// 0. The families of a kind that is down keep their last state.
func TestGuardAcrossScrapes(t *testing.T) {
	plan, _, err := spec.Load("g.yaml", []byte(guardSpec))
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeLister{
		served: source.Served{
			"example.com/Widget": {{Group: "example.com", Version: "v1", Kind: "Widget", Plural: "widgets"}},
			"example.com/Gadget": {{Group: "example.com", Version: "v1", Kind: "Gadget", Plural: "gadgets"}},
		},
		items: map[string][]any{"Widget": {obj("a", 1), obj("b", 2)}, "Gadget": {obj("c", 3)}},
		fail:  map[string]error{},
	}
	logs := &syncBuf{}
	obs := &families{}
	free := New(plan, f, Options{}, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	c := New(plan, f, Options{Limits: Limits{SeriesPerFamily: 2}}, obs, slog.New(slog.NewTextHandler(logs, nil)))

	// shared: 2 Widgets + 1 Gadget = 3 samples, over 2; widget_only: 2.
	// The scrape durations differ from body to body: not compared.
	unlimited := body(t, free)
	want := withoutLines(unlimited, "kube_customresource_shared", "# HELP kube_customresource_shared ", "# TYPE kube_customresource_shared ", "gateway_metrics_scrape_duration_seconds{")
	for range 3 {
		if got := withoutLines(body(t, c), "gateway_metrics_scrape_duration_seconds{"); got != want {
			t.Fatalf("body:\n%s\nwant:\n%s", got, want)
		}
	}
	if !strings.Contains(unlimited, "kube_customresource_shared{") || !strings.Contains(unlimited, "kube_customresource_widget_only{") {
		t.Fatalf("the unlimited body lacks a family:\n%s", unlimited)
	}
	if n := strings.Count(logs.b.String(), "family over --max-series-per-family"); n != 1 {
		t.Errorf("logged %d times over 3 scrapes, want once:\n%s", n, logs.b.String())
	}
	st, _ := obs.get("kube_customresource_shared")
	if st.Series != 3 || st.Withheld != LimitFamily || fmt.Sprint(st.Crossed) != "[max-series-per-family]" {
		t.Errorf("shared: %+v", st)
	}
	if st, _ := obs.get("kube_customresource_widget_only"); st.Series != 2 || st.Withheld != "" || st.Crossed != nil {
		t.Errorf("widget_only: %+v", st)
	}

	// Back under the limit.
	f.items["Gadget"] = nil
	for range 2 {
		if b := body(t, c); !strings.Contains(b, `kube_customresource_shared{customresource_group="example.com",customresource_kind="Widget",customresource_version="v1",name="b"} 2`) {
			t.Errorf("back under the limit, the family is served again:\n%s", b)
		}
	}
	if n := strings.Count(logs.b.String(), "family back under its limit"); n != 1 {
		t.Errorf("logged %d times, want once:\n%s", n, logs.b.String())
	}
	if st, _ := obs.get("kube_customresource_shared"); st.Series != 2 || st.Withheld != "" || fmt.Sprint(st.Crossed) != "[max-series-per-family]" {
		t.Errorf("shared, back under: %+v", st)
	}

	// Widget down: widget_only keeps its last state; shared is Gadget's (0).
	f.fail["Widget"] = fmt.Errorf("connection refused")
	body(t, c)
	if st, ok := obs.get("kube_customresource_widget_only"); !ok || st.Series != 2 {
		t.Errorf("widget_only of a kind down: %+v %v, want its last state", st, ok)
	}
	if st, _ := obs.get("kube_customresource_shared"); st.Series != 0 {
		t.Errorf("shared with Widget down: %+v", st)
	}
}

// The body limit drops whole families, largest first, and says which.
func TestGuardBodyLimit(t *testing.T) {
	plan, _, err := spec.Load("g.yaml", []byte(guardSpec))
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeLister{
		served: source.Served{
			"example.com/Widget": {{Group: "example.com", Version: "v1", Kind: "Widget", Plural: "widgets"}},
			"example.com/Gadget": {{Group: "example.com", Version: "v1", Kind: "Gadget", Plural: "gadgets"}},
		},
		items: map[string][]any{"Widget": {obj("a", 1), obj("b", 2)}, "Gadget": {obj("c", 3)}},
		fail:  map[string]error{},
	}
	logs := &syncBuf{}
	obs := &families{}
	c := New(plan, f, Options{Limits: Limits{Series: 4}}, obs, slog.New(slog.NewTextHandler(logs, nil)))
	b := body(t, c)
	// 3 + 2 = 5 > 4: shared (3) goes, widget_only (2) fits.
	if strings.Contains(b, "kube_customresource_shared") || !strings.Contains(b, "kube_customresource_widget_only{") {
		t.Errorf("body:\n%s", b)
	}
	if st, _ := obs.get("kube_customresource_shared"); st.Withheld != LimitBody {
		t.Errorf("shared: %+v", st)
	}
	if !strings.Contains(logs.b.String(), "body over --max-series: family dropped") || !strings.Contains(logs.b.String(), "family=kube_customresource_shared") {
		t.Errorf("log:\n%s", logs.b.String())
	}
}

// withoutLines drops the lines starting with any of prefixes.
func withoutLines(body string, prefixes ...string) string {
	var out []string
	for _, l := range strings.SplitAfter(body, "\n") {
		drop := false
		for _, p := range prefixes {
			drop = drop || strings.HasPrefix(l, p)
		}
		if !drop {
			out = append(out, l)
		}
	}
	return strings.Join(out, "")
}
