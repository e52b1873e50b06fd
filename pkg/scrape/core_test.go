// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package scrape

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/exposition"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/source"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/spec"
)

func TestScopes(t *testing.T) {
	ns := source.Resource{Namespaced: true}
	cluster := source.Resource{}
	for _, tc := range []struct {
		name        string
		allow, deny []string
		r           source.Resource
		want        []Scope
	}{
		{"all", nil, nil, ns, []Scope{{}}},
		{"allowlist", []string{"a", "b"}, nil, ns, []Scope{{Namespace: "a"}, {Namespace: "b"}}},
		{"denylist", nil, []string{"b", "c"}, ns, []Scope{{FieldSelector: "metadata.namespace!=b,metadata.namespace!=c"}}},
		// KSM applies the denylist inside the allowlist.
		{"both", []string{"a", "b"}, []string{"b"}, ns, []Scope{{Namespace: "a"}}},
		// Everything allowed is denied: read nothing, never everything.
		{"all denied", []string{"b"}, []string{"b"}, ns, []Scope{}},
		{"duplicates", []string{"a", "a"}, nil, ns, []Scope{{Namespace: "a"}}},
		// Sorted, whatever the flag's order: both modes serve one body.
		{"flag order", []string{"c", "a", "b", "a"}, []string{"b"}, ns, []Scope{{Namespace: "a"}, {Namespace: "c"}}},
		{"cluster-scoped", []string{"a"}, []string{"b"}, cluster, []Scope{{}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := NewCore(PlanKinds(&spec.Plan{}), nil, Options{Namespaces: tc.allow, DeniedNamespaces: tc.deny}, nil, slog.Default())
			got := c.Scopes(tc.r)
			if !slices.Equal(got, tc.want) || got == nil {
				t.Errorf("Scopes = %#v, want %#v", got, tc.want)
			}
		})
	}
}

// scopedLister serves namespaced objects and honours the namespace and the
// metadata.namespace!= field selector, as the API server does.
type scopedLister struct {
	served source.Served
	objs   []map[string]any
	calls  atomic.Int32
}

func (l *scopedLister) Discover(map[string]bool) (source.Served, error) { return l.served, nil }

func (l *scopedLister) List(_ context.Context, r source.Resource, o source.ListOptions, fn func([]any) error) (int, error) {
	l.calls.Add(1)
	var out []any
	for _, obj := range l.objs {
		objNS := obj["metadata"].(map[string]any)["namespace"].(string)
		if o.Namespace != "" && objNS != o.Namespace {
			continue
		}
		denied := false
		for _, term := range strings.Split(o.FieldSelector, ",") {
			if ns, ok := strings.CutPrefix(term, "metadata.namespace!="); ok && ns == objNS {
				denied = true
			}
		}
		if !denied {
			out = append(out, obj)
		}
	}
	return 1, fn(out)
}

func nsObj(ns, name string) map[string]any {
	return map[string]any{"metadata": map[string]any{"name": name, "namespace": ns, "uid": ns + "/" + name}, "spec": map[string]any{"n": int64(1)}}
}

