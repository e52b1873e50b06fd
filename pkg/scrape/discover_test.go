// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package scrape

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/source"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/spec"
)

// gatedDiscoverer answers each discovery with what the API server served
// when it started, for the groups it asked, once the test opens its gate;
// it records the groups of each call.
type gatedDiscoverer struct {
	served atomic.Pointer[source.Served]
	gates  chan chan struct{} // the next call waits on the gate taken from here
	mu     sync.Mutex
	asked  []map[string]bool
}

func (d *gatedDiscoverer) Discover(groups map[string]bool) (source.Served, error) {
	all := *d.served.Load()
	d.mu.Lock()
	d.asked = append(d.asked, groups)
	d.mu.Unlock()
	<-<-d.gates
	out := source.Served{}
	for k, rs := range all {
		if groups[rs[0].Group] {
			out[k] = rs
		}
	}
	return out, nil
}

func (d *gatedDiscoverer) calls() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.asked)
}

// waitCalls waits until n discoveries started; the bound is a liveness guard.
func (d *gatedDiscoverer) waitCalls(t *testing.T, n int) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); d.calls() < n; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d discoveries started, want %d", d.calls(), n)
		}
	}
}

func kindOf(group, kind string) *spec.Kind {
	return &spec.Kind{GVK: spec.GroupVersionKind{Group: group, Version: "v1", Kind: kind}}
}

func res(group, kind string) []source.Resource {
	return []source.Resource{{Group: group, Version: "v1", Kind: kind, Plural: kind + "s"}}
}

// notServed lists the kinds a round found not served.
func notServed(r Round) []string {
	var out []string
	for _, k := range r.Kinds {
		if k.NotServed {
			out = append(out, k.Kind.GVK.Kind)
		}
	}
	return out
}

// queued waits until a caller waits for the discovery after the one in
// flight; the bound is a liveness guard.
func queued(t *testing.T, c *Core) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		c.discMu.Lock()
		next := c.discNext
		c.discMu.Unlock()
		if next != nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no caller waits for the next discovery")
		}
	}
}

// A caller whose kinds need a group that the discovery in flight does not
// ask for (a policy kind of a new group) gets the next discovery, which asks
// for it, not the one in flight: its kind is served in its first round.
func TestDiscoveryJoinedOnlyWhenItCoversTheGroups(t *testing.T) {
	d := &gatedDiscoverer{gates: make(chan chan struct{}, 8)}
	s := source.Served{"a.test/A": res("a.test", "A"), "b.test/B": res("b.test", "B")}
	d.served.Store(&s)
	a, b := kindOf("a.test", "A"), kindOf("b.test", "B")
	var kinds atomic.Pointer[[]*spec.Kind]
	kinds.Store(&[]*spec.Kind{a})
	c := NewCore(KindsFunc(func(context.Context) []*spec.Kind { return *kinds.Load() }), d, Options{}, nil, slog.Default())

	first := make(chan struct{})
	d.gates <- first
	rounds := make(chan Round, 2)
	go func() { rounds <- c.Discover(context.Background()) }()
	d.waitCalls(t, 1)
	kinds.Store(&[]*spec.Kind{a, b})
	go func() { rounds <- c.Discover(context.Background()) }() // needs b.test
	queued(t, c)
	second := make(chan struct{})
	d.gates <- second
	close(first)
	close(second)
	for i := range 2 {
		if ns := notServed(<-rounds); len(ns) != 0 {
			t.Errorf("round %d: kinds found not served: %v", i, ns)
		}
	}
	if n := d.calls(); n != 2 {
		t.Errorf("%d discoveries, want 2", n)
	}
	if !d.asked[1]["b.test"] {
		t.Errorf("the second discovery asked for %v, want b.test among them", d.asked[1])
	}
}

// A caller that knows the CRDs changed (DiscoverFresh) never gets a
// discovery that started before it asked, which may have missed the new
// kind, even when it asks for no new group.
func TestDiscoverFreshStartsAfterTheCall(t *testing.T) {
	d := &gatedDiscoverer{gates: make(chan chan struct{}, 8)}
	old := source.Served{"a.test/A": res("a.test", "A")}
	d.served.Store(&old)
	a, a2 := kindOf("a.test", "A"), kindOf("a.test", "A2")
	var kinds atomic.Pointer[[]*spec.Kind]
	kinds.Store(&[]*spec.Kind{a})
	c := NewCore(KindsFunc(func(context.Context) []*spec.Kind { return *kinds.Load() }), d, Options{}, nil, slog.Default())

	first := make(chan struct{})
	d.gates <- first
	rounds := make(chan Round, 1)
	go func() { c.Discover(context.Background()) }()
	d.waitCalls(t, 1)
	// A2's CRD is established while that discovery runs.
	now := source.Served{"a.test/A": res("a.test", "A"), "a.test/A2": res("a.test", "A2")}
	d.served.Store(&now)
	kinds.Store(&[]*spec.Kind{a, a2})
	go func() { rounds <- c.DiscoverFresh(context.Background()) }()
	queued(t, c)
	second := make(chan struct{})
	d.gates <- second
	close(first)
	close(second)
	r := <-rounds
	if ns := notServed(r); len(ns) != 0 {
		t.Errorf("DiscoverFresh's round found %v not served: it used a discovery from before the call", ns)
	}
	if got := slices.Collect(func(yield func(string) bool) {
		for _, k := range r.Kinds {
			if !yield(k.Kind.GVK.Kind) {
				return
			}
		}
	}); !slices.Equal(got, []string{"A", "A2"}) {
		t.Errorf("round kinds %v", got)
	}
}
