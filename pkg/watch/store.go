// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package watch

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/s2"

	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/engine"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/graph"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/objects"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/scrape"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/source"
)

// store holds the rendered objects of one scope of a resource.
type store struct {
	mu       sync.RWMutex
	groups   []*group // in key order (see objectKey)
	synced   bool
	err      error // of the last LIST
	watchErr error // of the last attempt to open a watch
	// closedAt is when the last watch stream ended, or when the last resync
	// brought the store up to date after one ended; zero while a watch is
	// open (or none was opened yet).
	closedAt time.Time
	// resyncing is when the sync in progress (a LIST or a watch-list's
	// initial events) last made progress: it began, or a page or an object
	// arrived. Zero when none is running.
	resyncing time.Time
	// grace and stall are reopenGrace and resyncStall (tests shorten them).
	grace, stall time.Duration

	render                *engine.Renderer // one object at a time; guarded by mu
	zbuf, scratch, packed []byte           // guarded by mu
	shard, shards         int

	// graph, when on, gets every object of the scope (namespace; "" for
	// all), another shard's too; once a build commits, the kind is known
	// there (everSynced).
	graph      *graph.Graph
	gk         graph.GK
	namespace  string
	everSynced bool
}

func newStore(r *engine.Renderer, shard, shards int) *store {
	return &store{render: r, shard: shard, shards: shards, grace: reopenGrace, stall: resyncStall}
}

// watched records whether a watch could be opened: while it cannot (the API
// server is down or restarting), the store may be missing changes, so the
// kind is down rather than stale. A first successful watch after a LIST
// completes the sync: no change made after the LIST can be missed.
func (s *store) watched(err error) {
	s.mu.Lock()
	s.watchErr, s.closedAt = err, time.Time{}
	if err == nil && s.err == nil {
		s.synced = true
	}
	s.mu.Unlock()
}

// closed records that the watch stream ended.
func (s *store) closed() {
	s.mu.Lock()
	s.closedAt = time.Now()
	s.mu.Unlock()
}

// reopenGrace is how long a store may go without an open watch, and
// without a resync in progress, before it counts as stale. A watch the API
// server ends normally (its timeout) is reopened at once; one that must be
// backed off from (a restarting API server ends new watches at once) is not,
// and the store would silently miss changes until the backoff ends.
const reopenGrace = 2 * time.Second

// resyncStall is how long a resync (after a 410 Gone or a broken watch) may
// go without a page or an object before the store counts as stale. A resync
// that progresses keeps the last state served, however long it takes (a
// relist of 100k routes takes about 18 s): the kind is not down because the
// API server compacted a version. One that fails marks the kind down; one
// that hangs (an API server that accepts and never answers) does after this.
const resyncStall = 30 * time.Second

// health is nil when the store holds the whole current state, or the last
// one while a resync that makes progress replaces it. Called with mu held.
func (s *store) health() error {
	switch {
	case s.err != nil:
		return s.err
	case s.watchErr != nil:
		return s.watchErr
	case !s.resyncing.IsZero():
		if d := time.Since(s.resyncing); d > s.stall {
			return fmt.Errorf("resync made no progress for %s (API server not answering?)", d.Round(time.Second))
		}
	case !s.closedAt.IsZero() && time.Since(s.closedAt) > s.grace:
		return fmt.Errorf("watch ended %s ago and is not open again (API server restarting?)", time.Since(s.closedAt).Round(time.Second))
	}
	if !s.synced {
		return fmt.Errorf("not synced yet")
	}
	return nil
}

// relist reads the scope anew, rendering each page as it arrives into a new
// set of entries that replaces the old one once the LIST is complete: a
// failed LIST marks the kind down until one succeeds.
func (s *store) relist(ctx context.Context, api API, r source.Resource, opts source.ListOptions) (string, error) {
	b := s.begin()
	rv, err := api.ListAt(ctx, r, opts, func(items []any) error {
		s.progress()
		for _, it := range items {
			if obj, ok := it.(map[string]any); ok {
				s.add(b, obj)
			}
		}
		return nil
	})
	s.commit(b, err)
	return rv, err
}

// build is a new state of the store being read (a LIST, or a watch's
// initial events), which replaces the current one when complete. Objects
// usually arrive in key order (see objectKey), as etcd and the watch cache
// list them: they gather in tail until a group is full, so a sync packs each
// group once.
type build struct {
	groups []*group
	tail   []object
	err    error
	stamp  uint64 // the graph's clock when it began
}

// begin starts a build; until it is committed, the store serves its last
// state (see health).
func (s *store) begin() *build {
	s.progress()
	b := &build{}
	if s.graph != nil {
		b.stamp = s.graph.Stamp()
	}
	return b
}