func TestListModeNamespaces(t *testing.T) {
	plan, _, err := spec.Load("t.yaml", []byte(`spec:
  resources:
  - groupVersionKind: {group: example.com, version: v1, kind: Widget}
    metricNamePrefix: widget
    labelsFromPath: {name: [metadata, name], namespace: [metadata, namespace]}
    metrics:
    - {name: n, help: h, each: {type: Gauge, gauge: {path: [spec, n]}}}
`))
	if err != nil {
		t.Fatal(err)
	}
	l := &scopedLister{
		served: source.Served{"example.com/Widget": {{Group: "example.com", Version: "v1", Kind: "Widget", Plural: "widgets", Namespaced: true}}},
		objs:   []map[string]any{nsObj("a", "w1"), nsObj("b", "w2"), nsObj("c", "w3")},
	}
	for _, tc := range []struct {
		allow, deny []string
		want        string
	}{
		{nil, nil, "a,b,c"},
		{[]string{"a", "b"}, nil, "a,b"},
		{[]string{"c", "a"}, nil, "a,c"},
		{nil, []string{"b"}, "a,c"},
		{[]string{"a", "b"}, []string{"b"}, "a"},
		{[]string{"b"}, []string{"b"}, ""},
	} {
		c := New(plan, l, Options{Namespaces: tc.allow, DeniedNamespaces: tc.deny}, nil, slog.Default())
		b := body(t, c)
		var got []string
		for _, line := range strings.Split(b, "\n") {
			if strings.HasPrefix(line, "widget_n{") {
				ns := line[strings.Index(line, `namespace="`)+len(`namespace="`):]
				got = append(got, ns[:strings.IndexByte(ns, '"')])
			}
		}
		if strings.Join(got, ",") != tc.want {
			t.Errorf("--namespaces=%v --namespaces-denylist=%v served %v, want %s", tc.allow, tc.deny, got, tc.want)
		}
		if !strings.Contains(b, `gateway_metrics_up{group="example.com",kind="Widget",version="v1"} 1`) {
			t.Errorf("kind not up:\n%s", b)
		}
	}
}

// The set of kinds may change between rounds: kinds that appear are
// collected, kinds that go lose their series and the core's state for them.
func TestKindsChangeAtRuntime(t *testing.T) {
	plan, _, err := spec.Load("t.yaml", []byte(testSpec))
	if err != nil {
		t.Fatal(err)
	}
	widget, gadget := plan.Kinds[0], plan.Kinds[1]
	var current atomic.Pointer[[]*spec.Kind]
	set := func(ks ...*spec.Kind) { current.Store(&ks) }
	set(widget)
	_, f := newTest(t)
	c := NewWithKinds(KindsFunc(func(context.Context) []*spec.Kind { return *current.Load() }), f, Options{}, nil, slog.Default())

	b := body(t, c)
	if !strings.Contains(b, "widget_up{") || strings.Contains(b, "gadget") {
		t.Fatalf("round 1 (Widget only):\n%s", b)
	}
	set(widget, gadget)
	b = body(t, c)
	if !strings.Contains(b, "widget_up{") || !strings.Contains(b, `gadget_up{customresource_group="example.com",customresource_kind="Gadget",customresource_version="v2",name="c"} 3`) {
		t.Fatalf("round 2 (Widget and Gadget):\n%s", b)
	}
	set(gadget)
	b = body(t, c)
	if strings.Contains(b, "widget") || !strings.Contains(b, "gadget_up{") {
		t.Fatalf("round 3 (Gadget only):\n%s", b)
	}
	c.Core.mu.Lock()
	_, pooled := c.Core.free[widget]
	_, fields := c.Core.fields[widget]
	c.Core.mu.Unlock()
	if pooled || fields {
		t.Errorf("state of a removed kind kept: pool %v, projection %v", pooled, fields)
	}
	// Down after the change names only the current kinds.
	down := string(Body(c.Down(errors.New("x")), exposition.Text))
	if strings.Contains(down, "Widget") || !strings.Contains(down, `gateway_metrics_up{group="example.com",kind="Gadget",version="v2"} 0`) {
		t.Errorf("Down:\n%s", down)
	}
}

// Down after a round keeps kinds without a CRD out of gateway_metrics_up.
func TestDownKeepsNotServedKindsAbsent(t *testing.T) {
	c, _ := newTest(t)
	body(t, c)
	down := string(Body(c.Down(context.DeadlineExceeded), exposition.Text))
	if strings.Contains(down, "Missing") || !strings.Contains(down, `gateway_metrics_up{group="example.com",kind="Widget",version="v1"} 0`) {
		t.Errorf("Down:\n%s", down)
	}
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }

