// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package watch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kwatch "k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/exposition"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/scrape"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/source"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/spec"
)

// Unit tests of the watch collector on client-go's fake dynamic client; the
// real API server path (restarts, RBAC, CRDs) is proven in e2e/.

const testSpec = `spec:
  resources:
  - groupVersionKind: {group: example.com, version: v1, kind: Widget}
    metricNamePrefix: widget
    labelsFromPath: {name: [metadata, name], namespace: [metadata, namespace]}
    metrics:
    - {name: n, help: h, each: {type: Gauge, gauge: {path: [spec, n]}}}
  - groupVersionKind: {group: example.com, version: v1, kind: Gizmo}
    metricNamePrefix: gizmo
    labelsFromPath: {name: [metadata, name]}
    metrics:
    - {name: n, help: h, each: {type: Gauge, gauge: {path: [spec, n]}}}
`

var (
	widgets = schema.GroupVersionResource{Group: "example.com", Version: "v1", Resource: "widgets"}
	gizmos  = schema.GroupVersionResource{Group: "example.com", Version: "v1", Resource: "gizmos"}
	served  = source.Served{
		"example.com/Widget": {{Group: "example.com", Version: "v1", Kind: "Widget", Plural: "widgets", Namespaced: true}},
		"example.com/Gizmo":  {{Group: "example.com", Version: "v1", Kind: "Gizmo", Plural: "gizmos"}},
	}
)

type discoverer struct{ served atomic.Pointer[source.Served] }

func (d *discoverer) Discover(map[string]bool) (source.Served, error) { return *d.served.Load(), nil }

type observer struct {
	mu    sync.Mutex
	lists []time.Duration
}

func (o *observer) ListDone(_ source.Resource, _ string, d time.Duration) {
	o.mu.Lock()
	o.lists = append(o.lists, d)
	o.mu.Unlock()
}
func (o *observer) Families([]scrape.FamilyState) {}

func widget(ns, name string, n int64) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{"apiVersion": "example.com/v1", "kind": "Widget",
		"metadata": map[string]any{"name": name, "namespace": ns, "uid": ns + "-" + name},
		"spec":     map[string]any{"n": n}}}
}

func gizmo(name string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{"apiVersion": "example.com/v1", "kind": "Gizmo",
		"metadata": map[string]any{"name": name, "uid": "gizmo-" + name}, "spec": map[string]any{"n": int64(7)}}}
}

type env struct {
	c     *Collector
	dyn   *fake.FakeDynamicClient
	disc  *discoverer
	obs   *observer
	plan  *spec.Plan
	ctx   context.Context
	stop  context.CancelFunc
	kinds atomic.Pointer[[]*spec.Kind]
}

func newEnv(t *testing.T, opts scrape.Options, objs ...runtime.Object) *env {
	t.Helper()
	plan, _, err := spec.Load("t.yaml", []byte(testSpec))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{plan: plan, disc: &discoverer{}, obs: &observer{}}
	s := served
	e.disc.served.Store(&s)
	e.kinds.Store(&plan.Kinds)
	e.dyn = fake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{widgets: "WidgetList", gizmos: "GizmoList"}, objs...)
	e.ctx, e.stop = context.WithCancel(context.Background())
	e.c = NewWithKinds(e.ctx, scrape.KindsFunc(func(context.Context) []*spec.Kind { return *e.kinds.Load() }),
		e.disc, dynAPI{e.dyn}, opts, e.obs, slog.Default())
	e.c.Rediscover = 0 // every scrape reconciles
	t.Cleanup(func() {
		e.stop()
		e.c.Wait()
	})
	return e
}

func (e *env) body(t *testing.T) string {
	t.Helper()
	res, err := e.c.Collect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer res.Release()
	return string(scrape.Body(res, exposition.Text))
}

// eventually polls the served body until cond holds; the bound is a liveness
// guard for a broken collector, not a performance expectation.
func (e *env) eventually(t *testing.T, what string, cond func(body string) bool) string {
	t.Helper()
	var b string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if b = e.body(t); cond(b) {
			return b
		}
	}
	t.Fatalf("never %s; last body:\n%s", what, b)
	return ""
}

func lines(body, prefix string) []string {
	var out []string
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return out
}

func widgetLine(ns, name string, n int) string {
	return fmt.Sprintf(`widget_n{customresource_group="example.com",customresource_kind="Widget",customresource_version="v1",name="%s",namespace="%s"} %d`, name, ns, n)
}

