// Package scrape runs one collection: discovery, a paginated LIST per kind,
// rendering into per-family buffers, and the exporter's own health families.
// Collections are synchronous, driven by scrapes; concurrent scrapes share the
// collection in flight.
package scrape

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/engine"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/exposition"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/objects"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/source"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/spec"
)

// Lister is what a collection needs from the API server.
type Lister interface {
	Discover(groups map[string]bool) (source.Served, error)
	List(ctx context.Context, r source.Resource, opts source.ListOptions, fn func(items []any) error) (int, error)
}

// Observer receives what the telemetry port reports.
type Observer interface {
	ListDone(r source.Resource, result string, d time.Duration)
	Duplicates(kind string, n int)
	EvalError(family string)
}

// Options tune what is collected.
type Options struct {
	Namespaces       []string // empty: all
	DeniedNamespaces []string
	Shard            func() (shard, total int) // KSM-compatible sharding by UID; nil: none
	Parallel         int                       // kinds listed at once
}

// Collector collects the kinds of a plan.
type Collector struct {
	plan   *spec.Plan
	lister Lister
	opts   Options
	obs    Observer
	log    *slog.Logger
	errs   *errorOnce
	groups map[string]bool

	fields map[int]*objects.Fields // what each kind's families can observe
	// lastRead is the resource each kind was last read at, so that during an
	// outage gateway_metrics_up keeps the version label it had.
	lastRead sync.Map // int -> source.Resource

	mu       sync.Mutex
	inflight *call
	free     map[int][]*engine.Renderer // renderers to reuse, per plan kind

	collections atomic.Int64
	ready       atomic.Bool
	logged      sync.Map // messages logged once
}

// New makes a collector.
func New(plan *spec.Plan, l Lister, opts Options, obs Observer, log *slog.Logger) *Collector {
	c := &Collector{plan: plan, lister: l, opts: opts, obs: obs, log: log, free: map[int][]*engine.Renderer{}, groups: map[string]bool{}, fields: map[int]*objects.Fields{}}
	for i, k := range plan.Kinds {
		c.fields[i] = engine.Projection(k)
	}
	c.errs = &errorOnce{log: log, obs: obs}
	for _, k := range plan.Kinds {
		c.groups[k.GVK.Group] = true
	}
	if c.opts.Parallel <= 0 {
		// More than the cores: a LIST mostly waits on the API server.
		c.opts.Parallel = 4
	}
	return c
}

// Ready reports whether a discovery has ever succeeded.
func (c *Collector) Ready() bool { return c.ready.Load() }

// Warm runs discovery once, so that /readyz turns ready without waiting for
// the first scrape (and without a LIST: a collection's deadline belongs to
// the scrape that starts it).
func (c *Collector) Warm(ctx context.Context) {
	if _, err := c.discover(ctx); err == nil {
		c.ready.Store(true)
	}
}

// Collections counts the collections actually run (not the scrapes served).
func (c *Collector) Collections() int64 { return c.collections.Load() }

// KindResult is the outcome for one spec kind.
type KindResult struct {
	Kind     *spec.Kind
	Index    int
	Resource source.Resource // what was read (GVK as served)
	Up       bool
	// NotServed: discovery succeeded and no version of the kind is served (no
	// CRD). Such a kind has no gateway_metrics_up series rather than a 0: a
	// cluster without Kuadrant is not a failing one.
	NotServed bool
	Err       error
	Duration  time.Duration
	Renderer  *engine.Renderer // nil unless Up
}

// Result is one collection, shared by every scrape that waited for it.
// Release it when done writing.
type Result struct {
	Kinds     []KindResult
	refs      atomic.Int32
	c         *Collector
	onRelease func()
}

// NewResult is a result made elsewhere (watch mode); release runs when the
// last reader is done.
func NewResult(kinds []KindResult, release func()) *Result {
	r := &Result{Kinds: kinds, onRelease: release}
	r.refs.Store(1)
	return r
}

// Release returns the result's buffers once every sharer is done.
func (r *Result) Release() {
	if r.refs.Add(-1) != 0 {
		return
	}
	if r.onRelease != nil {
		r.onRelease()
		return
	}
	if r.c == nil {
		return
	}
	r.c.mu.Lock()
	defer r.c.mu.Unlock()
	for _, k := range r.Kinds {
		if k.Renderer != nil {
			r.c.free[k.Index] = append(r.c.free[k.Index], k.Renderer)
		}
	}
}

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
			res := c.collect(cctx)
			c.mu.Lock()
			res.refs.Store(cl.waiters)
			cl.res = res
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

