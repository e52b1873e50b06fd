// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

// Package watch is the collection mode for very large clusters
// (--collection=watch): one projected watch-list (or, where the API server
// does not serve them, LIST then WATCH) per resource scope keeps every
// object's families pre-rendered and compressed, and a scrape only inflates bytes. Kinds,
// discovery, namespace scopes, sharding, renderer pools, up/down and error
// accounting are scrape.Core's, shared with list mode, so the output is the
// same as list mode's for the same cluster state.
package watch

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/engine"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/graph"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/scrape"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/source"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/spec"
)

// Collector keeps one reflector per resource and namespace scope running.
type Collector struct {
	*scrape.Core
	api API
	ctx context.Context // the reflectors' lifetime
	// Rediscover is how often a scrape may look for new or removed CRDs and
	// kinds, and for a changed shard count.
	Rediscover time.Duration
	// reopenGrace is the stores' (tests shorten it).
	reopenGrace time.Duration

	reflectors sync.WaitGroup // and the worker that applies KindsChanged
	// graph is the attachment graph every store feeds, when the kinds have
	// graph families (scrape.Core.GraphOn); see graph.go.
	graph *graph.Graph
	// noWatchList holds the resources (source.Resource) the API server does
	// not serve watch-lists for.
	noWatchList sync.Map
	// reconciling is held by the one reconcile running: rounds are applied
	// in the order they were discovered, so that an older round can never
	// undo a newer one (stop a kind whose CRD just came).
	reconciling chan struct{}
	changed     chan struct{} // KindsChanged's signal to the worker

	mu      sync.Mutex // guards what follows; never held across an API call
	round   scrape.Round
	watches map[key]*resourceWatch
	last    time.Time // of the last successful discovery
	discErr error     // of the last discovery
}

// key is one resource read for one spec kind.
type key struct {
	kind *spec.Kind
	res  source.Resource
}

type resourceWatch struct {
	res           source.Resource
	shard, shards int // membership the stores were filled with
	cancel        context.CancelFunc
	stores        []*store
}

// New makes a watch-mode collector for a fixed plan; reflectors start on the
// first scrape's discovery, or on Warm, and stop when ctx ends.
func New(ctx context.Context, plan *spec.Plan, disc scrape.Discoverer, api API, opts scrape.Options, obs scrape.Observer, log *slog.Logger) *Collector {
	return NewWithKinds(ctx, scrape.PlanKinds(plan), disc, api, opts, obs, log)
}

// NewWithKinds makes a watch-mode collector whose kinds may change at runtime
// (see scrape.KindProvider): each reconcile starts reflectors for new kinds
// and stops those of kinds that are gone.
func NewWithKinds(ctx context.Context, kinds scrape.KindProvider, disc scrape.Discoverer, api API, opts scrape.Options, obs scrape.Observer, log *slog.Logger) *Collector {
	c := &Collector{Core: scrape.NewCore(kinds, disc, opts, obs, log), api: api, ctx: ctx,
		Rediscover: 10 * time.Second, reopenGrace: reopenGrace, watches: map[key]*resourceWatch{},
		reconciling: make(chan struct{}, 1), changed: make(chan struct{}, 1)}
	c.graph = graph.New(c.InScope, true)
	c.reflectors.Add(1)
	go func() {
		defer c.reflectors.Done()
		c.applyChanges()
	}()
	return c
}

// KindsChanged asks for a rediscovery now rather than at the next
// Rediscover: the provider's kinds changed (a policy CRD came or went), so
// reflectors start or stop before the next scrape. It does not wait: one
// worker applies the changes, one at a time, and changes announced while it
// works are applied together by its next round, which discovers after them.
func (c *Collector) KindsChanged() {
	select {
	case c.changed <- struct{}{}:
	default: // a round not yet started will see this change too
	}
}

// applyChanges is the worker of KindsChanged, until the collector's context
// ends.
func (c *Collector) applyChanges() {
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-c.changed:
		}
		// Discovery requests time out on their own (source.Client); this
		// bounds a round whatever the Discoverer.
		ctx, cancel := context.WithTimeout(c.ctx, time.Minute)
		c.reconcile(ctx, true)
		cancel()
	}
}

// fresh reports whether the last discovery succeeded less than Rediscover
// ago.
func (c *Collector) fresh() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.discErr == nil && !c.last.IsZero() && time.Since(c.last) < c.Rediscover
}

// Warm discovers the kinds and starts their reflectors.
func (c *Collector) Warm(ctx context.Context) { c.reconcile(ctx, false) }