const (
	widgetUp = `gateway_metrics_up{group="example.com",kind="Widget",version="v1"} 1`
	gizmoUp  = `gateway_metrics_up{group="example.com",kind="Gizmo",version="v1"} 1`
)

func up(b string) bool { return strings.Contains(b, widgetUp) && strings.Contains(b, gizmoUp) }

func TestWatchServesAndFollowsChanges(t *testing.T) {
	e := newEnv(t, scrape.Options{}, widget("a", "w1", 1), widget("b", "w2", 2), gizmo("g"))
	b := e.eventually(t, "up", up)
	want := []string{widgetLine("a", "w1", 1), widgetLine("b", "w2", 2)}
	if got := lines(b, "widget_n{"); !slices.Equal(got, want) {
		t.Errorf("widgets %v, want %v", got, want)
	}
	if got := lines(b, "gizmo_n{"); len(got) != 1 {
		t.Errorf("gizmos %v, want one", got)
	}
	ctx := context.Background()
	if _, err := e.dyn.Resource(widgets).Namespace("a").Create(ctx, widget("a", "w0", 5), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := e.dyn.Resource(widgets).Namespace("b").Delete(ctx, "w2", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.dyn.Resource(widgets).Namespace("a").Update(ctx, widget("a", "w1", 9), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	want = []string{widgetLine("a", "w0", 5), widgetLine("a", "w1", 9)}
	e.eventually(t, "followed the changes", func(b string) bool { return slices.Equal(lines(b, "widget_n{"), want) })

	// Every LIST the reflectors made was accounted for, with its duration.
	e.obs.mu.Lock()
	defer e.obs.mu.Unlock()
	if len(e.obs.lists) < 2 {
		t.Errorf("%d LISTs observed, want one per resource at least", len(e.obs.lists))
	}
	for _, d := range e.obs.lists {
		if d <= 0 {
			t.Errorf("a LIST was observed with duration %v", d)
		}
	}
}

// The same namespace semantics as list mode: the denylist applies inside the
// allowlist, and cluster-scoped kinds are not filtered.
func TestWatchNamespaces(t *testing.T) {
	e := newEnv(t, scrape.Options{Namespaces: []string{"a", "b"}, DeniedNamespaces: []string{"b"}},
		widget("a", "w1", 1), widget("b", "w2", 2), widget("c", "w3", 3), gizmo("g"))
	b := e.eventually(t, "up", up)
	if got, want := lines(b, "widget_n{"), []string{widgetLine("a", "w1", 1)}; !slices.Equal(got, want) {
		t.Errorf("widgets %v, want %v", got, want)
	}
	if got := lines(b, "gizmo_n{"); len(got) != 1 {
		t.Errorf("cluster-scoped gizmos %v, want one", got)
	}
}

// A watch that the API server ends with 410 Gone (its resourceVersion was
// compacted) makes the reflector relist: what changed meanwhile is served.
func TestWatchRelistsOnGone(t *testing.T) {
	e := newEnv(t, scrape.Options{}, widget("a", "w1", 1), gizmo("g"))
	var gone atomic.Bool
	var lists atomic.Int32
	e.dyn.PrependReactor("list", "widgets", func(k8stesting.Action) (bool, runtime.Object, error) {
		lists.Add(1)
		return false, nil, nil
	})
	e.dyn.PrependWatchReactor("widgets", func(k8stesting.Action) (bool, kwatch.Interface, error) {
		if !gone.CompareAndSwap(false, true) {
			return false, nil, nil
		}
		// Changed while the watch could not follow: only a relist sees it.
		if err := e.dyn.Tracker().Create(widgets, widget("a", "w2", 2), "a"); err != nil {
			t.Error(err)
		}
		w := kwatch.NewFakeWithChanSize(1, false)
		w.Error(&metav1.Status{Status: metav1.StatusFailure, Code: 410, Reason: metav1.StatusReasonExpired, Message: "too old resource version"})
		return true, w, nil
	})
	want := []string{widgetLine("a", "w1", 1), widgetLine("a", "w2", 2)}
	e.eventually(t, "relisted after 410", func(b string) bool { return up(b) && slices.Equal(lines(b, "widget_n{"), want) })
	if lists.Load() < 2 {
		t.Errorf("%d LISTs of widgets, want a relist", lists.Load())
	}
}

// A failing LIST (RBAC revoked) reports the kind down with none of its
// families; the others stay up; it recovers when the LIST succeeds again.
func TestWatchListFailureIsDown(t *testing.T) {
	e := newEnv(t, scrape.Options{}, widget("a", "w1", 1), gizmo("g"))
	var forbid atomic.Bool
	forbid.Store(true)
	e.dyn.PrependReactor("list", "widgets", func(k8stesting.Action) (bool, runtime.Object, error) {
		if forbid.Load() {
			return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "example.com", Resource: "widgets"}, "", errors.New("revoked"))
		}
		return false, nil, nil
	})
	b := e.eventually(t, "gizmo up", func(b string) bool { return strings.Contains(b, gizmoUp) })
	if !strings.Contains(b, `gateway_metrics_up{group="example.com",kind="Widget",version="v1"} 0`) || strings.Contains(b, "widget_n") {
		t.Errorf("a forbidden kind must be down with no families:\n%s", b)
	}
	forbid.Store(false)
	e.eventually(t, "recovered", func(b string) bool {
		return up(b) && slices.Equal(lines(b, "widget_n{"), []string{widgetLine("a", "w1", 1)})
	})
}

// When the shard count changes, membership is re-evaluated: objects kept for
// the old count would otherwise be served by two shards, or by none.
func TestWatchShardCountChange(t *testing.T) {
	var shards atomic.Int32
	shards.Store(1)
	var objs []runtime.Object
	var all []string
	for i := range 20 {
		objs = append(objs, widget("a", fmt.Sprintf("w%02d", i), 1))
		all = append(all, widgetLine("a", fmt.Sprintf("w%02d", i), 1))
	}
	objs = append(objs, gizmo("g"))
	e := newEnv(t, scrape.Options{Shard: func() (int, int) { return 0, int(shards.Load()) }}, objs...)
	e.eventually(t, "all 20 on one shard", func(b string) bool { return up(b) && slices.Equal(lines(b, "widget_n{"), all) })

	shards.Store(2)
	var mine []string
	for i := range 20 {
		if scrape.ShardOf(fmt.Sprintf("a-w%02d", i), 2) == 0 {
			mine = append(mine, widgetLine("a", fmt.Sprintf("w%02d", i), 1))
		}
	}
	if len(mine) == 0 || len(mine) == 20 {
		t.Fatalf("test objects do not split over 2 shards: %d", len(mine))
	}
	e.eventually(t, "shard 0 of 2", func(b string) bool { return up(b) && slices.Equal(lines(b, "widget_n{"), mine) })
}

// Collect honours its context: a scrape that gave up gets its error (the
// handler then serves Down), not a result.
func TestWatchCollectHonoursContext(t *testing.T) {
	e := newEnv(t, scrape.Options{}, widget("a", "w1", 1), gizmo("g"))
	e.eventually(t, "up", up)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := e.c.Collect(ctx)
	if !errors.Is(err, context.Canceled) || res != nil {
		t.Errorf("Collect with a cancelled context = %v, %v", res, err)
	}
}

// Kinds that disappear (from the provider, or their CRD) stop their
// reflectors; ending the collector's context stops all of them.
func TestWatchKindsComeAndGo(t *testing.T) {
	e := newEnv(t, scrape.Options{}, widget("a", "w1", 1), gizmo("g"))
	e.eventually(t, "up", up)

	only := []*spec.Kind{e.plan.Kinds[1]} // Gizmo
	e.kinds.Store(&only)
	e.eventually(t, "Widget gone", func(b string) bool { return !strings.Contains(b, "Widget") && strings.Contains(b, gizmoUp) })

	s := source.Served{"example.com/Widget": served["example.com/Widget"]}
	e.disc.served.Store(&s)
	e.kinds.Store(&e.plan.Kinds)
	b := e.eventually(t, "Widget back, Gizmo's CRD gone", func(b string) bool { return strings.Contains(b, widgetUp) && !strings.Contains(b, "Gizmo") })
	if strings.Contains(b, "gizmo_n") {
		t.Errorf("a kind no longer served kept its families:\n%s", b)
	}
	e.c.mu.Lock()
	n := len(e.c.watches)
	e.c.mu.Unlock()
	if n != 1 {
		t.Errorf("%d resources watched, want 1", n)
	}

	e.stop()
	done := make(chan struct{})
	go func() { e.c.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second): // liveness guard, not a performance bound
		t.Fatal("reflectors still running after the context ended")
	}
}