// progress notes that the sync in progress is alive.
func (s *store) progress() {
	s.mu.Lock()
	s.resyncing = time.Now()
	s.mu.Unlock()
}

// add renders one object of a build.
func (s *store) add(b *build, obj map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resyncing = time.Now()
	o, keep := s.renderObject(obj)
	if !keep {
		return
	}
	last := ""
	if n := len(b.tail); n > 0 {
		last = b.tail[n-1].key
	} else if n := len(b.groups); n > 0 {
		last = b.groups[n-1].lastKey()
	}
	if last != "" && o.key <= last {
		s.seal(b)
		var err error
		if b.groups, err = s.upsert(b.groups, o); err != nil && b.err == nil {
			b.err = err
		}
		return
	}
	if b.tail = append(b.tail, o); len(b.tail) == groupSize {
		s.seal(b)
	}
}

// seal packs the build's tail into a group.
func (s *store) seal(b *build) {
	if len(b.tail) > 0 {
		b.groups = append(b.groups, s.pack(b.tail))
		b.tail = nil
	}
}

// commit ends a build: it replaces the store's state unless err, the read's
// error, says the build is incomplete; err marks the kind down either way.
// A complete build is the current state: if a watch had ended, the grace to
// open the next one starts again from here.
func (s *store) commit(b *build, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err == nil {
		err = b.err
	}
	s.err, s.resyncing = err, time.Time{}
	if err == nil {
		s.seal(b)
		s.groups = b.groups
		if !s.closedAt.IsZero() {
			s.closedAt = time.Now()
		}
		if s.graph != nil {
			// What the build did not see is gone.
			s.graph.Sweep(s.gk, s.namespace, b.stamp)
			s.everSynced = true
		}
	}
}

// follow applies a watch's events until it ends, and returns the last
// resourceVersion seen and why it ended.
func (s *store) follow(ev source.Events) (rv string, err error) {
	for {
		e, err := ev.Next()
		if err != nil {
			return rv, err
		}
		if e.ResourceVersion != "" {
			rv = e.ResourceVersion
		}
		if e.Object == nil {
			continue
		}
		s.mu.Lock()
		switch e.Type {
		case "ADDED", "MODIFIED":
			if o, keep := s.renderObject(e.Object); keep {
				s.groups, err = s.upsert(s.groups, o)
			} else {
				s.groups, err = s.remove(s.groups, objectKey(e.Object))
			}
		case "DELETED":
			if s.graph != nil {
				s.graph.Delete(s.gk, objects.Meta(e.Object, "namespace"), objects.Meta(e.Object, "name"))
			}
			s.groups, err = s.remove(s.groups, objectKey(e.Object))
		}
		s.mu.Unlock()
		if err != nil {
			return rv, fmt.Errorf("applying a %s event: %w", e.Type, err)
		}
	}
}

// objectKey orders objects as the API server lists them, and so as list mode
// serves them: by their etcd key, <namespace>/<name> (the watch cache keeps
// the same order). That is not (namespace, name) order: "-" sorts before
// "/", so "app-system/x" comes before "app/x". Objects arriving in another
// order than the keys' would each take the out-of-order path of store.add.
func objectKey(obj map[string]any) string {
	return storeKey(objects.Meta(obj, "namespace"), objects.Meta(obj, "name"))
}

// storeKey is objectKey of the object namespace/name (no name or namespace
// holds a slash).
func storeKey(namespace, name string) string { return namespace + "/" + name }

// splitKey is storeKey's inverse.
func splitKey(key string) (namespace, name string) {
	namespace, name, _ = strings.Cut(key, "/")
	return namespace, name
}

// renderObject renders one object on its own, or reports that another shard
// owns it. Called with mu held.
func (s *store) renderObject(obj map[string]any) (o object, keep bool) {
	// Every object is in the graph, also another shard's: each shard judges
	// its own objects against all of them.
	var n *graph.Node
	if s.graph != nil {
		n = s.graph.Put(s.gk, obj)
	}
	if !scrape.KeepsObject(obj, s.shard, s.shards) {
		return object{}, false
	}
	blob, ends, issues := s.render.RenderObject(obj, n, s.graph)
	return object{key: objectKey(obj), blob: blob, ends: ends, issues: issues}, true
}

// Unpack appends one family's bytes of one of the store's groups to dst.
func (s *store) Unpack(dst, src []byte) ([]byte, error) {
	n, err := s2.DecodedLen(src)
	if err != nil {
		return nil, err
	}
	dst = slices.Grow(dst, n)
	if _, err := s2.Decode(dst[len(dst):len(dst)+n], src); err != nil {
		return nil, err
	}
	return dst[:len(dst)+n], nil
}
