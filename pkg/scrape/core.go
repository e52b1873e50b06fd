// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package scrape

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/engine"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/graph"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/objects"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/once"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/source"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/spec"
)

// KindProvider is the seam for kinds that change while the exporter runs
// (e.g. Policy Attachment kinds generated from the CRDs the cluster serves):
// the Core asks it for the current spec kinds at every discovery round —
// each collection in list mode, each reconcile in watch mode (at most every
// watch.Collector.Rediscover, 10s) — instead of capturing a fixed list at
// construction. Wire one with scrape.NewWithKinds or watch.NewWithKinds;
// scrape.New and watch.New wrap a fixed plan with PlanKinds. A kind that appears is discovered,
// listed or watched from that round on; a kind that disappears loses its
// series, its reflectors (watch mode) and its pooled renderers.
//
// Kinds must be safe to call concurrently, should be cheap (cache, don't call
// the API server on every round unless ctx allows it), and should return the
// same *spec.Kind pointer for a kind that did not change: the Core keys its
// renderer pools and per-kind state by that pointer.
type KindProvider interface {
	Kinds(ctx context.Context) []*spec.Kind
}

// KindsFunc adapts a function to KindProvider.
type KindsFunc func(ctx context.Context) []*spec.Kind

// Kinds calls f.
func (f KindsFunc) Kinds(ctx context.Context) []*spec.Kind { return f(ctx) }

// PlanKinds is the provider of a fixed plan (the spec files as loaded).
func PlanKinds(p *spec.Plan) KindProvider {
	kinds := slices.Clone(p.Kinds)
	return KindsFunc(func(context.Context) []*spec.Kind { return kinds })
}

// Discoverer finds the served versions of kinds.
type Discoverer interface {
	Discover(groups map[string]bool) (source.Served, error)
}

// Observer receives what the telemetry port reports.
type Observer interface {
	ListDone(r source.Resource, result string, d time.Duration)
	// Families is every family's state after a result was made (see
	// FamilyState), sorted by name.
	Families(states []FamilyState)
}

// Options tune what is collected.
type Options struct {
	Namespaces       []string                  // empty: all
	DeniedNamespaces []string                  // applied inside Namespaces, as in KSM
	Shard            func() (shard, total int) // KSM-compatible sharding by UID; nil: none
	Parallel         int                       // kinds listed at once (list mode)
	Limits           Limits                    // the cardinality guard
}

// Core is what both collection modes share: the current kinds (KindProvider),
// discovery of what to read for them, namespace scopes, shard membership,
// renderer pools, up/down and error accounting. The modes differ only in how
// objects arrive: list mode (Collector) lists them on each scrape, watch mode
// (pkg/watch) keeps reflectors running.
type Core struct {
	kinds KindProvider
	disc  Discoverer
	opts  Options
	obs   Observer
	log   *slog.Logger
	logs  *once.Set // problems already logged
	evals *once.Set // evaluation errors already logged
	guard guard

	discMu   sync.Mutex
	discIn   *discovery // the discovery in flight
	discNext *discovery // the one to start when it ends, for the callers it cannot serve

	mu       sync.Mutex
	current  map[*spec.Kind]bool
	last     []KindResult // the last round, for Down
	fields   map[*spec.Kind]*objects.Fields
	free     map[*spec.Kind][]*engine.Renderer
	lastRead map[*spec.Kind]source.Resource
	// graphOn: some current kind has graph families, so every kind is read
	// with the graph's fields too and feeds the attachment graph.
	graphOn bool
	// discovered are the group/kind of the current kinds marked
	// spec.Kind.Discovered; forbidden those of them whose last LIST RBAC
	// refused: they are skipped, not down (see Record).
	discovered map[string]bool
	forbidden  map[string]bool
	ready      atomic.Bool
}