// A "*" kind expands to every served kind of the group, as in list mode (the
// core resolves it for both modes): one reflector per served resource.
func TestWatchWildcardKind(t *testing.T) {
	e := newEnv(t, scrape.Options{}, widget("a", "w1", 1), gizmo("g"))
	plan, _, err := spec.Load("w.yaml", []byte(`spec:
  resources:
  - groupVersionKind: {group: example.com, version: v1, kind: "*"}
    metricNamePrefix: any
    labelsFromPath: {name: [metadata, name]}
    metrics:
    - {name: n, help: h, each: {type: Gauge, gauge: {path: [spec, n]}}}
`))
	if err != nil {
		t.Fatal(err)
	}
	e.kinds.Store(&plan.Kinds)
	b := e.eventually(t, "both kinds up", func(b string) bool { return up(b) })
	want := []string{
		`any_n{customresource_group="example.com",customresource_kind="Gizmo",customresource_version="v1",name="g"} 7`,
		`any_n{customresource_group="example.com",customresource_kind="Widget",customresource_version="v1",name="w1"} 1`,
	}
	if got := lines(b, "any_n{"); !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

// A restarting API server accepts a watch and ends it at once, and the
// reflector then backs off for longer and longer: meanwhile the store misses
// changes, so the kind turns down (none of its lines) instead of serving
// stale state; once watches hold again, what changed meanwhile is served.
func TestWatchEndingAtOnceIsDownThenRecovers(t *testing.T) {
	e := newEnv(t, scrape.Options{}, widget("a", "w1", 1), gizmo("g"))
	var flapping atomic.Bool
	flapping.Store(true)
	e.dyn.PrependWatchReactor("widgets", func(k8stesting.Action) (bool, kwatch.Interface, error) {
		if !flapping.Load() {
			return false, nil, nil
		}
		w := kwatch.NewFake()
		w.Stop() // the stream ends before any event
		return true, w, nil
	})
	e.eventually(t, "synced", up) // the first LIST succeeds; its watch ends at once
	b := e.eventually(t, "Widget down", func(b string) bool {
		return strings.Contains(b, `gateway_metrics_up{group="example.com",kind="Widget",version="v1"} 0`) && strings.Contains(b, gizmoUp)
	})
	if got := lines(b, "widget_n{"); len(got) != 0 {
		t.Errorf("a kind down serves %v", got)
	}
	if err := e.dyn.Tracker().Create(widgets, widget("a", "w2", 2), "a"); err != nil {
		t.Fatal(err)
	}
	flapping.Store(false)
	want := []string{widgetLine("a", "w1", 1), widgetLine("a", "w2", 2)}
	e.eventually(t, "recovered with every change", func(b string) bool { return up(b) && slices.Equal(lines(b, "widget_n{"), want) })
}

// A discovered kind (no spec declares it) whose LIST RBAC forbids is skipped
// as in list mode: no families and no gateway_metrics_up series, while a
// declared kind would be down (TestWatchListFailureIsDown); once list is
// granted, its reflector picks it up.
func TestWatchForbiddenDiscoveredKindIsSkipped(t *testing.T) {
	e := newEnv(t, scrape.Options{}, widget("a", "w1", 1), gizmo("g"))
	e.plan.Kinds[0].Discovered = true // Widget
	var forbid atomic.Bool
	forbid.Store(true)
	var forbidden atomic.Int32
	e.dyn.PrependReactor("list", "widgets", func(k8stesting.Action) (bool, runtime.Object, error) {
		if forbid.Load() {
			forbidden.Add(1)
			return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "example.com", Resource: "widgets"}, "", errors.New("not granted"))
		}
		return false, nil, nil
	})
	// Once the reflector has met the 403, the kind is absent on every scrape.
	e.eventually(t, "gizmo up and widgets refused", func(b string) bool {
		return strings.Contains(b, gizmoUp) && forbidden.Load() > 0 && !strings.Contains(b, `kind="Widget"`)
	})
	for range 3 {
		if b := e.body(t); strings.Contains(b, `kind="Widget"`) || strings.Contains(b, "widget_n") || !strings.Contains(b, gizmoUp) {
			t.Fatalf("a forbidden discovered kind has no series at all, the others are up:\n%s", b)
		}
	}
	if down := string(scrape.Body(e.c.Down(context.DeadlineExceeded), exposition.Text)); strings.Contains(down, `kind="Widget"`) {
		t.Errorf("Down reports the skipped kind:\n%s", down)
	}
	forbid.Store(false)
	e.eventually(t, "widget served once granted", func(b string) bool {
		return up(b) && slices.Equal(lines(b, "widget_n{"), []string{widgetLine("a", "w1", 1)})
	})
}