func (c *Collector) collect(ctx context.Context) *Result {
	c.collections.Add(1)
	res := &Result{c: c}
	for i, k := range c.plan.Kinds {
		res.Kinds = append(res.Kinds, KindResult{Kind: k, Index: i, Resource: source.Resource{Group: k.GVK.Group, Version: k.GVK.Version, Kind: k.GVK.Kind}})
	}
	start := time.Now()
	served, err := c.discover(ctx)
	if err != nil {
		c.once("discovery", "API server discovery failed; every kind reports gateway_metrics_up 0 until it succeeds", "err", err)
		for i := range res.Kinds {
			res.Kinds[i].Err = fmt.Errorf("discovery: %w", err)
			res.Kinds[i].Duration = time.Since(start)
			if r, ok := c.lastRead.Load(i); ok {
				res.Kinds[i].Resource = r.(source.Resource)
			}
		}
		return res
	}
	c.ready.Store(true)
	c.logged.Delete("discovery")

	// One result per resource read: a spec kind with a "*" version or kind
	// becomes one per served match, as in KSM.
	planned := res.Kinds
	res.Kinds = nil
	for i, kr := range planned {
		g := kr.Kind.GVK
		rs := served.Resolve(g.Group, g.Version, g.Kind)
		if len(rs) == 0 {
			kr.Err = fmt.Errorf("the API server serves no version of %s.%s", g.Kind, g.Group)
			kr.NotServed = true
			c.once("missing/"+g.Group+"/"+g.Kind+"/"+g.Version, "kind not served by the API server (no CRD installed?); it has no gateway_metrics_up series and appears once its CRD is installed", "group", g.Group, "kind", g.Kind, "version", g.Version)
			res.Kinds = append(res.Kinds, kr)
			continue
		}
		c.logged.Delete("missing/" + g.Group + "/" + g.Kind + "/" + g.Version)
		for _, r := range rs {
			if g.Version != "*" && r.Version != g.Version {
				c.onceInfo("version/"+r.Group+"/"+r.Kind+"/"+r.Version, "spec version not served; reading the preferred served version instead", "kind", r.Kind, "spec_version", g.Version, "read_version", r.Version)
			}
			k := kr
			k.Resource = r
			res.Kinds = append(res.Kinds, k)
		}
		if len(rs) == 1 && g.Version != "*" && g.Kind != "*" {
			c.lastRead.Store(i, rs[0])
		}
	}

	sem := make(chan struct{}, c.opts.Parallel)
	var wg sync.WaitGroup
	for i := range res.Kinds {
		kr := &res.Kinds[i]
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
			c.collectKind(ctx, kr)
		}()
	}
	wg.Wait()
	return res
}

