package watch

import (
	"fmt"
	"sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"

	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/engine"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/scrape"
)

// entry is one object's pre-rendered families; the object itself is not kept.
type entry struct {
	namespace, name string
	blob            []byte
	ends            []int32
}

// store is a cache.ReflectorStore that renders objects as they arrive.
type store struct {
	mu       sync.RWMutex
	objs     map[types.UID]*entry
	synced   bool
	err      error // of the last LIST
	watchErr error // of the last attempt to open a watch

	render        *engine.Renderer // one object at a time; guarded by mu
	shard, shards int
	core          *scrape.Core
	kind          string
}

func newStore(r *engine.Renderer, shard, shards int, core *scrape.Core, kind string) *store {
	return &store{objs: map[types.UID]*entry{}, render: r, shard: shard, shards: shards, core: core, kind: kind}
}

// listed records the outcome of each LIST the reflector makes: a failing
// relist marks the kind down until one succeeds.
func (s *store) listed(err error) {
	s.mu.Lock()
	s.err = err
	s.mu.Unlock()
}

// watched records whether the reflector could open its watch: while it
// cannot (the API server is down or restarting), the store may be missing
// changes, so the kind is down rather than stale.
func (s *store) watched(err error) {
	s.mu.Lock()
	s.watchErr = err
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

func object(obj any) (*unstructured.Unstructured, error) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return nil, fmt.Errorf("unexpected object %T", obj)
	}
	return u, nil
}

func (s *store) keep(u *unstructured.Unstructured) bool {
	return scrape.Keeps(string(u.GetUID()), s.shard, s.shards)
}

func (s *store) put(u *unstructured.Unstructured) {
	if !s.keep(u) {
		delete(s.objs, u.GetUID())
		return
	}
	blob, ends, dups := s.render.RenderOne(u.Object)
	if dups > 0 {
		s.core.Duplicates(s.kind, dups)
	}
	s.objs[u.GetUID()] = &entry{namespace: u.GetNamespace(), name: u.GetName(), blob: blob, ends: ends}
}

func (s *store) Add(obj any) error {
	u, err := object(obj)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.put(u)
	return nil
}

func (s *store) Update(obj any) error { return s.Add(obj) }

func (s *store) Delete(obj any) error {
	u, err := object(obj)
	if err != nil {
		return err
	}
	s.mu.Lock()
	delete(s.objs, u.GetUID())
	s.mu.Unlock()
	return nil
}

func (s *store) Replace(list []any, _ string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.objs = make(map[types.UID]*entry, len(list))
	for _, obj := range list {
		u, err := object(obj)
		if err != nil {
			return err
		}
		s.put(u)
	}
	s.synced = true
	s.err, s.watchErr = nil, nil
	return nil
}

func (s *store) Resync() error { return nil }