// Evaluation errors carry values: their log-once memory is bounded, and past
// the bound they are counted, not logged.
func TestEvalErrorMemoryIsBounded(t *testing.T) {
	logs := &syncBuf{}
	c := NewCore(PlanKinds(&spec.Plan{}), nil, Options{}, nil, slog.New(slog.NewTextHandler(logs, nil)))
	f := &spec.Family{Name: "f"}
	for i := range 5000 {
		c.evalError(f, fmt.Errorf("bad value %d", i))
		c.evalError(f, fmt.Errorf("bad value %d", i))
	}
	if n := c.evals.Len(); n > 1024 {
		t.Errorf("%d errors remembered, want at most 1024", n)
	}
	lines := strings.Count(logs.b.String(), "\n")
	if lines != 1025 { // 1024 errors, then one line saying the rest are only counted
		t.Errorf("%d log lines, want 1025", lines)
	}
}

// A list error is logged once per kind and reason, however many scrapes see
// it, and again after the kind recovered and failed anew.
func TestListErrorsLoggedOncePerKindAndReason(t *testing.T) {
	logs := &syncBuf{}
	c, f := newTest(t)
	c.Core.log = slog.New(slog.NewTextHandler(logs, nil))
	for i := range 5 {
		f.fail["Widget"] = fmt.Errorf("dial tcp 127.0.0.1:%d: connection refused", 1000+i)
		body(t, c)
	}
	if n := strings.Count(logs.b.String(), "list failed"); n != 1 {
		t.Errorf("%d lines for 5 failing scrapes, want 1:\n%s", n, logs.b.String())
	}
	delete(f.fail, "Widget")
	body(t, c)
	f.fail["Widget"] = errors.New("connection reset")
	body(t, c)
	if n := strings.Count(logs.b.String(), "list failed"); n != 2 {
		t.Errorf("%d lines, want 2 after a recovery and a new failure:\n%s", n, logs.b.String())
	}
}

// An optional field that is absent (no deletionTimestamp on an object that
// is not being deleted) is counted but logged at debug level only; a value of
// the wrong shape is a warning. So a healthy cluster logs no warning.
func TestEvalErrorLevels(t *testing.T) {
	plan, _, err := spec.Load("t.yaml", []byte(`spec:
  resources:
  - groupVersionKind: {group: example.com, version: v1, kind: Widget}
    metrics:
    - name: deleted
      help: deletion time
      each: {type: Gauge, gauge: {path: [metadata, deletionTimestamp]}}
    - name: replicas
      help: replicas
      each: {type: Gauge, gauge: {path: [spec, replicas]}}
`))
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuf{}
	c := NewCore(PlanKinds(plan), nil, Options{}, nil, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	r := c.NewRenderer(plan.Kinds[0], source.Resource{Group: "example.com", Version: "v1", Kind: "Widget", Plural: "widgets"})
	for _, replicas := range []any{int64(3), "three"} {
		r.Add(map[string]any{"apiVersion": "example.com/v1", "kind": "Widget",
			"metadata": map[string]any{"name": "w", "namespace": "ns"}, "spec": map[string]any{"replicas": replicas}})
	}
	r.Finish()
	counted := map[string]int{}
	for i, st := range r.Stats() {
		counted[plan.Kinds[0].Families[i].Name] = st.Errors
	}
	if want := map[string]int{"kube_customresource_deleted": 2, "kube_customresource_replicas": 1}; !maps.Equal(counted, want) {
		t.Errorf("evaluation errors counted %v, want %v", counted, want)
	}
	var debug, warn []string
	for _, l := range strings.Split(strings.TrimSpace(logs.b.String()), "\n") {
		switch {
		case strings.Contains(l, "level=DEBUG"):
			debug = append(debug, l)
		case strings.Contains(l, "level=WARN"):
			warn = append(warn, l)
		}
	}
	if len(debug) != 1 || !strings.Contains(debug[0], "family=kube_customresource_deleted") || !strings.Contains(debug[0], "got nil while resolving path") {
		t.Errorf("debug lines %q, want one for the absent deletionTimestamp", debug)
	}
	if len(warn) != 1 || !strings.Contains(warn[0], "family=kube_customresource_replicas") {
		t.Errorf("warning lines %q, want one for replicas \"three\"", warn)
	}
}
