package watch

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/klauspost/compress/s2"

	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/engine"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/scrape"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/source"
)

// entry is one object's pre-rendered families; the object itself is not kept.
// Each family's bytes are held compressed on their own (s2 with the store's
// dictionary): the same family and label names repeat in every object of a
// kind, so they shrink many times, and a scrape inflates them family by
// family straight into the body (engine.Renderer.AddPacked) without copying
// the text first.
type entry struct {
	namespace, name string
	blob            []byte  // the s2 blocks of the families, one after the other
	ends            []int32 // family i's block ends at ends[i]
}

// store holds the rendered objects of one scope of a resource.
type store struct {
	mu       sync.RWMutex
	objs     map[string]*entry // by UID
	synced   bool
	err      error // of the last LIST
	watchErr error // of the last attempt to open a watch
	// closedAt is when the last watch stream ended, zero while one is open
	// (or none was opened yet).
	closedAt time.Time

	render        *engine.Renderer // one object at a time; guarded by mu
	dict          *s2.Dict         // made from the first object rendered; never changes after
	zbuf          []byte           // guarded by mu
	shard, shards int
	core          *scrape.Core
	kind          string
}

func newStore(r *engine.Renderer, shard, shards int, core *scrape.Core, kind string) *store {
	return &store{objs: map[string]*entry{}, render: r, shard: shard, shards: shards, core: core, kind: kind}
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

// reopenGrace is how long a store may go without an open watch before it
// counts as stale. A watch the API server ends normally (its timeout) is
// reopened at once; one that must be backed off from (a restarting API
// server ends new watches at once) is not, and the store would silently miss
// changes until the backoff ends.
const reopenGrace = 2 * time.Second

// health is nil when the store holds the whole current state. Called with mu
// held.
func (s *store) health() error {
	switch {
	case s.err != nil:
		return s.err
	case s.watchErr != nil:
		return s.watchErr
	case !s.closedAt.IsZero() && time.Since(s.closedAt) > reopenGrace:
		return fmt.Errorf("watch ended %s ago and is not open again (API server restarting?)", time.Since(s.closedAt).Round(time.Second))
	case !s.synced:
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
// initial events), which replaces the current one when complete.
type build struct{ objs map[string]*entry }

func (s *store) begin() *build { return &build{objs: map[string]*entry{}} }

// add renders one object of a build.
func (s *store) add(b *build, obj map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.put(b.objs, obj)
}

// commit ends a build: it replaces the store's state unless err, the read's
// error, says the build is incomplete; err marks the kind down either way.
func (s *store) commit(b *build, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.err = err
	if err == nil {
		s.objs = b.objs
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
			s.put(s.objs, e.Object)
		case "DELETED":
			delete(s.objs, uid(e.Object))
		}
		s.mu.Unlock()
	}
}

func meta(obj map[string]any, key string) string {
	md, _ := obj["metadata"].(map[string]any)
	s, _ := md[key].(string)
	return s
}

func uid(obj map[string]any) string { return meta(obj, "uid") }

// put renders one object into objs, or drops it when another shard owns it.
// Called with mu held.
func (s *store) put(objs map[string]*entry, obj map[string]any) {
	id := uid(obj)
	if !scrape.Keeps(id, s.shard, s.shards) {
		delete(objs, id)
		return
	}
	blob, ends, dups := s.render.RenderOne(obj)
	if dups > 0 {
		s.core.Duplicates(s.kind, dups)
	}
	if s.dict == nil {
		src := blob
		for _, f := range s.render.Kind().Families {
			if len(src) >= s2.MinDictSize {
				break
			}
			src = append(src, f.Name...)
		}
		s.dict = s2.MakeDict(src, nil)
	}
	var out []byte
	packed := make([]int32, len(ends))
	start := int32(0)
	for i, end := range ends {
		if end > start {
			s.zbuf = s.dict.Encode(s.zbuf[:cap(s.zbuf)], blob[start:end])
			out = append(out, s.zbuf...)
		}
		packed[i] = int32(len(out))
		start = end
	}
	objs[id] = &entry{namespace: meta(obj, "namespace"), name: meta(obj, "name"), blob: slices.Clip(out), ends: packed}
}

// Unpack appends one family's bytes of one of the store's entries to dst.
func (s *store) Unpack(dst, src []byte) ([]byte, error) {
	n, err := s2.DecodedLen(src)
	if err != nil {
		return nil, err
	}
	dst = slices.Grow(dst, n)
	if _, err := s.dict.Decode(dst[len(dst):len(dst)+n], src); err != nil {
		return nil, err
	}
	return dst[:len(dst)+n], nil
}
