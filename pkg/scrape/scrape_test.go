// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package scrape

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/exposition"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/source"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/spec"
)

// fakeLister is a unit-test stand-in for the API server; the real path is
// proven in e2e/.
type fakeLister struct {
	served source.Served
	items  map[string][]any // by kind
	fail   map[string]error // by kind
	gone   atomic.Int32     // 410s still to return
	delay  time.Duration
	lists  atomic.Int32
}

func (f *fakeLister) Discover(map[string]bool) (source.Served, error) { return f.served, nil }

func (f *fakeLister) List(ctx context.Context, r source.Resource, _ source.ListOptions, fn func([]any) error) (int, error) {
	f.lists.Add(1)
	select {
	case <-time.After(f.delay):
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	if err := f.fail[r.Kind]; err != nil {
		return 0, err
	}
	items := f.items[r.Kind]
	// Half the items, then an expired continue token: the half must not count.
	if f.gone.Load() > 0 && len(items) > 1 {
		f.gone.Add(-1)
		if err := fn(items[:1]); err != nil {
			return 1, err
		}
		return 1, apierrors.NewResourceExpired("continue token expired")
	}
	return 1, fn(items)
}

const testSpec = `spec:
  resources:
  - groupVersionKind: {group: example.com, version: v1, kind: Widget}
    metricNamePrefix: widget
    labelsFromPath: {name: [metadata, name]}
    metrics:
    - {name: up, help: h, each: {type: Gauge, gauge: {path: [spec, n]}}}
  - groupVersionKind: {group: example.com, version: v1, kind: Gadget}
    metricNamePrefix: gadget
    labelsFromPath: {name: [metadata, name]}
    metrics:
    - {name: up, help: h, each: {type: Gauge, gauge: {path: [spec, n]}}}
  - groupVersionKind: {group: example.com, version: v1, kind: Missing}
    metrics:
    - {name: x, help: h, each: {type: Gauge, gauge: {path: [spec, n]}}}
`

func obj(name string, n int) any {
	return map[string]any{"metadata": map[string]any{"name": name, "uid": "uid-" + name}, "spec": map[string]any{"n": int64(n)}}
}

func newTest(t *testing.T) (*Collector, *fakeLister) {
	plan, _, err := spec.Load("t.yaml", []byte(testSpec))
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeLister{
		served: source.Served{
			"example.com/Widget": {{Group: "example.com", Version: "v1", Kind: "Widget", Plural: "widgets"}},
			"example.com/Gadget": {{Group: "example.com", Version: "v2", Kind: "Gadget", Plural: "gadgets"}},
		},
		items: map[string][]any{"Widget": {obj("a", 1), obj("b", 2)}, "Gadget": {obj("c", 3)}},
		fail:  map[string]error{},
	}
	return New(plan, f, Options{}, nil, slog.New(slog.NewTextHandler(io.Discard, nil))), f
}

func body(t *testing.T, c *Collector) string {
	res, err := c.Collect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer res.Release()
	return string(Body(res, exposition.Text))
}

func TestKindsServedAtOtherVersionsAndMissing(t *testing.T) {
	c, _ := newTest(t)
	b := body(t, c)
	for _, want := range []string{
		`widget_up{customresource_group="example.com",customresource_kind="Widget",customresource_version="v1",name="a"} 1`,
		// The spec says v1; the cluster serves v2 only: read v2, label v2.
		`gadget_up{customresource_group="example.com",customresource_kind="Gadget",customresource_version="v2",name="c"} 3`,
		`gateway_metrics_up{group="example.com",kind="Widget",version="v1"} 1`,
		`gateway_metrics_up{group="example.com",kind="Gadget",version="v2"} 1`,
	} {
		if !strings.Contains(b, want+"\n") {
			t.Errorf("missing %s in\n%s", want, b)
		}
	}
	if strings.Contains(b, `kind="Missing"`) {
		t.Errorf("a kind without a CRD has no up series:\n%s", b)
	}
}

func TestFailedKindIsDownOthersComplete(t *testing.T) {
	c, f := newTest(t)
	f.fail["Widget"] = apierrors.NewForbidden(schema.GroupResource{Group: "example.com", Resource: "widgets"}, "", nil)
	b := body(t, c)
	if strings.Contains(b, "widget_up{") || strings.Contains(b, "# HELP widget_up") {
		t.Errorf("a failed kind must not serve a partial list:\n%s", b)
	}
	for _, want := range []string{`gateway_metrics_up{group="example.com",kind="Widget",version="v1"} 0`, `gadget_up{customresource_group="example.com",customresource_kind="Gadget",customresource_version="v2",name="c"} 3`} {
		if !strings.Contains(b, want+"\n") {
			t.Errorf("missing %s in\n%s", want, b)
		}
	}
}

func TestExpiredContinueRestartsTheList(t *testing.T) {
	c, f := newTest(t)
	f.gone.Store(1)
	b := body(t, c)
	if n := strings.Count(b, "widget_up{"); n != 2 {
		t.Errorf("want both widgets exactly once after the restart, got %d:\n%s", n, b)
	}
	f.gone.Store(2) // fails twice in a row: the kind is down, not half served
	c2, f2 := newTest(t)
	f2.gone.Store(2)
	b = body(t, c2)
	if strings.Contains(b, "widget_up{") || !strings.Contains(b, `gateway_metrics_up{group="example.com",kind="Widget",version="v1"} 0`) {
		t.Errorf("two expired lists in a row must report the kind down:\n%s", b)
	}
}

func TestConcurrentScrapesShareOneCollection(t *testing.T) {
	c, f := newTest(t)
	f.delay = 200 * time.Millisecond
	var wg sync.WaitGroup
	bodies := make([]string, 10)
	for i := range bodies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			bodies[i] = body(t, c)
		}()
	}
	wg.Wait()
	if n := c.Collections(); n != 1 {
		t.Errorf("10 concurrent scrapes ran %d collections, want 1", n)
	}
	if n := f.lists.Load(); n != 2 {
		t.Errorf("LIST calls = %d, want 2 (one per served kind)", n)
	}
	for i := range bodies {
		if bodies[i] != bodies[0] {
			t.Errorf("scrape %d saw a different body", i)
		}
	}
}