// discover bounds client-go's discovery (which takes no context) by ctx.
func (c *Collector) discover(ctx context.Context) (source.Served, error) {
	type answer struct {
		s   source.Served
		err error
	}
	ch := make(chan answer, 1)
	go func() {
		s, err := c.lister.Discover(c.groups)
		ch <- answer{s, err}
	}()
	select {
	case a := <-ch:
		if a.err != nil && len(a.s) > 0 {
			// Partial discovery: use what answered.
			c.once("discovery-partial", "part of API discovery failed", "err", a.err)
			return a.s, nil
		}
		return a.s, a.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (c *Collector) renderer(kr *KindResult) *engine.Renderer {
	gvk := engine.GVK{Group: kr.Resource.Group, Version: kr.Resource.Version, Kind: kr.Resource.Kind}
	c.mu.Lock()
	defer c.mu.Unlock()
	if free := c.free[kr.Index]; len(free) > 0 {
		r := free[len(free)-1]
		c.free[kr.Index] = free[:len(free)-1]
		r.Reset(gvk)
		return r
	}
	return engine.NewRenderer(kr.Kind, gvk, c.errs.report)
}

func (c *Collector) collectKind(ctx context.Context, kr *KindResult) {
	start := time.Now()
	r := c.renderer(kr)
	shard, shards := 0, 1
	if c.opts.Shard != nil {
		shard, shards = c.opts.Shard()
	}
	add := func(items []any) error {
		for _, it := range items {
			obj, ok := it.(map[string]any)
			if !ok {
				continue
			}
			if shards > 1 && !keep(obj, shard, shards) {
				continue
			}
			r.Add(obj)
		}
		return ctx.Err()
	}
	var err error
	for attempt := 0; attempt < 2; attempt++ {
		r.Reset(engine.GVK{Group: kr.Resource.Group, Version: kr.Resource.Version, Kind: kr.Resource.Kind})
		err = c.listAll(ctx, kr.Resource, c.fields[kr.Index], add)
		if !source.IsGone(err) {
			break
		}
		// The continue token expired mid-list: a half list must never pass
		// for a whole one, so start over once.
		c.log.Info("list restarted after its continue token expired", "kind", kr.Resource.Kind)
	}
	kr.Duration = time.Since(start)
	result := "success"
	if err != nil {
		result = "error"
		kr.Err = err
		if source.IsForbidden(err) {
			c.once("forbidden/"+kr.Resource.Plural, "RBAC forbids listing this kind; grant list on it (see deploy/)", "resource", kr.Resource.Plural+"."+kr.Resource.Group, "err", err)
		} else if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
			c.once("list/"+kr.Resource.Plural+err.Error(), "list failed", "resource", kr.Resource.Plural+"."+kr.Resource.Group, "err", err)
		}
		c.release(kr.Index, r)
	} else {
		r.Finish() // before sharing: readers of a result never write to it
		kr.Up = true
		kr.Renderer = r
		if c.obs != nil && r.Duplicates > 0 {
			c.obs.Duplicates(kr.Resource.Kind, r.Duplicates)
		}
		c.logged.Delete("forbidden/" + kr.Resource.Plural)
	}
	if c.obs != nil {
		c.obs.ListDone(kr.Resource, result, kr.Duration)
	}
}

func (c *Collector) release(i int, r *engine.Renderer) {
	c.mu.Lock()
	c.free[i] = append(c.free[i], r)
	c.mu.Unlock()
}

func (c *Collector) listAll(ctx context.Context, r source.Resource, fields *objects.Fields, add func([]any) error) error {
	if !r.Namespaced || len(c.opts.Namespaces) == 0 {
		_, err := c.lister.List(ctx, r, source.ListOptions{FieldSelector: c.denySelector(), Fields: fields}, add)
		return err
	}
	for _, ns := range c.opts.Namespaces {
		if _, err := c.lister.List(ctx, r, source.ListOptions{Namespace: ns, Fields: fields}, add); err != nil {
			return err
		}
	}
	return nil
}

func (c *Collector) denySelector() string {
	sel := ""
	for _, ns := range c.opts.DeniedNamespaces {
		if sel != "" {
			sel += ","
		}
		sel += "metadata.namespace!=" + ns
	}
	return sel
}

// once logs a message the first time a key is seen (until it is cleared), so
// a persistent problem is one log line, not one per scrape.
func (c *Collector) once(key, msg string, args ...any) {
	if _, loaded := c.logged.LoadOrStore(key, true); !loaded {
		c.log.Warn(msg, args...)
	}
}

func (c *Collector) onceInfo(key, msg string, args ...any) {
	if _, loaded := c.logged.LoadOrStore(key, true); !loaded {
		c.log.Info(msg, args...)
	}
}

func keep(obj map[string]any, shard, shards int) bool {
	md, _ := obj["metadata"].(map[string]any)
	uid, _ := md["uid"].(string)
	return ShardOf(uid, shards) == shard
}

// ShardOf is KSM's sharding: jump consistent hash of FNV-1a 64 of the UID.
func ShardOf(uid string, shards int) int {
	h := fnv.New64a()
	h.Write([]byte(uid))
	return int(jumpHash(h.Sum64(), shards))
}

// jumpHash is Lamping and Veach's jump consistent hash, as in
// github.com/dgryski/go-jump, which KSM uses.
func jumpHash(key uint64, buckets int) int32 {
	var b, j int64 = -1, 0
	for j < int64(buckets) {
		b = j
		key = key*2862933555777941757 + 1
		j = int64(float64(b+1) * (float64(int64(1)<<31) / float64((key>>33)+1)))
	}
	return int32(b)
}

// errorOnce logs each distinct evaluation error once (KSM logs one line per
// object per update) and counts every occurrence.
type errorOnce struct {
	log  *slog.Logger
	obs  Observer
	seen sync.Map
	n    atomic.Int64
}

func (e *errorOnce) report(f *spec.Family, err error) {
	if e.obs != nil {
		e.obs.EvalError(f.Name)
	}
	key := f.Name + "\x00" + err.Error()
	if _, loaded := e.seen.LoadOrStore(key, true); loaded || e.n.Add(1) > 10000 {
		return
	}
	e.log.Warn("cannot evaluate family for an object (logged once)", "family", f.Name, "err", err, "spec", fmt.Sprintf("%s:%d", f.File, f.Line))
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
	engine.Assemble(bw, srcs, format)
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

// Down is a result in which every kind failed with err: what a scrape answers
// when it ran out of time before a collection finished.
func (c *Collector) Down(err error) *Result {
	res := &Result{c: c}
	for i, k := range c.plan.Kinds {
		r := source.Resource{Group: k.GVK.Group, Version: k.GVK.Version, Kind: k.GVK.Kind}
		if last, ok := c.lastRead.Load(i); ok {
			r = last.(source.Resource)
		}
		res.Kinds = append(res.Kinds, KindResult{Kind: k, Index: i, Err: err, Resource: r})
	}
	res.refs.Store(1)
	return res
}
