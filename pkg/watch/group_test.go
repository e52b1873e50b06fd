// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package watch

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/engine"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/exposition"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/source"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/spec"
)

// A store kept in compressed groups serves, after any mix of objects listed
// out of order, added between others (splitting groups), changed and
// deleted, the body a renderer makes of the same objects added whole in
// the API server's order, and counts what the renderer counts.
func TestGroupsServeWhatTheObjectsRender(t *testing.T) {
	plan, _, err := spec.Load("w.yaml", []byte(`spec:
  resources:
  - groupVersionKind: {group: example.com, version: v1, kind: Widget}
    labelsFromPath: {namespace: [metadata, namespace], name: [metadata, name]}
    metrics:
    - {name: size, help: h, each: {type: Gauge, gauge: {path: [spec, size]}}}
    - {name: item, help: h, each: {type: Gauge, gauge: {path: [spec, items], valueFrom: [v], labelsFromPath: {k: [k]}}}}
    - {name: opt, help: h, each: {type: Info, info: {labelsFromPath: {x: [spec, x]}}}}
`))
	if err != nil {
		t.Fatal(err)
	}
	kind := plan.Kinds[0]
	gvk := engine.GVK{Group: "example.com", Version: "v1", Kind: "Widget"}
	rng := rand.New(rand.NewPCG(1, 2))
	version := 0
	widget := func(ns, name string) map[string]any {
		version++
		spec := map[string]any{"size": int64(rng.IntN(100)), "items": []any{}}
		for i := range rng.IntN(4) {
			spec["items"] = append(spec["items"].([]any), map[string]any{"k": fmt.Sprint("k", i), "v": int64(version)})
		}
		if rng.IntN(3) == 0 {
			spec["x"] = "y" // the third family is empty in most objects
		}
		if rng.IntN(5) == 0 {
			spec["size"] = "big" // an evaluation error
		}
		if items := spec["items"].([]any); len(items) > 0 && rng.IntN(4) == 0 {
			spec["items"] = append(items, items[0]) // a duplicate series
		}
		return map[string]any{"metadata": map[string]any{"namespace": ns, "name": name, "uid": ns + "/" + name}, "spec": spec}
	}
	model := map[string]map[string]any{}
	check := func(st *store, when string) {
		t.Helper()
		var objs []map[string]any
		for _, o := range model {
			objs = append(objs, o)
		}
		// The API server's order, which list mode serves.
		slices.SortFunc(objs, func(a, b map[string]any) int { return cmp.Compare(objectKey(a), objectKey(b)) })
		whole := engine.NewRenderer(kind, gvk, nil)
		for _, o := range objs {
			whole.Add(o)
		}
		want := whole.AppendTo(nil, exposition.Text, map[string]struct{}{})
		r := engine.NewRenderer(kind, gvk, nil)
		if err := (&resourceWatch{stores: []*store{st}}).fill(context.Background(), r); err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		if got := r.AppendTo(nil, exposition.Text, map[string]struct{}{}); !bytes.Equal(got, want) {
			t.Fatalf("%s: served\n%s\nwant\n%s", when, got, want)
		}
		// The groups' counts are the objects': samples, bytes, duplicates
		// and evaluation errors per family.
		if got, want := r.Stats(), whole.Stats(); !slices.Equal(got, want) {
			t.Fatalf("%s: the groups count %+v, the objects %+v", when, got, want)
		}
		for i, g := range st.groups {
			if g.n == 0 || g.n > 2*groupSize {
				t.Fatalf("%s: group %d holds %d objects", when, i, g.n)
			}
			if i > 0 && st.groups[i-1].lastKey() >= g.firstKey() {
				t.Fatalf("%s: groups %d and %d out of order", when, i-1, i)
			}
		}
	}

	st := newStore(engine.NewRenderer(kind, gvk, nil), 0, 1)
	st.synced = true
	// Namespaces of which one is a prefix of another: "app-system/" sorts
	// before "app/" in the API server's order.
	namespaces := []string{"app", "app-system", "app2", "b"}
	// A LIST in order but for a few objects (a cache that does not sort).
	var listed []map[string]any
	for i := range 300 {
		ns, name := namespaces[i%3], fmt.Sprintf("w%03d", i)
		o := widget(ns, name)
		model[objectKey(o)] = o
		listed = append(listed, o)
	}
	slices.SortFunc(listed, func(a, b map[string]any) int { return cmp.Compare(objectKey(a), objectKey(b)) })
	listed[10], listed[250] = listed[250], listed[10]
	b := st.begin()
	for _, o := range listed {
		st.add(b, o)
	}
	st.commit(b, nil)
	check(st, "after the LIST")

	// Watch events: new objects between others (groups split), changes,
	// deletions, and deletions of what is not there.
	for round := range 10 {
		var evs events
		for range 40 {
			ns, name := namespaces[rng.IntN(4)], fmt.Sprintf("w%03d", rng.IntN(400))
			k := ns + "/" + name
			switch old, ok := model[k]; {
			case ok && rng.IntN(3) == 0:
				delete(model, k)
				evs = append(evs, source.Event{Type: "DELETED", Object: old})
			case ok:
				model[k] = widget(ns, name)
				evs = append(evs, source.Event{Type: "MODIFIED", Object: model[k]})
			case rng.IntN(5) == 0:
				evs = append(evs, source.Event{Type: "DELETED", Object: widget(ns, name)})
			default:
				model[k] = widget(ns, name)
				evs = append(evs, source.Event{Type: "ADDED", Object: model[k]})
			}
		}
		if _, err := st.follow(&evs); err != io.EOF {
			t.Fatalf("round %d: follow ended with %v", round, err)
		}
		check(st, fmt.Sprintf("after round %d of events", round))
	}
	// Many objects between two neighbours: their group must split (check
	// fails on a group of more than 2*groupSize).
	var burst events
	for i := range 3 * groupSize {
		name := fmt.Sprintf("w001-%03d", i)
		model["app/"+name] = widget("app", name)
		burst = append(burst, source.Event{Type: "ADDED", Object: model["app/"+name]})
	}
	_, _ = st.follow(&burst)
	check(st, "after a burst of objects in one group")
	if len(st.groups) < 2 {
		t.Errorf("%d objects in %d groups: groups are not being used", len(model), len(st.groups))
	}

	// Every object deleted: no group is left.
	var evs events
	for _, o := range model {
		evs = append(evs, source.Event{Type: "DELETED", Object: o})
	}
	clear(model)
	_, _ = st.follow(&evs)
	check(st, "after deleting everything")
	if len(st.groups) != 0 {
		t.Errorf("%d groups left after every object was deleted", len(st.groups))
	}
}

