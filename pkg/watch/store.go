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
	mu     sync.RWMutex
	objs   map[types.UID]*entry
	synced bool
	err    error

	render *engine.Renderer // one object at a time; guarded by mu
	shard  func() (int, int)
	obs    scrape.Observer
	kind   string
}

func newStore(r *engine.Renderer, shard func() (int, int), obs scrape.Observer, kind string) *store {
	return &store{objs: map[types.UID]*entry{}, render: r, shard: shard, obs: obs, kind: kind}
}

// listed records the outcome of each LIST the reflector makes: a failing
// relist marks the kind down until one succeeds.
func (s *store) listed(err error) {
	s.mu.Lock()
	s.err = err
	s.mu.Unlock()
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
	if s.shard == nil {
		return true
	}
	shard, shards := s.shard()
	return shards <= 1 || scrape.ShardOf(string(u.GetUID()), shards) == shard
}

func (s *store) put(u *unstructured.Unstructured) {
	if !s.keep(u) {
		delete(s.objs, u.GetUID())
		return
	}
	blob, ends, dups := s.render.RenderOne(u.Object)
	if dups > 0 && s.obs != nil {
		s.obs.Duplicates(s.kind, dups)
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
	s.err = nil
	return nil
}

func (s *store) Resync() error { return nil }
