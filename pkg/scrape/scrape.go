// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

// Package scrape is the collection core (Core: kinds, discovery, namespace
// scopes, sharding, renderer pools, up/down, error accounting), list mode on
// top of it (Collector: a paginated LIST per kind on each scrape; concurrent
// scrapes share the collection in flight), and the /metrics body with the
// exporter's own health families. Watch mode (pkg/watch) uses the same Core.
package scrape

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/engine"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/exposition"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/graph"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/objects"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/source"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/spec"
)

// Lister is what list mode needs from the API server.
type Lister interface {
	Discoverer
	List(ctx context.Context, r source.Resource, opts source.ListOptions, fn func(items []any) error) (int, error)
}

// Collector is list mode: on each scrape, one paginated LIST per kind (and
// namespace scope). Everything else is the Core's.
type Collector struct {
	*Core
	lister   Lister
	parallel int

	mu          sync.Mutex
	inflight    *call
	collections atomic.Int64
}

// New makes a list-mode collector for a fixed plan.
func New(plan *spec.Plan, l Lister, opts Options, obs Observer, log *slog.Logger) *Collector {
	return NewWithKinds(PlanKinds(plan), l, opts, obs, log)
}

// NewWithKinds makes a list-mode collector whose kinds may change at runtime
// (see KindProvider).
func NewWithKinds(kinds KindProvider, l Lister, opts Options, obs Observer, log *slog.Logger) *Collector {
	c := &Collector{Core: NewCore(kinds, l, opts, obs, log), lister: l, parallel: opts.Parallel}
	if c.parallel <= 0 {
		// More than the cores: a LIST mostly waits on the API server.
		c.parallel = 4
	}
	return c
}

// Warm runs discovery once, so that /readyz turns ready without waiting for
// the first scrape (and without a LIST: a collection's deadline belongs to
// the scrape that starts it).
func (c *Collector) Warm(ctx context.Context) { c.Discover(ctx) }

// Collections counts the collections actually run (not the scrapes served).
func (c *Collector) Collections() int64 { return c.collections.Load() }

// call is a collection in flight and the scrapes waiting for it.
type call struct {
	done    chan struct{}
	res     *Result
	waiters int32
}

// Collect runs a collection, or joins the one in flight, so that concurrent
// scrapes (an HA Prometheus pair, several shards) cost one LIST per kind. The
// collection is bounded by the deadline of the scrape that started it, not by
// its cancellation: a scraper that hangs up must not fail the others.
func (c *Collector) Collect(ctx context.Context) (*Result, error) {
	c.mu.Lock()
	cl := c.inflight
	if cl == nil {
		cl = &call{done: make(chan struct{})}
		c.inflight = cl
		cctx := context.WithoutCancel(ctx)
		cancel := func() {}
		if d, ok := ctx.Deadline(); ok {
			// End the collection a little before the scrape gives up, so
			// that the kinds which did finish are served, not a blanket
			// "down".
			if margin := time.Until(d) / 10; margin > 0 {
				d = d.Add(-min(margin, 200*time.Millisecond))
			}
			cctx, cancel = context.WithDeadline(cctx, d)
		}
		go func() {
			defer cancel()
			kinds := c.collect(cctx)
			c.mu.Lock()
			cl.res = c.Result(kinds, cl.waiters)
			c.inflight = nil
			c.mu.Unlock()
			close(cl.done)
		}()
	}
	cl.waiters++
	c.mu.Unlock()
	select {
	case <-cl.done:
		return cl.res, nil
	case <-ctx.Done():
		go func() { <-cl.done; cl.res.Release() }()
		return nil, ctx.Err()
	}
}

func (c *Collector) collect(ctx context.Context) []KindResult {
	c.collections.Add(1)
	round := c.Discover(ctx)
	kinds := round.Kinds
	if round.Err != nil {
		return kinds
	}
	// With graph families, every object feeds one graph, and graph families
	// are rendered once every kind is read (finishGraph).
	var g *graph.Graph
	if c.GraphOn() {
		g = graph.New(c.InScope, false)
	}
	sem := make(chan struct{}, c.parallel)
	var wg sync.WaitGroup
	for i := range kinds {
		kr := &kinds[i]
		if kr.NotServed {
			continue
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			kr.Err = ctx.Err()
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c.collectKind(ctx, kr, g)
		}()
	}
	wg.Wait()
	if g != nil {
		c.finishGraph(kinds, g)
	}
	return kinds
}

