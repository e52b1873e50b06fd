// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package watch

import (
	"slices"

	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/graph"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/scrape"
)

// Watch mode keeps one attachment graph for its lifetime, fed by every
// store as events arrive. An object's graph families are rendered with its
// other families when it changes; a change elsewhere that affects them (a
// policy deleted, a Gateway created, a ReferenceGrant added) marks it in the
// graph, and the next scrape renders those families again before it reads
// the groups, so that it serves them as list mode would.

// syncGraph tells the graph which kinds it now holds completely (every scope
// synced once) or knows to be absent, then renders again the graph families
// that changes marked. Lock order: a store's, then the graph's. It returns
// the watches the graph now knows: a scrape serves no other, so that a kind
// whose first sync completes during the scrape is not up while the graph
// still judges it unknown.
func (c *Collector) syncGraph(kinds []scrape.KindResult, watches map[key]*resourceWatch) map[key]bool {
	if !c.GraphOn() {
		return nil
	}
	known := map[key]bool{}
	for _, kr := range kinds {
		gk := scrape.GraphKind(kr.Resource)
		switch {
		case kr.NotServed:
			c.graph.SetKind(gk, graph.NotServed, true)
		case kr.Err == nil:
			k := key{kr.Kind, kr.Resource}
			if w := watches[k]; w != nil && w.everSynced() {
				c.graph.SetKind(gk, graph.Served, kr.Resource.Namespaced)
				known[k] = true
			}
		}
	}
	for _, w := range watches {
		for _, st := range w.stores {
			st.refreshGraph()
		}
	}
	return known
}

func (w *resourceWatch) everSynced() bool {
	for _, st := range w.stores {
		st.mu.RLock()
		ok := st.everSynced
		st.mu.RUnlock()
		if !ok {
			return false
		}
	}
	return true
}

// refreshGraph renders again the graph families of the store's objects that
// the graph marked, repacking each group they are in once.
func (s *store) refreshGraph() {
	if s.graph == nil || !s.graph.Marked(s.gk) {
		return
	}
	if !s.render.HasGraph() {
		s.graph.TakeDirty(s.gk, s.namespace) // nothing to render: forget them
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	dirty := s.graph.TakeDirty(s.gk, s.namespace)
	if len(dirty) == 0 {
		return
	}
	keys := make([]string, len(dirty))
	for i, d := range dirty {
		keys[i] = storeKey(d.Namespace, d.Name)
	}
	slices.Sort(keys)
	for gi, g := range s.groups {
		first, last := g.firstKey(), g.lastKey()
		lo, _ := slices.BinarySearch(keys, first)
		if lo == len(keys) || keys[lo] > last {
			continue
		}
		objs, err := s.unpack(g)
		if err != nil {
			// A group that cannot be read back is a bug; the watch relists
			// when it next meets it.
			continue
		}
		changed := false
		for j := range objs {
			o := &objs[j]
			if _, found := slices.BinarySearch(keys, o.key); !found {
				continue
			}
			ns, name := splitKey(o.key)
			n := s.graph.Lookup(s.gk, ns, name)
			if n == nil {
				continue
			}
			o.blob, o.ends, o.issues = s.render.ReplaceGraph(o.blob, o.ends, o.issues, n, s.graph)
			changed = true
		}
		if changed {
			// Replaced, never changed: a scrape may be reading the old one.
			s.groups[gi] = s.pack(objs)
		}
	}
}

// forgetGraph drops from the graph a kind no longer watched, unless another
// version of it is (its sync sweeps what it does not see). Called with c.mu
// held.
func (c *Collector) forgetGraph(gone key, want map[key]bool) {
	for k := range want {
		if k.res.Group == gone.res.Group && k.res.Kind == gone.res.Kind {
			return
		}
	}
	c.graph.Forget(scrape.GraphKind(gone.res))
}