// NewCore makes the shared core.
func NewCore(kinds KindProvider, d Discoverer, opts Options, obs Observer, log *slog.Logger) *Core {
	return &Core{kinds: kinds, disc: d, opts: opts, obs: obs, log: log,
		logs: once.New(4096), evals: once.New(1024), guard: guard{limits: opts.Limits},
		current: map[*spec.Kind]bool{}, fields: map[*spec.Kind]*objects.Fields{},
		free: map[*spec.Kind][]*engine.Renderer{}, lastRead: map[*spec.Kind]source.Resource{},
		discovered: map[string]bool{}, forbidden: map[string]bool{}}
}

// Ready reports whether a discovery has ever succeeded.
func (c *Core) Ready() bool { return c.ready.Load() }

// Log is the core's logger.
func (c *Core) Log() *slog.Logger { return c.log }

// KindResult is the outcome for one resource read for a spec kind.
type KindResult struct {
	Kind     *spec.Kind
	Resource source.Resource // what is read (GVK as served)
	Up       bool
	// NotServed: discovery succeeded and no version of the kind is served (no
	// CRD), or its CRD was deleted since, or it is a kind the exporter
	// discovered itself (spec.Kind.Discovered) that RBAC forbids it to list.
	// Such a kind has no gateway_metrics_up series rather than a 0: a cluster
	// without Kuadrant is not a failing one, and a kind nobody asked for is
	// not a failure of the exporter.
	NotServed bool
	Err       error
	Duration  time.Duration
	Renderer  *engine.Renderer // nil unless Up
}

// Round is one discovery round: the kinds the provider gave and, for each,
// the resources to read (a "*" version or kind becomes one per served match,
// as in KSM).
type Round struct {
	Kinds []KindResult
	// Err is the discovery failure, if any; then every kind carries it and
	// the resource it was last read at.
	Err error
}

type discovery struct {
	done   chan struct{}
	groups map[string]bool // what it asks for; a queued one's grows until it starts
	served source.Served
	err    error
}

