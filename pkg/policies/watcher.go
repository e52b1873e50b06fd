// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package policies

import (
	"context"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/cache"

	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/objects"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/spec"
)

// CRDs is apiextensions.k8s.io/v1 customresourcedefinitions.
var CRDs = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// Watcher keeps the set of kinds to collect current: the plan's, then one
// per policy CRD the plan does not declare. One watch on CRDs feeds it, so
// finding policies costs no API call per scrape; a CRD that appears or
// goes is in the next Kinds.
type Watcher struct {
	plan *spec.Plan
	keep func(*spec.Family) bool
	log  *slog.Logger

	// OnChange, when set before Run, is called (without locks held) after
	// the kinds changed, so that a mode that caches its kinds can look again.
	OnChange func()

	mu      sync.Mutex
	crds    map[string]CRD // by CRD name
	kinds   []*spec.Kind
	byKey   map[CRD]*spec.Kind // a kind keeps its identity while its CRD does not change
	tried   chan struct{}      // closed after the first LIST of CRDs, whatever its outcome
	tryOnce sync.Once
	warned  atomic.Bool // a failing LIST of CRDs is logged once until one succeeds
}

// NewWatcher serves plan's kinds until Run has listed the CRDs. keep is the
// filter of the flags (opt-in, allow and deny lists; nil: all).
func NewWatcher(plan *spec.Plan, keep func(*spec.Family) bool, log *slog.Logger) *Watcher {
	return &Watcher{plan: plan, keep: keep, log: log, crds: map[string]CRD{}, kinds: plan.Kinds,
		byKey: map[CRD]*spec.Kind{}, tried: make(chan struct{})}
}

// Kinds is the current set (scrape.KindProvider): the plan's kinds first, in
// plan order, then the discovered ones by group and kind. The slice is never
// modified; a change makes a new one. Until the first LIST of CRDs has been
// answered it waits for it, for at most half the time left before ctx's
// deadline (the rest is the scrape's), so that a scrape right after start-up
// already has the policies; without a deadline, or once that LIST failed
// (RBAC, outage) or did not answer within that first wait, it serves the
// plan's kinds while the reflector retries.
func (w *Watcher) Kinds(ctx context.Context) []*spec.Kind {
	if d, ok := ctx.Deadline(); ok {
		t := time.NewTimer(time.Until(d) / 2)
		select {
		case <-w.tried:
		case <-t.C:
			// A LIST of CRDs that hangs (a slow or overloaded API server)
			// costs one scrape half its time, not every scrape: from now
			// on the plan's kinds are served until it answers.
			w.tryOnce.Do(func() { close(w.tried) })
		case <-ctx.Done():
		}
		t.Stop()
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.kinds
}

// Run watches CRDs through crds until ctx ends: a LIST and a watch of
// apiextensions.k8s.io/v1 customresourcedefinitions whose objects need carry
// only Fields (source.Client.ListerWatcher reads them so: a CRD is never
// decoded whole). A failing list or watch (RBAC, outage) is retried by
// client-go's reflector with backoff; the kinds stay as they were.
func (w *Watcher) Run(ctx context.Context, crds cache.ListerWatcherWithContext) {
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			l, err := crds.ListWithContext(ctx, o)
			if err == nil {
				w.warned.Store(false)
			} else if !w.warned.Swap(true) {
				w.log.Warn("cannot list CRDs to discover policy kinds; retrying (grant list/watch on customresourcedefinitions, or --discover-policies=false)", "err", err)
			}
			if err != nil {
				w.tryOnce.Do(func() { close(w.tried) })
			}
			return l, err
		},
		WatchFuncWithContext: crds.WatchWithContext,
	}
	refl := cache.NewReflectorWithOptions(listThenWatch{lw}, &unstructured.Unstructured{}, (*crdStore)(w), cache.ReflectorOptions{Name: "policy CRDs"})
	refl.RunWithContext(ctx)
}

// listThenWatch makes the reflector LIST then WATCH (no streaming watch-list),
// so that the first LIST's outcome is seen above.
type listThenWatch struct{ *cache.ListWatch }

func (listThenWatch) IsWatchListSemanticsUnSupported() bool { return true }

// rebuild recomputes the kinds and reports whether they changed; call with
// mu held.
func (w *Watcher) rebuild() bool {
	crds := make([]CRD, 0, len(w.crds))
	for _, c := range w.crds {
		crds = append(crds, c)
	}
	sort.Slice(crds, func(i, j int) bool { return crds[i].Name < crds[j].Name })
	found := Kinds(crds, w.plan, w.keep)
	byKey := map[CRD]*spec.Kind{}
	kinds := append([]*spec.Kind{}, w.plan.Kinds...)
	var names []string
	for _, k := range found {
		var c CRD
		for _, cand := range crds {
			if cand.Group == k.GVK.Group && cand.Kind == k.GVK.Kind {
				c = cand
				break
			}
		}
		if old, ok := w.byKey[c]; ok {
			k = old
		}
		byKey[c] = k
		kinds = append(kinds, k)
		names = append(names, k.GVK.Kind+"."+k.GVK.Group+"/"+k.GVK.Version)
	}
	changed := !sameKinds(w.kinds, kinds)
	if changed {
		w.log.Info("policy kinds discovered", "kinds", names)
	}
	w.byKey = byKey
	w.kinds = kinds
	return changed
}

func sameKinds(a, b []*spec.Kind) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// crdStore is the reflector's store: it keeps only what Detect finds, never
// the CRDs (their schemas can be megabytes).
type crdStore Watcher

func (s *crdStore) set(obj any, del bool) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return
	}
	w := (*Watcher)(s)
	name := u.GetName()
	c, isPolicy := Detect(u.Object)
	isPolicy = isPolicy && established(u.Object)
	w.mu.Lock()
	old, had := w.crds[name]
	switch {
	case del || !isPolicy:
		if !had {
			w.mu.Unlock()
			return
		}
		delete(w.crds, name)
	case had && old == c:
		w.mu.Unlock()
		return
	default:
		w.crds[name] = c
	}
	changed := w.rebuild()
	w.mu.Unlock()
	if changed && w.OnChange != nil {
		w.OnChange()
	}
}

// established reports whether the API server serves a CRD's resources yet:
// its objects cannot be listed before, so it counts from the update that
// sets the condition.
func established(crd map[string]any) bool {
	conds, _ := objects.Dig(crd, "status", "conditions").([]any)
	for _, c := range conds {
		if m, ok := c.(map[string]any); ok && m["type"] == "Established" {
			return m["status"] == "True"
		}
	}
	return false
}

func (s *crdStore) Add(obj any) error    { s.set(obj, false); return nil }
func (s *crdStore) Update(obj any) error { s.set(obj, false); return nil }
func (s *crdStore) Delete(obj any) error { s.set(obj, true); return nil }
func (s *crdStore) Resync() error        { return nil }

func (s *crdStore) Replace(list []any, _ string) error {
	w := (*Watcher)(s)
	crds := map[string]CRD{}
	for _, obj := range list {
		if u, ok := obj.(*unstructured.Unstructured); ok {
			if c, isPolicy := Detect(u.Object); isPolicy && established(u.Object) {
				crds[u.GetName()] = c
			}
		}
	}
	w.mu.Lock()
	w.crds = crds
	changed := w.rebuild()
	w.mu.Unlock()
	w.tryOnce.Do(func() { close(w.tried) })
	if changed && w.OnChange != nil {
		w.OnChange()
	}
	return nil
}
