package watch

import (
	"fmt"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
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
	// closedAt is when the last watch stream ended, zero while one is open
	// (or none was opened yet).
	closedAt time.Time

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
	s.watchErr, s.closedAt = err, time.Time{}
	s.mu.Unlock()
}

// reopenGrace is how long a store may go without an open watch before it
// counts as stale. A watch the API server ends normally (its timeout) is
// reopened at once; one that the reflector must back off from (a restarting
// API server ends new watches at once) is not, and the store would silently
// miss changes until the backoff ends.
const reopenGrace = 2 * time.Second

// track follows a watch stream, so that the store knows when it ended.
func (s *store) track(w watch.Interface) watch.Interface {
	t := &trackedWatch{inner: w, out: make(chan watch.Event), stop: make(chan struct{})}
	go func() {
		defer close(t.out)
		defer func() {
			s.mu.Lock()
			s.closedAt = time.Now()
			s.mu.Unlock()
		}()
		for ev := range w.ResultChan() {
			select {
			case t.out <- ev:
			case <-t.stop:
				return
			}
		}
	}()
	return t
}

type trackedWatch struct {
	inner    watch.Interface
	out      chan watch.Event
	stop     chan struct{}
	stopOnce sync.Once
}

func (t *trackedWatch) Stop() {
	t.stopOnce.Do(func() { close(t.stop) })
	t.inner.Stop()
}

func (t *trackedWatch) ResultChan() <-chan watch.Event { return t.out }

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
	s.err, s.watchErr, s.closedAt = nil, nil, time.Time{}
	return nil
}

func (s *store) Resync() error { return nil }