// served runs discovery, or joins the one in flight, bounded by ctx.
// client-go's discovery takes no context: a caller whose ctx ends returns at
// once, and at most one discovery is ever outstanding, so a hanging API
// server cannot pile up goroutines (source.Client bounds each with a
// timeout). A caller joins the discovery in flight only if that one asks for
// every group the caller needs and fresh is false; otherwise it waits for
// the next one, which starts when the one in flight ends and asks for the
// groups of every caller waiting for it. fresh asks for a discovery that
// starts after the call: one that started before may have missed a CRD
// established since (what made the caller look again).
func (c *Core) served(ctx context.Context, groups map[string]bool, fresh bool) (source.Served, error) {
	c.discMu.Lock()
	var d *discovery
	switch {
	case c.discIn == nil:
		d = &discovery{done: make(chan struct{}), groups: maps.Clone(groups)}
		c.startDiscovery(d)
	case !fresh && covers(c.discIn.groups, groups):
		d = c.discIn
	case c.discNext == nil:
		d = &discovery{done: make(chan struct{}), groups: maps.Clone(groups)}
		c.discNext = d
	default:
		d = c.discNext
		maps.Copy(d.groups, groups)
	}
	c.discMu.Unlock()
	select {
	case <-d.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if d.err != nil && len(d.served) > 0 {
		// Partial discovery (an aggregated API down): use what answered.
		c.warnOnce("discovery-partial", "part of API discovery failed", "err", d.err)
		return d.served, nil
	}
	if d.err == nil {
		c.logs.Forget("discovery-partial")
	}
	return d.served, d.err
}

// startDiscovery runs d, then the discovery queued meanwhile, if any. Called
// with discMu held.
func (c *Core) startDiscovery(d *discovery) {
	c.discIn = d
	go func() {
		d.served, d.err = c.disc.Discover(d.groups)
		c.discMu.Lock()
		c.discIn = nil
		if next := c.discNext; next != nil {
			c.discNext = nil
			c.startDiscovery(next)
		}
		c.discMu.Unlock()
		close(d.done)
	}()
}

// covers reports whether a discovery of have answers for every group of want.
func covers(have, want map[string]bool) bool {
	for g := range want {
		if !have[g] {
			return false
		}
	}
	return true
}

// Discover asks the provider for the current kinds and the API server for
// what to read for each, joining a discovery in flight that asks for their
// groups.
func (c *Core) Discover(ctx context.Context) Round { return c.discover(ctx, false) }

// DiscoverFresh is Discover from a discovery that starts after the call:
// what a caller needs that knows the CRDs changed.
func (c *Core) DiscoverFresh(ctx context.Context) Round { return c.discover(ctx, true) }

func (c *Core) discover(ctx context.Context, fresh bool) Round {
	kinds := c.kinds.Kinds(ctx)
	c.setKinds(kinds)
	groups := map[string]bool{}
	for _, k := range kinds {
		groups[k.GVK.Group] = true
	}
	served, err := c.served(ctx, groups, fresh)
	if err != nil {
		c.warnOnce("discovery", "API server discovery failed; every kind reports gateway_metrics_up 0 until it succeeds", "err", err)
		r := Round{Err: fmt.Errorf("discovery: %w", err)}
		for _, k := range kinds {
			r.Kinds = append(r.Kinds, KindResult{Kind: k, Resource: c.lastResource(k), Err: r.Err})
		}
		c.setLast(r.Kinds)
		return r
	}
	c.ready.Store(true)
	c.logs.Forget("discovery")

	var r Round
	for _, k := range kinds {
		g := k.GVK
		rs := served.Resolve(g.Group, g.Version, g.Kind)
		missing := "missing/" + g.Group + "/" + g.Kind + "/" + g.Version
		if len(rs) == 0 {
			c.infoOnce(missing, "kind not served by the API server (no CRD installed?); it has no gateway_metrics_up series and appears once its CRD is installed", "group", g.Group, "kind", g.Kind, "version", g.Version)
			r.Kinds = append(r.Kinds, KindResult{Kind: k, Resource: source.Resource{Group: g.Group, Version: g.Version, Kind: g.Kind},
				NotServed: true, Err: fmt.Errorf("the API server serves no version of %s.%s", g.Kind, g.Group)})
			continue
		}
		c.logs.Forget(missing)
		for _, res := range rs {
			if g.Version != "*" && res.Version != g.Version {
				c.infoOnce("version/"+res.Group+"/"+res.Kind+"/"+res.Version, "spec version not served; reading the preferred served version instead", "kind", res.Kind, "spec_version", g.Version, "read_version", res.Version)
			}
			r.Kinds = append(r.Kinds, KindResult{Kind: k, Resource: res})
		}
		if len(rs) == 1 && g.Version != "*" && g.Kind != "*" {
			c.mu.Lock()
			c.lastRead[k] = rs[0]
			c.mu.Unlock()
		}
	}
	c.setLast(r.Kinds)
	return r
}

func (c *Core) setLast(kinds []KindResult) {
	c.mu.Lock()
	c.last = slices.Clone(kinds)
	c.mu.Unlock()
}

// setKinds makes kinds the current set, dropping the state of kinds that are
// gone so that kinds coming and going cannot grow memory.
func (c *Core) setKinds(kinds []*spec.Kind) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := make(map[*spec.Kind]bool, len(kinds))
	graphOn := false
	for _, k := range kinds {
		graphOn = graphOn || k.HasGraph()
	}
	if graphOn != c.graphOn {
		c.graphOn = graphOn
		clear(c.fields)
	}
	discovered := map[string]bool{}
	for _, k := range kinds {
		now[k] = true
		if c.fields[k] == nil {
			c.fields[k] = c.projection(k)
		}
		if k.Discovered {
			discovered[source.Key(k.GVK.Group, k.GVK.Kind)] = true
		}
	}
	for gk := range c.forbidden {
		if !discovered[gk] {
			delete(c.forbidden, gk)
		}
	}
	c.discovered = discovered
	for k := range c.current {
		if !now[k] {
			delete(c.fields, k)
			delete(c.free, k)
			delete(c.lastRead, k)
		}
	}
	c.current = now
}

