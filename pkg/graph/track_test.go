// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package graph_test

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/graph"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/spec"
)

var relations = []spec.Relation{spec.ParentAttachment, spec.EffectivePolicy, spec.PolicyCoverage, spec.BackendRefs,
	spec.TargetResolved, spec.ListenerCertificateRefs}

// render is everything the graph says of one object.
func render(g *graph.Graph, gk graph.GK, ns, name string) string {
	var b strings.Builder
	for _, rel := range relations {
		for _, l := range lines(g, rel, gk, ns, name) {
			fmt.Fprintf(&b, "%s %s\n", rel, l)
		}
	}
	return b.String()
}

type objKey struct {
	gk       graph.GK
	ns, name string
}

// variants are the objects the random changes pick from: each name has a
// few versions, which differ in what the graph reads (listeners, targets,
// parents, grants) or only in status.
func variants() map[objKey][]string {
	out := map[objKey][]string{}
	add := func(gk graph.GK, ns, name string, docs ...string) {
		out[objKey{gk, ns, name}] = docs
	}
	gw := func(name string, listeners string) string {
		return fmt.Sprintf("apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: %s, namespace: infra}\nspec: {listeners: %s}\n", name, listeners)
	}
	for _, name := range []string{"gw1", "gw2"} {
		add(gatewayGK, "infra", name,
			gw(name, `[{name: http, port: 80, protocol: HTTP, allowedRoutes: {namespaces: {from: All}}}]`),
			gw(name, `[{name: http, port: 80, protocol: HTTP}, {name: https, port: 443, protocol: HTTPS, tls: {certificateRefs: [{name: c, namespace: certs}]}}]`),
			gw(name, `[{name: http, port: 80, protocol: HTTP, allowedRoutes: {namespaces: {from: All}}}]`)+"status: {listeners: [{name: http, attachedRoutes: 3}]}\n")
	}
	ls := func(gwName string) string {
		return fmt.Sprintf("apiVersion: gateway.networking.k8s.io/v1\nkind: ListenerSet\nmetadata: {name: ls, namespace: infra}\nspec: {parentRef: {name: %s}, listeners: [{name: extra, protocol: HTTP, allowedRoutes: {namespaces: {from: All}}}]}\n", gwName)
	}
	add(lsGK, "infra", "ls", ls("gw1"), ls("gw2"))
	route := func(ns, name, parents, backends, status string) string {
		return fmt.Sprintf("apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: %s, namespace: %s}\nspec: {parentRefs: %s, rules: [{name: r, backendRefs: %s}]}\nstatus: %s\n", name, ns, parents, backends, status)
	}
	for i, ns := range []string{"app", "infra", "app"} {
		name := fmt.Sprintf("route%d", i)
		add(httpGK, ns, name,
			route(ns, name, `[{name: gw1, namespace: infra, sectionName: http}]`, `[{name: s}]`, `{}`),
			route(ns, name, `[{name: gw2, namespace: infra}]`, `[{name: s, namespace: backends}]`, `{parents: [{parentRef: {name: gw2, namespace: infra}, conditions: [{type: Accepted, status: "True"}]}]}`),
			route(ns, name, `[{kind: ListenerSet, name: ls, namespace: infra}, {name: gw1, namespace: infra, sectionName: https}]`, `[{name: s, namespace: backends}]`, `{parents: [{parentRef: {name: gone, namespace: infra}, conditions: [{type: Accepted, status: "True"}]}]}`),
			route(ns, name, `[{name: gw1, namespace: infra}]`, `[]`, `{parents: [{parentRef: {name: gw1, namespace: infra}, conditions: [{type: kuadrant.io/AuthPolicyAffected, status: "True"}]}]}`))
	}
	pol := func(gk graph.GK, name, target string) string {
		return fmt.Sprintf("apiVersion: %s/v1\nkind: %s\nmetadata: {name: %s, namespace: infra}\nspec: {targetRef: %s}\n", gk.Group, gk.Kind, name, target)
	}
	for _, gk := range []graph.GK{authGK, dnsGK} {
		add(gk, "infra", "p",
			pol(gk, "p", `{group: gateway.networking.k8s.io, kind: Gateway, name: gw1}`),
			pol(gk, "p", `{group: gateway.networking.k8s.io, kind: Gateway, name: gw1, sectionName: https}`),
			pol(gk, "p", `{group: gateway.networking.k8s.io, kind: HTTPRoute, name: route1}`),
			pol(gk, "p", `{group: gateway.networking.k8s.io, kind: ListenerSet, name: ls}`),
			pol(gk, "p", `{group: gateway.networking.k8s.io, kind: Gateway, name: gw2}`)+"status: {conditions: [{type: Accepted, status: \"True\"}]}\n")
	}
	grant := func(to string) string {
		return "apiVersion: gateway.networking.k8s.io/v1beta1\nkind: ReferenceGrant\nmetadata: {name: g, namespace: backends}\nspec: {from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: app}], to: " + to + "}\n"
	}
	add(grantGK, "backends", "g", grant(`[{group: "", kind: Service}]`), grant(`[{group: "", kind: Service, name: other}]`))
	certGrant := "apiVersion: gateway.networking.k8s.io/v1beta1\nkind: ReferenceGrant\nmetadata: {name: c, namespace: certs}\nspec: {from: [{group: gateway.networking.k8s.io, kind: Gateway, namespace: infra}], to: [{group: \"\", kind: Secret}]}\n"
	add(grantGK, "certs", "c", certGrant)
	return out
}