func TestScrapeTimeoutReportsUnfinishedKindsDown(t *testing.T) {
	c, f := newTest(t)
	f.delay = 5 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	res, err := c.Collect(ctx)
	// The collection and the scrape share the deadline: either the scrape
	// gives up first, or the collection ends with the unfinished kinds down.
	if err != nil {
		res = c.Down(err)
	}
	defer res.Release()
	b := string(Body(res, exposition.Text))
	if !strings.Contains(b, `gateway_metrics_up{group="example.com",kind="Widget",version="v1"} 0`) || strings.Contains(b, "widget_up{") {
		t.Errorf("got\n%s", b)
	}
}

func TestShardsPartitionObjects(t *testing.T) {
	seen := map[int]int{}
	for i := 0; i < 1000; i++ {
		s := ShardOf(fmt.Sprintf("uid-%d", i), 3)
		if s < 0 || s > 2 {
			t.Fatalf("shard %d out of range", s)
		}
		seen[s]++
	}
	for s := 0; s < 3; s++ {
		if seen[s] < 250 {
			t.Errorf("shard %d got %d of 1000 objects", s, seen[s])
		}
	}
}

// A "*" version or kind reads every served match, each with its own
// customresource_version/_kind and up series, as KSM's discovery does.
func TestWildcardGVK(t *testing.T) {
	plan, _, err := spec.Load("t.yaml", []byte(`spec:
  resources:
  - groupVersionKind: {group: example.com, version: "*", kind: "*"}
    metricNamePrefix: any
    labelsFromPath: {name: [metadata, name]}
    metrics:
    - {name: n, help: h, each: {type: Gauge, gauge: {path: [spec, n]}}}
`))
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeLister{
		served: source.Served{
			"example.com/Widget": {{Group: "example.com", Version: "v2", Kind: "Widget", Plural: "widgets"}, {Group: "example.com", Version: "v1", Kind: "Widget", Plural: "widgets"}},
			"example.com/Gadget": {{Group: "example.com", Version: "v1", Kind: "Gadget", Plural: "gadgets"}},
			"other.io/Thing":     {{Group: "other.io", Version: "v1", Kind: "Thing", Plural: "things"}},
		},
		items: map[string][]any{"Widget": {obj("a", 1)}, "Gadget": {obj("c", 3)}, "Thing": {obj("x", 9)}},
		fail:  map[string]error{},
	}
	c := New(plan, f, Options{}, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	b := body(t, c)
	for _, want := range []string{
		`any_n{customresource_group="example.com",customresource_kind="Gadget",customresource_version="v1",name="c"} 3`,
		`any_n{customresource_group="example.com",customresource_kind="Widget",customresource_version="v1",name="a"} 1`,
		`any_n{customresource_group="example.com",customresource_kind="Widget",customresource_version="v2",name="a"} 1`,
		`gateway_metrics_up{group="example.com",kind="Widget",version="v1"} 1`,
		`gateway_metrics_up{group="example.com",kind="Widget",version="v2"} 1`,
		`gateway_metrics_up{group="example.com",kind="Gadget",version="v1"} 1`,
	} {
		if !strings.Contains(b, want+"\n") {
			t.Errorf("missing %s in\n%s", want, b)
		}
	}
	if strings.Contains(b, "other.io") {
		t.Errorf("another group leaked in:\n%s", b)
	}
}

// A kind the exporter discovered itself (no spec declares it) that RBAC
// forbids listing is skipped: no families, no gateway_metrics_up series (also
// when a scrape runs out of time), one log line; once list is granted it is
// served and up. A declared kind that RBAC forbids stays down: it was asked
// for.
func TestForbiddenDiscoveredKindIsSkipped(t *testing.T) {
	c, f := newTest(t)
	logs := &syncBuf{}
	c.Core.log = slog.New(slog.NewTextHandler(logs, nil))
	plan, _, err := spec.Load("t.yaml", []byte(testSpec))
	if err != nil {
		t.Fatal(err)
	}
	plan.Kinds[0].Discovered = true // Widget: found, not asked for
	c.Core.kinds = PlanKinds(plan)
	forbid := func(res string) error {
		return apierrors.NewForbidden(schema.GroupResource{Group: "example.com", Resource: res}, "", fmt.Errorf("RBAC: not allowed"))
	}
	f.fail["Widget"] = forbid("widgets")
	f.fail["Gadget"] = forbid("gadgets")
	for range 3 {
		b := body(t, c)
		if strings.Contains(b, `kind="Widget"`) || strings.Contains(b, "widget_up") {
			t.Errorf("a forbidden discovered kind has no series at all:\n%s", b)
		}
		if !strings.Contains(b, `gateway_metrics_up{group="example.com",kind="Gadget",version="v2"} 0`+"\n") {
			t.Errorf("a forbidden declared kind is down:\n%s", b)
		}
	}
	if down := string(Body(c.Down(context.DeadlineExceeded), exposition.Text)); strings.Contains(down, `kind="Widget"`) {
		t.Errorf("Down reports the skipped kind:\n%s", down)
	}
	if n := strings.Count(logs.b.String(), "discovered policy kind not readable"); n != 1 {
		t.Errorf("%d log lines about the skipped kind over 3 scrapes, want 1:\n%s", n, logs.b.String())
	}
	if n := strings.Count(logs.b.String(), "RBAC forbids listing this kind"); n != 1 {
		t.Errorf("%d warnings about the declared forbidden kind, want 1:\n%s", n, logs.b.String())
	}

	delete(f.fail, "Widget")
	b := body(t, c)
	for _, want := range []string{
		`gateway_metrics_up{group="example.com",kind="Widget",version="v1"} 1`,
		`widget_up{customresource_group="example.com",customresource_kind="Widget",customresource_version="v1",name="a"} 1`,
	} {
		if !strings.Contains(b, want+"\n") {
			t.Errorf("once granted, missing %s in\n%s", want, b)
		}
	}
	// Any other failure of a discovered kind is a failure: down.
	f.fail["Widget"] = fmt.Errorf("dial tcp: connection refused")
	if b := body(t, c); !strings.Contains(b, `gateway_metrics_up{group="example.com",kind="Widget",version="v1"} 0`+"\n") {
		t.Errorf("a discovered kind whose list fails for another reason is down:\n%s", b)
	}
}
