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

	reflectors sync.WaitGroup
	// noWatchList holds the resources (source.Resource) the API server does
	// not serve watch-lists for.
	noWatchList sync.Map

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
	return &Collector{Core: scrape.NewCore(kinds, disc, opts, obs, log), api: api, ctx: ctx,
		Rediscover: 10 * time.Second, reopenGrace: reopenGrace, watches: map[key]*resourceWatch{}}
}

// KindsChanged rediscovers now rather than at the next Rediscover: the
// provider's kinds changed (a policy CRD came or went), so reflectors start
// or stop before the next scrape.
func (c *Collector) KindsChanged(ctx context.Context) {
	c.mu.Lock()
	c.last = time.Time{}
	c.mu.Unlock()
	c.reconcile(ctx)
}

// Warm discovers the kinds and starts their reflectors.
func (c *Collector) Warm(ctx context.Context) { c.reconcile(ctx) }

// reconcile rediscovers (at most every Rediscover while discovery succeeds)
// and starts or stops reflectors to match the current kinds, the versions
// served and the shard membership. Discovery runs outside the lock and is
// bounded by ctx; a failed discovery keeps the running reflectors, which
// report their own health.
func (c *Collector) reconcile(ctx context.Context) {
	c.mu.Lock()
	fresh := c.discErr == nil && !c.last.IsZero() && time.Since(c.last) < c.Rediscover
	c.mu.Unlock()
	if fresh {
		return
	}
	round := c.Discover(ctx)
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
		st := newStore(c.NewRenderer(kr.Kind, r), shard, shards, c.Core, r.Kind)
		st.grace = c.reopenGrace
		w.stores = append(w.stores, st)
		opts := scopeOptions(sc, c, kr)
		c.reflectors.Add(1)
		go func() {
			defer c.reflectors.Done()
			c.run(ctx, st, r, opts)
		}()
	}
	c.Log().Info("watching", "resource", r.Plural+"."+r.Group, "version", r.Version, "scopes", len(scopes))
	return w
}

// Wait blocks until every reflector has stopped (after the collector's
// context ended).
func (c *Collector) Wait() { c.reflectors.Wait() }

// Collect assembles a result from the pre-rendered bytes: no API call but an
// occasional discovery. It honours ctx: a scrape that gives up gets ctx's
// error, and the handler serves Down.
func (c *Collector) Collect(ctx context.Context) (*scrape.Result, error) {
	c.reconcile(ctx)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	kinds := slices.Clone(c.round.Kinds)
	watches := maps.Clone(c.watches)
	c.mu.Unlock()

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
		r.AddPacked(g.blob, g.ends, g.n, g.st)
	}
	return ctx.Err()
}