// reconcile rediscovers and starts or stops reflectors to match the current
// kinds, the versions served and the shard membership: at most every
// Rediscover while discovery succeeds, unless changed says the kinds changed
// (then from a discovery that starts after the call). One reconcile runs at
// a time, each applied whole before the next discovers; waiting for it is
// bounded by ctx. Discovery runs outside the lock and is bounded by ctx; a
// failed discovery keeps the running reflectors, which report their own
// health.
func (c *Collector) reconcile(ctx context.Context, changed bool) {
	if !changed && c.fresh() {
		return // without waiting for a reconcile in progress
	}
	select {
	case c.reconciling <- struct{}{}:
	case <-ctx.Done():
		return
	}
	defer func() { <-c.reconciling }()
	if !changed && c.fresh() {
		return // the reconcile waited for did it
	}
	var round scrape.Round
	if changed {
		round = c.DiscoverFresh(ctx)
	} else {
		round = c.Discover(ctx)
	}
	shard, shards := c.Shard()

	c.mu.Lock()
	defer c.mu.Unlock()
	if round.Err != nil {
		c.discErr = round.Err
		if c.last.IsZero() {
			c.round = round
		}
		return
	}
	c.discErr, c.round, c.last = nil, round, time.Now()
	want := map[key]bool{}
	for _, kr := range round.Kinds {
		if kr.NotServed {
			continue
		}
		k := key{kr.Kind, kr.Resource}
		want[k] = true
		w := c.watches[k]
		if w != nil && (w.shard != shard || w.shards != shards) {
			// Objects were kept or dropped for the old shard count when they
			// arrived: start over with the new membership.
			c.Log().Info("shard membership changed; relisting", "resource", kr.Resource.Plural+"."+kr.Resource.Group, "shard", shard, "shards", shards)
			w.cancel()
			w = nil
		}
		if w == nil {
			c.watches[k] = c.start(kr, shard, shards)
		}
	}
	for k, w := range c.watches {
		if !want[k] {
			// The CRD went away, another version is now the one to read, or
			// the provider dropped the kind.
			w.cancel()
			delete(c.watches, k)
			c.forgetGraph(k, want)
		}
	}
}

func (c *Collector) start(kr scrape.KindResult, shard, shards int) *resourceWatch {
	ctx, cancel := context.WithCancel(c.ctx)
	r := kr.Resource
	w := &resourceWatch{res: r, shard: shard, shards: shards, cancel: cancel}
	// One store per namespace, or one for all: in the scopes' order (sorted
	// namespaces), a scrape reads them one after the other in list mode's
	// order.
	scopes := c.Scopes(r)
	for _, sc := range scopes {
		st := newStore(c.NewRenderer(kr.Kind, r), shard, shards)
		st.grace = c.reopenGrace
		if c.GraphOn() {
			st.graph, st.gk, st.namespace = c.graph, scrape.GraphKind(r), sc.Namespace
		}
		w.stores = append(w.stores, st)
		opts := sc.ListOptions(c.Fields(kr.Kind))
		c.reflectors.Add(1)
		go func() {
			defer c.reflectors.Done()
			c.run(ctx, st, r, opts)
		}()
	}
	c.Log().Info("watching", "resource", r.Plural+"."+r.Group, "version", r.Version, "scopes", len(scopes))
	return w
}

// Wait blocks until every reflector, and the worker of KindsChanged, has
// stopped (after the collector's context ended).
func (c *Collector) Wait() { c.reflectors.Wait() }

// Collect assembles a result from the pre-rendered bytes: no API call but an
// occasional discovery. It honours ctx: a scrape that gives up gets ctx's
// error, and the handler serves Down.
func (c *Collector) Collect(ctx context.Context) (*scrape.Result, error) {
	c.reconcile(ctx, false)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	kinds := slices.Clone(c.round.Kinds)
	watches := maps.Clone(c.watches)
	c.mu.Unlock()
	known := c.syncGraph(kinds, watches)

	for i := range kinds {
		kr := &kinds[i]
		if kr.NotServed || kr.Err != nil {
			continue
		}
		w := watches[key{kr.Kind, kr.Resource}]
		if w == nil {
			kr.Err = fmt.Errorf("not watched yet")
			continue
		}
		if known != nil && !known[key{kr.Kind, kr.Resource}] {
			kr.Err = fmt.Errorf("not synced yet")
			continue
		}
		start := time.Now()
		r := c.Renderer(kr)
		err := w.fill(ctx, r)
		kr.Duration = time.Since(start)
		c.Record(kr, r, err)
	}
	res := c.Result(kinds, 1)
	if err := ctx.Err(); err != nil {
		res.Release()
		return nil, err
	}
	return res, nil
}

// fill hands every group of objects to r, in list mode's order (the scopes'
// order, then the API server's in each), if every store is synced and
// healthy: the stores are in the scopes' order (see start) and each keeps
// its groups in key order.
func (w *resourceWatch) fill(ctx context.Context, r *engine.Renderer) error {
	type held struct {
		*group
		st *store
	}
	var groups []held
	for _, st := range w.stores {
		st.mu.RLock()
		err := st.health()
		if err == nil {
			// Groups are never changed, only replaced: they can be read
			// after the lock is released.
			for _, g := range st.groups {
				groups = append(groups, held{g, st})
			}
		}
		st.mu.RUnlock()
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	for _, g := range groups {
		r.AddPacked(g.blob, g.ends, g.n, g.st, g.tally())
	}
	return ctx.Err()
}
