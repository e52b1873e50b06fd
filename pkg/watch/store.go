package watch

import (
	"context"
	"fmt"
	"sync"

	"github.com/klauspost/compress/s2"

	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/engine"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/scrape"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/source"
)

// entry is one object's pre-rendered families; the object itself is not kept.
// The bytes are held compressed (s2 with the store's dictionary): the same
// family names and label names repeat in every object of a kind, so a blob
// shrinks several times, and a scrape inflates it at memory speed.
type entry struct {
	namespace, name string
	blob            []byte // s2 block, or the raw bytes when packed is false
	ends            []int32
	packed          bool
}

// store holds the rendered objects of one scope of a resource.
type store struct {
	mu       sync.RWMutex
	objs     map[string]*entry // by UID
	synced   bool
	err      error // of the last LIST
	watchErr error // of the last attempt to open a watch

	render        *engine.Renderer // one object at a time; guarded by mu
	dict          *s2.Dict         // made from the first object rendered; never changes after
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
	s.watchErr = err
	if err == nil && s.err == nil {
		s.synced = true
	}
	s.mu.Unlock()
}

// health is nil when the store holds the whole current state. Called with mu
// held.
func (s *store) health() error {
	switch {
	case s.err != nil:
		return s.err
	case s.watchErr != nil:
		return s.watchErr
	case !s.synced:
		return fmt.Errorf("not synced yet")
	}
	return nil
}

// relist reads the scope anew, rendering each page as it arrives into a new
// set of entries that replaces the old one once the LIST is complete: a
// failed LIST marks the kind down until one succeeds.
func (s *store) relist(ctx context.Context, api API, r source.Resource, opts source.ListOptions) (string, error) {
	fresh := map[string]*entry{}
	rv, err := api.ListAt(ctx, r, opts, func(items []any) error {
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, it := range items {
			if obj, ok := it.(map[string]any); ok {
				s.put(fresh, obj)
			}
		}
		return nil
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	s.err = err
	if err == nil {
		s.objs = fresh
	}
	return rv, err
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
	e := &entry{namespace: meta(obj, "namespace"), name: meta(obj, "name"), ends: ends, blob: blob}
	if s.dict == nil && len(blob) >= s2.MinDictSize {
		s.dict = s2.MakeDict(blob, nil)
	}
	if s.dict != nil {
		if z := s.dict.Encode(nil, blob); len(z) < len(blob) {
			e.blob, e.packed = append([]byte(nil), z...), true
		}
	}
	objs[id] = e
}

// bytes returns e's rendered families, inflated into buf when packed.
func (s *store) bytes(e *entry, buf []byte) ([]byte, error) {
	if !e.packed {
		return e.blob, nil
	}
	return s.dict.Decode(buf, e.blob)
}
