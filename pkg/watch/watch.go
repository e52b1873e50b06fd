// Package watch is the collection mode for very large clusters
// (--collection=watch): reflectors keep every object's families pre-rendered,
// as kube-state-metrics does, and a scrape only copies bytes. The output is
// the same as the default list mode for the same cluster state.
package watch

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/cache"

	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/engine"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/scrape"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/source"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/spec"
)

// Discoverer finds the served versions of kinds.
type Discoverer interface {
	Discover(groups map[string]bool) (source.Served, error)
}

// Collector keeps one reflector per kind (and namespace) running.
type Collector struct {
	plan   *spec.Plan
	disc   Discoverer
	dyn    dynamic.Interface
	opts   scrape.Options
	obs    scrape.Observer
	log    *slog.Logger
	groups map[string]bool
	// Rediscover is how often a scrape may look for new or removed CRDs.
	Rediscover time.Duration

	mu       sync.Mutex
	kinds    []*kindWatch
	lastDisc time.Time
	served   source.Served
	discErr  error
	ready    atomic.Bool
	free     map[int][]*engine.Renderer
	ctx      context.Context
}

type kindWatch struct {
	index  int
	kind   *spec.Kind
	res    source.Resource
	cancel context.CancelFunc
	stores []*store
}

// New makes a watch-mode collector; reflectors start on the first scrape's
// discovery, or on Start.
func New(ctx context.Context, plan *spec.Plan, disc Discoverer, dyn dynamic.Interface, opts scrape.Options, obs scrape.Observer, log *slog.Logger) *Collector {
	c := &Collector{plan: plan, disc: disc, dyn: dyn, opts: opts, obs: obs, log: log, groups: map[string]bool{},
		kinds: make([]*kindWatch, len(plan.Kinds)), free: map[int][]*engine.Renderer{}, ctx: ctx, Rediscover: 10 * time.Second}
	for _, k := range plan.Kinds {
		c.groups[k.GVK.Group] = true
	}
	return c
}

// Warm discovers the kinds and starts their reflectors.
func (c *Collector) Warm(context.Context) { c.reconcile() }

// Ready reports whether a discovery has ever succeeded.
func (c *Collector) Ready() bool { return c.ready.Load() }

// reconcile discovers served versions (at most every Rediscover) and starts
// or stops reflectors to match.
func (c *Collector) reconcile() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.discErr == nil && !c.lastDisc.IsZero() && time.Since(c.lastDisc) < c.Rediscover {
		return
	}
	served, err := c.disc.Discover(c.groups)
	c.lastDisc = time.Now()
	if err != nil && len(served) == 0 {
		c.discErr = err
		return
	}
	c.discErr = nil
	c.served = served
	c.ready.Store(true)
	for i, k := range c.plan.Kinds {
		r, ok := served.Pick(k.GVK.Group, k.GVK.Version, k.GVK.Kind)
		kw := c.kinds[i]
		if kw != nil && (!ok || kw.res != r) {
			kw.cancel() // the CRD went away, or another version is now the one to read
			c.kinds[i] = nil
			kw = nil
		}
		if ok && kw == nil {
			c.kinds[i] = c.start(i, k, r)
		}
	}
}

func (c *Collector) start(i int, k *spec.Kind, r source.Resource) *kindWatch {
	ctx, cancel := context.WithCancel(c.ctx)
	kw := &kindWatch{index: i, kind: k, res: r, cancel: cancel}
	gvr := schema.GroupVersionResource{Group: r.Group, Version: r.Version, Resource: r.Plural}
	namespaces := []string{metav1.NamespaceAll}
	if r.Namespaced && len(c.opts.Namespaces) > 0 {
		namespaces = c.opts.Namespaces
	}
	selector := ""
	for _, ns := range c.opts.DeniedNamespaces {
		if r.Namespaced {
			selector += fmt.Sprintf(",metadata.namespace!=%s", ns)
		}
	}
	if selector != "" {
		selector = selector[1:]
	}
	gvk := engine.GVK{Group: r.Group, Version: r.Version, Kind: r.Kind}
	for _, ns := range namespaces {
		st := newStore(engine.NewRenderer(k, gvk, nil), c.opts.Shard, c.obs, r.Kind)
		kw.stores = append(kw.stores, st)
		client := c.dyn.Resource(gvr).Namespace(ns)
		lw := &cache.ListWatch{
			ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
				o.FieldSelector = selector
				l, err := client.List(ctx, o)
				st.listed(err)
				if c.obs != nil {
					result := "success"
					if err != nil {
						result = "error"
					}
					c.obs.ListDone(r, result, 0)
				}
				return l, err
			},
			WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
				o.FieldSelector = selector
				return client.Watch(ctx, o)
			},
		}
		refl := cache.NewReflectorWithOptions(lw, &unstructured.Unstructured{}, st, cache.ReflectorOptions{Name: r.Plural + "." + r.Group})
		go refl.RunWithContext(ctx)
	}
	c.log.Info("watching", "resource", r.Plural+"."+r.Group, "version", r.Version, "namespaces", len(namespaces))
	return kw
}