// A group that cannot be read back (a bug, never a cluster state) ends the
// watch with an error, after which the scope is read anew, instead of
// panicking or serving a wrong body.
func TestUnreadableGroupEndsTheWatch(t *testing.T) {
	plan, _, err := spec.Load("t.yaml", []byte(testSpec))
	if err != nil {
		t.Fatal(err)
	}
	gvk := engine.GVK{Group: "example.com", Version: "v1", Kind: "Widget"}
	st := newStore(engine.NewRenderer(plan.Kinds[0], gvk, nil), 0, 1)
	b := st.begin()
	for _, name := range []string{"w1", "w2", "w3"} {
		st.add(b, widget("a", name, 1).Object)
	}
	st.commit(b, nil)
	g := *st.groups[0]
	g.blob = []byte("not s2")
	st.groups[0] = &g
	evs := events{{Type: "MODIFIED", Object: widget("a", "w2", 2).Object, ResourceVersion: "7"}}
	rv, err := st.follow(&evs)
	if err == nil || err == io.EOF {
		t.Fatalf("follow over an unreadable group ended with %v, want an error", err)
	}
	if rv != "7" {
		t.Errorf("last version seen %q, want 7", rv)
	}
}

// A LIST in the API server's order (by <namespace>/<name>, so "app-system/*"
// before "app/*") is in the store's key order: every object takes the fast
// path of a sync, and the groups come out full, each packed once.
func TestListInAPIServerOrderPacksFullGroups(t *testing.T) {
	plan, _, err := spec.Load("t.yaml", []byte(testSpec))
	if err != nil {
		t.Fatal(err)
	}
	gvk := engine.GVK{Group: "example.com", Version: "v1", Kind: "Widget"}
	st := newStore(engine.NewRenderer(plan.Kinds[0], gvk, nil), 0, 1)
	var listed []string // etcd keys, in etcd's order
	for _, ns := range []string{"app", "app-system", "app.x", "ap"} {
		for i := range 2 * groupSize {
			listed = append(listed, fmt.Sprintf("%s/w%03d", ns, i))
		}
	}
	slices.Sort(listed)
	if i, j := slices.Index(listed, "app-system/w000"), slices.Index(listed, "app/w000"); i > j {
		t.Fatalf("etcd's order is not what this test is about: app-system/ at %d, app/ at %d", i, j)
	}
	b := st.begin()
	for _, k := range listed {
		ns, name, _ := strings.Cut(k, "/")
		st.add(b, widget(ns, name, 1).Object)
	}
	st.commit(b, nil)
	if len(st.groups) != len(listed)/groupSize {
		t.Fatalf("%d objects in %d groups, want %d full ones", len(listed), len(st.groups), len(listed)/groupSize)
	}
	for i, g := range st.groups {
		if g.n != groupSize {
			t.Errorf("group %d holds %d objects, want %d: objects took the out-of-order path", i, g.n, groupSize)
		}
	}
}
