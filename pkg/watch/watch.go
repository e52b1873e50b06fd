// Package watch is the collection mode for very large clusters
// (--collection=watch): reflectors keep every object's families pre-rendered,
// as kube-state-metrics does, and a scrape only copies bytes. Kinds,
// discovery, namespace scopes, sharding, renderer pools, up/down and error
// accounting are scrape.Core's, shared with list mode, so the output is the
// same as list mode's for the same cluster state.
package watch

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/cache"

	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/engine"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/scrape"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/source"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/spec"
)

// Collector keeps one reflector per resource and namespace scope running.
type Collector struct {
	*scrape.Core
	dyn dynamic.Interface
	ctx context.Context // the reflectors' lifetime
	// Rediscover is how often a scrape may look for new or removed CRDs and
	// kinds, and for a changed shard count.
	Rediscover time.Duration

	reflectors sync.WaitGroup

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
func New(ctx context.Context, plan *spec.Plan, disc scrape.Discoverer, dyn dynamic.Interface, opts scrape.Options, obs scrape.Observer, log *slog.Logger) *Collector {
	return NewWithKinds(ctx, scrape.PlanKinds(plan), disc, dyn, opts, obs, log)
}

// NewWithKinds makes a watch-mode collector whose kinds may change at runtime
// (see scrape.KindProvider): each reconcile starts reflectors for new kinds
// and stops those of kinds that are gone.
func NewWithKinds(ctx context.Context, kinds scrape.KindProvider, disc scrape.Discoverer, dyn dynamic.Interface, opts scrape.Options, obs scrape.Observer, log *slog.Logger) *Collector {
	return &Collector{Core: scrape.NewCore(kinds, disc, opts, obs, log), dyn: dyn, ctx: ctx,
		Rediscover: 10 * time.Second, watches: map[key]*resourceWatch{}}
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

// watchWithList is a ListWatch that makes the reflector LIST then WATCH (no
// streaming watch-list): every LIST then goes through Core.Listed, which
// accounts for it and reports its failures as list mode does.
type watchWithList struct{ *cache.ListWatch }

func (watchWithList) IsWatchListSemanticsUnSupported() bool { return true }

func (c *Collector) start(kr scrape.KindResult, shard, shards int) *resourceWatch {
	ctx, cancel := context.WithCancel(c.ctx)
	r := kr.Resource
	w := &resourceWatch{res: r, shard: shard, shards: shards, cancel: cancel}
	gvr := schema.GroupVersionResource{Group: r.Group, Version: r.Version, Resource: r.Plural}
	scopes := c.Scopes(r)
	for _, sc := range scopes {
		st := newStore(c.NewRenderer(kr.Kind, r), shard, shards, c.Core, r.Kind)
		w.stores = append(w.stores, st)
		client := c.dyn.Resource(gvr).Namespace(sc.Namespace)
		sel := sc.FieldSelector
		lw := &cache.ListWatch{
			ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
				o.FieldSelector = sel
				start := time.Now()
				l, err := client.List(ctx, o)
				c.Listed(r, err, time.Since(start))
				st.listed(err)
				return l, err
			},
			WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
				o.FieldSelector = sel
				wi, err := client.Watch(ctx, o)
				st.watched(err)
				if err != nil {
					return nil, err
				}
				return st.track(wi), nil
			},
		}
		refl := cache.NewReflectorWithOptions(watchWithList{lw}, &unstructured.Unstructured{}, st,
			cache.ReflectorOptions{Name: r.Plural + "." + r.Group, Backoff: reflectorBackoff()})
		c.reflectors.Add(1)
		go func() {
			defer c.reflectors.Done()
			refl.RunWithContext(ctx)
		}()
	}
	c.Log().Info("watching", "resource", r.Plural+"."+r.Group, "version", r.Version, "scopes", len(scopes))
	return w
}

// reflectorBackoff is client-go's reflector backoff (0.8s doubling, with
// jitter) capped at 10s rather than 30s: a kind is down while its reflector
// backs off, so after an API server restart it should not stay down for
// half a minute; 10s still spares an API server that is down.
func reflectorBackoff() *wait.Backoff {
	return &wait.Backoff{Duration: 800 * time.Millisecond, Factor: 2, Jitter: 1, Steps: 13, Cap: 10 * time.Second}
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

// fill copies every object's bytes into r, in list mode's order (namespace,
// then name), if every store is synced and healthy.
func (w *resourceWatch) fill(ctx context.Context, r *engine.Renderer) error {
	var entries []*entry
	for _, st := range w.stores {
		st.mu.RLock()
		err := st.health()
		if err == nil {
			for _, e := range st.objs {
				entries = append(entries, e)
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
	slices.SortFunc(entries, func(a, b *entry) int {
		return cmp.Or(cmp.Compare(a.namespace, b.namespace), cmp.Compare(a.name, b.name))
	})
	for _, e := range entries {
		r.AddRendered(e.blob, e.ends)
	}
	return ctx.Err()
}