// Collect assembles a result from the pre-rendered bytes: no API call but an
// occasional discovery.
func (c *Collector) Collect(ctx context.Context) (*scrape.Result, error) {
	c.reconcile()
	c.mu.Lock()
	discErr := c.discErr
	kinds := slices.Clone(c.kinds)
	served := c.served
	c.mu.Unlock()

	var out []scrape.KindResult
	var used []*engine.Renderer
	for i, k := range c.plan.Kinds {
		kr := scrape.KindResult{Kind: k, Index: i, Resource: source.Resource{Group: k.GVK.Group, Version: k.GVK.Version, Kind: k.GVK.Kind}}
		kw := kinds[i]
		switch {
		case kw != nil:
			kr.Resource = kw.res
		case discErr != nil:
			kr.Err = discErr
		default:
			_, known := served.Pick(k.GVK.Group, k.GVK.Version, k.GVK.Kind)
			kr.NotServed = !known
			kr.Err = fmt.Errorf("not served")
		}
		if kw != nil {
			start := time.Now()
			r := c.renderer(i, kw)
			kr.Up, kr.Err = kw.fill(r)
			kr.Duration = time.Since(start)
			if kr.Up {
				kr.Renderer = r
				used = append(used, r)
			} else {
				c.put(i, r)
			}
		}
		out = append(out, kr)
	}
	return scrape.NewResult(out, func() {
		for _, r := range used {
			for i := range c.plan.Kinds {
				if c.plan.Kinds[i] == r.Kind() {
					c.put(i, r)
				}
			}
		}
	}), nil
}

// Down is a result with every kind failed.
func (c *Collector) Down(err error) *scrape.Result {
	var out []scrape.KindResult
	for i, k := range c.plan.Kinds {
		out = append(out, scrape.KindResult{Kind: k, Index: i, Err: err, Resource: source.Resource{Group: k.GVK.Group, Version: k.GVK.Version, Kind: k.GVK.Kind}})
	}
	return scrape.NewResult(out, nil)
}

func (c *Collector) renderer(i int, kw *kindWatch) *engine.Renderer {
	gvk := engine.GVK{Group: kw.res.Group, Version: kw.res.Version, Kind: kw.res.Kind}
	c.mu.Lock()
	defer c.mu.Unlock()
	if f := c.free[i]; len(f) > 0 {
		r := f[len(f)-1]
		c.free[i] = f[:len(f)-1]
		r.Reset(gvk)
		return r
	}
	return engine.NewRenderer(kw.kind, gvk, nil)
}

func (c *Collector) put(i int, r *engine.Renderer) {
	c.mu.Lock()
	c.free[i] = append(c.free[i], r)
	c.mu.Unlock()
}

// fill copies every object's bytes into r, in list mode's order (namespace,
// then name), and reports whether every store is synced and healthy.
func (kw *kindWatch) fill(r *engine.Renderer) (bool, error) {
	var entries []*entry
	for _, st := range kw.stores {
		st.mu.RLock()
		if !st.synced || st.err != nil {
			err := st.err
			st.mu.RUnlock()
			if err == nil {
				err = fmt.Errorf("not synced yet")
			}
			return false, err
		}
		for _, e := range st.objs {
			entries = append(entries, e)
		}
		st.mu.RUnlock()
	}
	slices.SortFunc(entries, func(a, b *entry) int {
		return cmp.Or(cmp.Compare(a.namespace, b.namespace), cmp.Compare(a.name, b.name))
	})
	for _, e := range entries {
		r.AddRendered(e.blob, e.ends)
	}
	r.Finish()
	return true, nil
}