func (c *Collector) collectKind(ctx context.Context, kr *KindResult, g *graph.Graph) {
	start := time.Now()
	r := c.Renderer(kr)
	shard, shards := c.Shard()
	gk := GraphKind(kr.Resource)
	add := func(items []any) error {
		for _, it := range items {
			obj, ok := it.(map[string]any)
			if !ok {
				continue
			}
			// Every object is in the graph, also another shard's: each
			// shard judges its own objects against all of them.
			var n *graph.Node
			if g != nil {
				n = g.Put(gk, obj)
			}
			if shards > 1 && !KeepsObject(obj, shard, shards) {
				continue
			}
			r.Add(obj)
			if n != nil && r.HasGraph() {
				r.KeepBase(n, obj)
				r.Defer(n)
			}
		}
		return ctx.Err()
	}
	var err error
	for attempt := 0; attempt < 2; attempt++ {
		r.Reset(gvk(kr.Resource))
		err = c.listAll(ctx, kr.Resource, c.Fields(kr.Kind), add)
		if !source.IsGone(err) {
			break
		}
		// The continue token expired mid-list: a half list must never pass
		// for a whole one, so start over once.
		c.Log().Info("list restarted after its continue token expired", "kind", kr.Resource.Kind)
	}
	kr.Duration = time.Since(start)
	c.Listed(kr.Resource, err, kr.Duration)
	if err == nil && g != nil && r.HasGraph() {
		kr.Renderer = r // finished by finishGraph
		return
	}
	c.Record(kr, r, err)
}

// finishGraph tells the graph which kinds it holds completely, then renders
// the graph families of every kind that has them and records those kinds.
func (c *Collector) finishGraph(kinds []KindResult, g *graph.Graph) {
	for i := range kinds {
		kr := &kinds[i]
		gk := GraphKind(kr.Resource)
		switch {
		case kr.NotServed:
			g.SetKind(gk, graph.NotServed, kr.Resource.Namespaced)
		case kr.Err == nil && (kr.Renderer != nil || kr.Up):
			g.SetKind(gk, graph.Served, kr.Resource.Namespaced)
		}
	}
	for i := range kinds {
		kr := &kinds[i]
		if r := kr.Renderer; r != nil && !kr.Up && kr.Err == nil {
			r.AddGraph(g)
			c.Record(kr, r, nil)
		}
	}
}

func (c *Collector) listAll(ctx context.Context, r source.Resource, fields *objects.Fields, add func([]any) error) error {
	for _, sc := range c.Scopes(r) {
		if _, err := c.lister.List(ctx, r, sc.ListOptions(fields), add); err != nil {
			return err
		}
	}
	return nil
}

// Write streams the /metrics body for a result: the families of every kind
// that was read completely, in KSM's order, then the exporter's own health
// families, then "# EOF" for OpenMetrics; gzip-compressed when gzipped is set.
// include filters kinds by KSM's resource name (?resources= and
// ?exclude_resources=).
func Write(w io.Writer, res *Result, format exposition.Format, include func(resourceName string) bool, gzipped bool) error {
	var srcs []engine.Source
	for _, k := range res.Kinds {
		if k.Renderer == nil {
			continue
		}
		src := engine.Source{Renderer: k.Renderer, Plural: k.Resource.Plural}
		if include != nil && !include(src.ResourceName()) {
			continue
		}
		srcs = append(srcs, src)
	}
	engine.SortSources(srcs)
	bw := engine.NewBodyWriter(w, gzipped)
	engine.Assemble(bw, srcs, format, res.Withheld)
	health := appendHealth(nil, res, format)
	if format == exposition.OpenMetrics {
		health = append(health, exposition.EOF...)
	}
	_, _ = bw.Write(health)
	return bw.Close()
}

// Body is Write into memory, uncompressed.
func Body(res *Result, format exposition.Format) []byte {
	var b bytes.Buffer
	_ = Write(&b, res, format, nil, false)
	return b.Bytes()
}

func appendHealth(b []byte, res *Result, format exposition.Format) []byte {
	b = exposition.AppendHeader(b, "gateway_metrics_up", "Whether the last list of this kind succeeded (1) or failed (0).", "gauge", format)
	for _, k := range res.Kinds {
		if !k.NotServed {
			b = appendKindSample(b, "gateway_metrics_up", k, boolFloat(k.Up))
		}
	}
	b = exposition.AppendHeader(b, "gateway_metrics_scrape_duration_seconds", "How long listing and rendering this kind took.", "gauge", format)
	for _, k := range res.Kinds {
		if !k.NotServed {
			b = appendKindSample(b, "gateway_metrics_scrape_duration_seconds", k, k.Duration.Seconds())
		}
	}
	return b
}

func appendKindSample(b []byte, name string, k KindResult, v float64) []byte {
	b = append(b, name...)
	b = append(b, `{group="`...)
	b = exposition.AppendEscaped(b, k.Resource.Group)
	b = append(b, `",kind="`...)
	b = exposition.AppendEscaped(b, k.Resource.Kind)
	b = append(b, `",version="`...)
	b = exposition.AppendEscaped(b, k.Resource.Version)
	b = append(b, `"} `...)
	b = exposition.AppendFloat(b, v)
	return append(b, '\n')
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