// TestTrackingMatchesFromScratch is watch mode's contract with the graph:
// after every change, re-rendering the changed object and what TakeDirty
// returns leaves each object's families as rendering everything anew would,
// and as a graph built from scratch from the same objects says.
func TestTrackingMatchesFromScratch(t *testing.T) {
	pool := variants()
	keys := slices.SortedFunc(maps.Keys(pool), func(a, b objKey) int {
		return strings.Compare(fmt.Sprint(a), fmt.Sprint(b))
	})
	kinds := []graph.GK{gatewayGK, lsGK, httpGK, grantGK, authGK, dnsGK}
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 1))
		g := graph.New(nil, true)
		live := map[objKey]string{}     // the current version of each object
		rendered := map[objKey]string{} // what "watch mode" serves
		state := map[graph.GK]graph.KindState{}
		apply := func() {
			for _, gk := range kinds {
				for _, d := range g.TakeDirty(gk, "") {
					k := objKey{gk, d.Namespace, d.Name}
					if _, ok := live[k]; ok {
						rendered[k] = render(g, gk, d.Namespace, d.Name)
					}
				}
			}
		}
		for step := range 300 {
			k := keys[rng.IntN(len(keys))]
			switch r := rng.IntN(10); {
			case r < 6:
				if state[k.gk] == graph.NotServed {
					continue // the API server serves no such kind: no object comes
				}
				doc := pool[k][rng.IntN(len(pool[k]))]
				g.Insert(graph.Extract(k.gk, parse(t, doc)[0]))
				live[k] = doc
				rendered[k] = render(g, k.gk, k.ns, k.name)
			case r < 9:
				g.Delete(k.gk, k.ns, k.name)
				delete(live, k)
				delete(rendered, k)
			default:
				gk := kinds[rng.IntN(len(kinds))]
				s := graph.KindState(rng.IntN(2) + 1) // Served or NotServed
				if s == graph.NotServed {
					for lk := range live {
						if lk.gk == gk {
							delete(live, lk)
							delete(rendered, lk)
						}
					}
				}
				g.SetKind(gk, s, true)
				state[gk] = s
			}
			apply()

			scratch := graph.New(nil, false)
			for lk, doc := range live {
				scratch.Insert(graph.Extract(lk.gk, parse(t, doc)[0]))
			}
			for gk, s := range state {
				scratch.SetKind(gk, s, true)
			}
			for lk := range live {
				want := render(scratch, lk.gk, lk.ns, lk.name)
				if got := render(g, lk.gk, lk.ns, lk.name); got != want {
					t.Fatalf("seed %d step %d: the tracked graph says of %v:\n%s\nbuilt from scratch:\n%s", seed, step, lk, got, want)
				}
				if rendered[lk] != want {
					t.Fatalf("seed %d step %d: %v was not re-rendered after a change that affects it:\nserved:\n%s\nnow:\n%s", seed, step, lk, rendered[lk], want)
				}
			}
			if g.Len() != len(live) {
				t.Fatalf("seed %d step %d: graph holds %d nodes for %d objects", seed, step, g.Len(), len(live))
			}
		}
	}
}

// A status-only change of a Gateway (what a busy cluster does all the time)
// marks nothing else dirty; a change of its listeners marks its routes.
func TestStatusChangesMarkNothing(t *testing.T) {
	pool := variants()
	g := graph.New(nil, true)
	for _, gk := range []graph.GK{gatewayGK, httpGK} {
		g.SetKind(gk, graph.Served, true)
	}
	gw := func(v int) map[string]any { return parse(t, pool[objKey{gatewayGK, "infra", "gw1"}][v])[0] }
	g.Insert(graph.Extract(gatewayGK, gw(0)))
	g.Insert(graph.Extract(httpGK, parse(t, pool[objKey{httpGK, "app", "route0"}][0])[0]))
	g.TakeDirty(gatewayGK, "")
	g.TakeDirty(httpGK, "")
	g.Insert(graph.Extract(gatewayGK, gw(2))) // same listeners, new status
	if d := g.TakeDirty(httpGK, ""); len(d) != 0 {
		t.Errorf("a status change marked %v", d)
	}
	g.Insert(graph.Extract(gatewayGK, gw(1))) // listeners changed
	if d := g.TakeDirty(httpGK, ""); !slices.Equal(d, []graph.Dirty{{Namespace: "app", Name: "route0"}}) {
		t.Errorf("a listener change marked %v, want route0", d)
	}
}

func TestSweep(t *testing.T) {
	g := graph.New(nil, true)
	for _, name := range []string{"a", "b"} {
		g.Insert(graph.Extract(httpGK, map[string]any{"metadata": map[string]any{"name": name, "namespace": "x"}}))
	}
	g.Insert(graph.Extract(httpGK, map[string]any{"metadata": map[string]any{"name": "c", "namespace": "y"}}))
	stamp := g.Stamp()
	g.Insert(graph.Extract(httpGK, map[string]any{"metadata": map[string]any{"name": "b", "namespace": "x"}}))
	g.Sweep(httpGK, "x", stamp) // a relist of namespace x saw only b
	if g.Lookup(httpGK, "x", "a") != nil || g.Lookup(httpGK, "x", "b") == nil || g.Lookup(httpGK, "y", "c") == nil {
		t.Errorf("after the sweep of x: a %v, b %v, c %v", g.Lookup(httpGK, "x", "a"), g.Lookup(httpGK, "x", "b"), g.Lookup(httpGK, "y", "c"))
	}
}