func (c *Core) lastResource(k *spec.Kind) source.Resource {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r, ok := c.lastRead[k]; ok {
		return r
	}
	return source.Resource{Group: k.GVK.Group, Version: k.GVK.Version, Kind: k.GVK.Kind}
}

// Fields is the part of a kind's objects its families can observe, and the
// graph when it is on.
func (c *Core) Fields(k *spec.Kind) *objects.Fields {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f := c.fields[k]; f != nil {
		return f
	}
	return c.projection(k)
}

// projection is engine.Projection plus, with the graph on, what the graph
// reads. Called with mu held.
func (c *Core) projection(k *spec.Kind) *objects.Fields {
	if !c.graphOn {
		return engine.Projection(k)
	}
	return engine.ProjectionWith(k, func(root *objects.Fields) {
		graph.AddFields(root, graph.GK{Group: k.GVK.Group, Kind: k.GVK.Kind}, engine.GraphRefs(k))
	})
}

// GraphOn reports whether the current kinds have graph families: then both
// modes feed an attachment graph (pkg/graph) with every object they read.
func (c *Core) GraphOn() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.graphOn
}

// InScope reports whether objects in namespace ns are read at all: the
// graph judges the existence of objects in those namespaces only.
func (c *Core) InScope(ns string) bool {
	if slices.Contains(c.opts.DeniedNamespaces, ns) {
		return false
	}
	return len(c.opts.Namespaces) == 0 || slices.Contains(c.opts.Namespaces, ns)
}

// GraphKind is the graph's name for the kind a result reads.
func GraphKind(r source.Resource) graph.GK { return graph.GK{Group: r.Group, Kind: r.Kind} }

// Scope is one LIST (or watch) a resource needs: a namespace ("" for all, or
// a cluster-scoped kind) and a field selector.
type Scope struct {
	Namespace     string
	FieldSelector string
}

// ListOptions is what reading the scope asks for, with the kind's projection.
func (sc Scope) ListOptions(fields *objects.Fields) source.ListOptions {
	return source.ListOptions{Namespace: sc.Namespace, FieldSelector: sc.FieldSelector, Fields: fields}
}

// Scopes are KSM's namespace semantics, for both modes: cluster-scoped kinds
// are read whole; namespaced kinds in every allowed namespace (all when
// --namespaces is empty), and --namespaces-denylist applies inside the
// allowlist. An allowlist that the denylist empties reads nothing (never all).
// Namespaces are read in sorted order, whatever the flag's order, so that
// both modes serve one body (KSM's order of objects is its sync.Map's,
// random: it defines none).
func (c *Core) Scopes(r source.Resource) []Scope {
	if !r.Namespaced {
		return []Scope{{}}
	}
	if len(c.opts.Namespaces) == 0 {
		var sel []string
		for _, ns := range c.opts.DeniedNamespaces {
			sel = append(sel, "metadata.namespace!="+ns)
		}
		return []Scope{{FieldSelector: strings.Join(sel, ",")}}
	}
	out := []Scope{}
	for _, ns := range slices.Compact(slices.Sorted(slices.Values(c.opts.Namespaces))) {
		if !slices.Contains(c.opts.DeniedNamespaces, ns) {
			out = append(out, Scope{Namespace: ns})
		}
	}
	return out
}

// Shard is this exporter's shard and the shard count now (0, 1 without
// sharding).
func (c *Core) Shard() (shard, shards int) {
	if c.opts.Shard == nil {
		return 0, 1
	}
	shard, shards = c.opts.Shard()
	if shards < 1 {
		return 0, 1
	}
	return shard, shards
}

// Keeps reports whether an object with this UID belongs to shard of shards.
func Keeps(uid string, shard, shards int) bool {
	return shards <= 1 || ShardOf(uid, shards) == shard
}

// KeepsObject is Keeps for an object, by its metadata.uid.
func KeepsObject(obj map[string]any, shard, shards int) bool {
	return Keeps(objects.Meta(obj, "uid"), shard, shards)
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

func gvk(r source.Resource) engine.GVK {
	return engine.GVK{Group: r.Group, Version: r.Version, Kind: r.Kind}
}

// NewRenderer is a renderer that reports evaluation errors to the core; watch
// mode keeps one per store.
func (c *Core) NewRenderer(k *spec.Kind, r source.Resource) *engine.Renderer {
	return engine.NewRenderer(k, gvk(r), c.evalError)
}

// Renderer takes a pooled renderer for a result's kind.
func (c *Core) Renderer(kr *KindResult) *engine.Renderer {
	c.mu.Lock()
	if free := c.free[kr.Kind]; len(free) > 0 {
		r := free[len(free)-1]
		c.free[kr.Kind] = free[:len(free)-1]
		c.mu.Unlock()
		r.Reset(gvk(kr.Resource))
		return r
	}
	c.mu.Unlock()
	return c.NewRenderer(kr.Kind, kr.Resource)
}

// Put returns a renderer to its kind's pool (dropped if the kind is gone).
func (c *Core) Put(r *engine.Renderer) {
	r.DropPacked()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.current[r.Kind()] && len(c.free[r.Kind()]) < 64 {
		c.free[r.Kind()] = append(c.free[r.Kind()], r)
	}
}

// Record sets the outcome of reading kr: with err nil it is up and serves r
// (finished, so that readers never write to it); otherwise it is down and r
// goes back to the pool. A 404 means the CRD went away since discovery: the
// kind is then not served, like one never installed. So is a discovered kind
// that RBAC forbids listing (a 403): the ClusterRole the user runs the
// exporter with decides which of the kinds nobody declared are read, and a
// kind left out is not a failure (gateway_metrics_up 0 would page someone).
// A kind that a spec declares stays down on a 403: it was asked for.
func (c *Core) Record(kr *KindResult, r *engine.Renderer, err error) {
	if err != nil {
		kr.Up, kr.Err, kr.Renderer = false, err, nil
		kr.NotServed = apierrors.IsNotFound(err) || (kr.Kind.Discovered && apierrors.IsForbidden(err))
		if r != nil {
			c.Put(r)
		}
		return
	}
	r.Finish()
	kr.Up, kr.Err, kr.Renderer = true, nil, r
}

// Listed accounts for one LIST of a resource, whichever mode made it: the
// telemetry, and one log line per kind and kind of failure (client-go's
// typed API errors name it), until the kind lists again.
func (c *Core) Listed(r source.Resource, err error, d time.Duration) {
	result := "success"
	if err != nil {
		result = "error"
	}
	if c.obs != nil {
		c.obs.ListDone(r, result, d)
	}
	key := "list/" + r.Group + "/" + r.Kind + "/" + r.Version + "/"
	gk := source.Key(r.Group, r.Kind)
	c.mu.Lock()
	discovered := c.discovered[gk]
	if discovered && apierrors.IsForbidden(err) {
		c.forbidden[gk] = true
	} else {
		delete(c.forbidden, gk)
	}
	c.mu.Unlock()
	if err == nil {
		c.logs.ForgetPrefix(key)
		return
	}
	args := []any{"resource", r.Plural + "." + r.Group, "version", r.Version, "err", err}
	reason := string(apierrors.ReasonForError(err))
	switch {
	case discovered && apierrors.IsForbidden(err):
		c.infoOnce(key+reason, "discovered policy kind not readable (RBAC forbids list): skipped, with no series and no gateway_metrics_up, until list on it is granted", args...)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		// The scrape's deadline: reported by gateway_metrics_up 0, and
		// logging it would log every slow scrape.
		c.log.Debug("list did not finish before the scrape deadline", args...)
	case apierrors.IsForbidden(err):
		c.warnOnce(key+reason, "RBAC forbids listing this kind; grant list on it (see deploy/)", args...)
	case apierrors.IsNotFound(err):
		c.infoOnce(key+reason, "kind no longer served (CRD deleted?); its series are gone until it is served again", args...)
	case apierrors.IsTooManyRequests(err):
		c.warnOnce(key+reason, "API server kept throttling the list (priority and fairness) past the scrape deadline; kind reported down", args...)
	case reason != "":
		c.warnOnce(key+reason, "list failed", args...)
	default:
		c.warnOnce(key+"transport", "list failed: API server unreachable?", args...)
	}
}

func (c *Core) warnOnce(key, msg string, args ...any) { c.logOnce(slog.LevelWarn, key, msg, args...) }
func (c *Core) infoOnce(key, msg string, args ...any) { c.logOnce(slog.LevelInfo, key, msg, args...) }

// logOnce logs a message the first time a key is seen (until it is
// forgotten), so a persistent problem is one log line, not one per scrape.
func (c *Core) logOnce(level slog.Level, key, msg string, args ...any) {
	first, full := c.logs.First(key)
	if full {
		c.log.Warn("too many distinct problems to log each once; further ones are only counted")
	}
	if first {
		c.log.Log(context.Background(), level, msg, args...)
	}
}

// evalError logs each distinct evaluation error once (KSM logs one line per
// object per update); the renderer counts every one (FamilyStats.Errors). An
// optional field that is absent (engine.ErrAbsent) is logged at debug level:
// a healthy cluster logs no warning; a value of the wrong shape is a warning.
func (c *Core) evalError(f *spec.Family, err error) {
	first, full := c.evals.First(f.Name + "\x00" + err.Error())
	if full {
		c.log.Warn("too many distinct evaluation errors to log each once; further ones are only counted (gateway_metrics_family_evaluation_errors)")
	}
	if first {
		c.log.Log(context.Background(), engine.LogLevel(err), "cannot evaluate family for an object (logged once)",
			"family", f.Name, "err", err, "spec", fmt.Sprintf("%s:%d", f.File, f.Line))
	}
}

// Result is one collection, shared by every scrape that reads it. Release it
// when done writing.
type Result struct {
	Kinds []KindResult
	// Withheld are the families the cardinality guard keeps out of the body
	// (nil: none).
	Withheld  map[string]bool
	refs      atomic.Int32
	core      *Core
	onRelease func()
}

// NewResult is a result made outside a Core, for one reader; release runs
// when it is released.
func NewResult(kinds []KindResult, release func()) *Result {
	r := &Result{Kinds: kinds, onRelease: release}
	r.refs.Store(1)
	return r
}

// Result wraps kinds for n readers; their renderers return to the pool when
// the last one releases it. It applies the cardinality guard and reports
// the families' state (see account).
func (c *Core) Result(kinds []KindResult, readers int32) *Result {
	r := &Result{Kinds: kinds, core: c, Withheld: c.account(kinds)}
	r.refs.Store(readers)
	return r
}

// Release returns the result's renderers once every reader is done.
func (r *Result) Release() {
	if r.refs.Add(-1) != 0 {
		return
	}
	if r.onRelease != nil {
		r.onRelease()
	}
	if r.core == nil {
		return
	}
	for _, k := range r.Kinds {
		if k.Renderer != nil {
			r.core.Put(k.Renderer)
		}
	}
}

// Down is a result in which every kind of the last round failed with err:
// what a scrape answers when it ran out of time before a collection finished.
// Kinds the last round found not served stay without series.
func (c *Core) Down(err error) *Result {
	c.mu.Lock()
	kinds := slices.Clone(c.last)
	c.mu.Unlock()
	if kinds == nil {
		for _, k := range c.kinds.Kinds(context.Background()) {
			kinds = append(kinds, KindResult{Kind: k, Resource: c.lastResource(k)})
		}
	}
	c.mu.Lock()
	for i := range kinds {
		k := &kinds[i]
		if k.Kind.Discovered && c.forbidden[source.Key(k.Resource.Group, k.Resource.Kind)] {
			k.NotServed = true
		}
		if !k.NotServed {
			k.Err = err
		}
	}
	c.mu.Unlock()
	return c.Result(kinds, 1)
}
