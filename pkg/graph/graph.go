// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

// Package graph is the attachment graph: how the objects the exporter reads
// refer to each other (routes to their parent Gateways and ListenerSets,
// policies to their targets, references across namespaces to the
// ReferenceGrants that permit them), and what follows from it for each
// object: the relations of spec.Relation, which graph families report.
//
// Both collection modes and `render` feed the same Graph: list mode builds
// one per collection from its LISTs, watch mode keeps one up to date from its
// watches (Insert, Delete, Sweep) and re-renders what a change affects
// (TakeDirty), and render builds one from its input. A graph only ever holds
// the facts of its nodes (Extract), never the objects.
package graph

import (
	"slices"
	"strconv"
	"strings"
	"sync"
)

// KindState says what the graph knows of a kind's objects.
type KindState uint8

const (
	// Unknown: not read, or not read completely (the kind is down): the
	// graph cannot tell whether an object of it exists.
	Unknown KindState = iota
	// Served: every object of the kind (in the namespaces read) is in the
	// graph.
	Served
	// NotServed: the API server serves no such kind: no object of it exists.
	NotServed
)

// Graph is the index of nodes, safe for concurrent use.
type Graph struct {
	mu      sync.RWMutex
	kinds   map[GK]*kindIndex
	refs    map[Ref]*Ref
	strs    map[string]string
	inScope func(namespace string) bool
	// byTarget finds the policies that target an object.
	byTarget map[key4][]*Node
	// covering counts, per policy kind, its policies that target a route,
	// a Gateway or a ListenerSet: such a kind gets policy coverage samples.
	covering map[GK]int
	// grants are the ReferenceGrants by namespace.
	grants map[string][]*Node
	stamp  uint64

	// track: remember which objects a change affects (watch mode).
	track bool
	dirty map[GK]map[key]struct{}
}

type key struct{ ns, name string }

type key4 struct {
	gk GK
	key
}

type kindIndex struct {
	state      KindState
	namespaced bool
	objects    map[key]*Node
}

// New makes an empty graph. inScope tells whether a namespace is read at all
// (--namespaces, --namespaces-denylist); nil means every namespace. With
// track, the graph remembers which objects each change affects, for
// TakeDirty.
func New(inScope func(namespace string) bool, track bool) *Graph {
	if inScope == nil {
		inScope = func(string) bool { return true }
	}
	return &Graph{kinds: map[GK]*kindIndex{}, refs: map[Ref]*Ref{}, strs: map[string]string{},
		inScope: inScope, byTarget: map[key4][]*Node{}, covering: map[GK]int{}, grants: map[string][]*Node{},
		track: track, dirty: map[GK]map[key]struct{}{}}
}

func (g *Graph) kind(gk GK) *kindIndex {
	k := g.kinds[gk]
	if k == nil {
		k = &kindIndex{namespaced: true, objects: map[key]*Node{}}
		g.kinds[gk] = k
	}
	return k
}

// SetKind says what the graph knows of a kind: whether it was read
// completely, and whether its objects are namespaced. A kind never set is
// Unknown.
func (g *Graph) SetKind(gk GK, state KindState, namespaced bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	k := g.kind(gk)
	if k.state == state && k.namespaced == namespaced {
		return
	}
	k.state, k.namespaced = state, namespaced
	if state == NotServed {
		for key, n := range k.objects {
			g.unindex(n)
			delete(k.objects, key)
		}
	}
	// Whether a kind can be judged changes what every relation says:
	// rare enough (a sync, a CRD coming or going) to re-render all.
	g.markAll()
}

// KindState is what SetKind last said of gk.
func (g *Graph) KindState(gk GK) KindState {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if k := g.kinds[gk]; k != nil {
		return k.state
	}
	return Unknown
}

// Stamp is the graph's clock: nodes inserted from now on are newer than it
// (see Sweep).
func (g *Graph) Stamp() uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.stamp++
	return g.stamp
}

// Put reads an object of kind gk into the graph (Extract, then Insert, with
// no copy of what the graph already holds), and returns its node.
func (g *Graph) Put(gk GK, obj map[string]any) *Node {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := extract(GK{g.str(gk.Group), g.str(gk.Kind)}, obj, g.str(str(metaOf(obj), "namespace")), g.internValue)
	g.adopted(n)
	return g.insert(n)
}

// Insert adds a node made by Extract, replacing the one of the same kind,
// namespace and name, and returns the node as kept (its references
// interned).
func (g *Graph) Insert(n *Node) *Node {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.adopt(n)
	return g.insert(n)
}

func (g *Graph) insert(n *Node) *Node {
	k := g.kind(n.GK)
	kk := key{n.Namespace, n.Name}
	old := k.objects[kk]
	if old != nil {
		g.unindex(old)
	}
	k.objects[kk] = n
	g.index(n)
	if g.track {
		g.changed(old, n)
	}
	return n
}

// Delete removes a node, if the graph has it.
func (g *Graph) Delete(gk GK, namespace, name string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	k := g.kinds[gk]
	if k == nil {
		return
	}
	kk := key{namespace, name}
	old := k.objects[kk]
	if old == nil {
		return
	}
	delete(k.objects, kk)
	g.unindex(old)
	if g.track {
		g.changed(old, nil)
		delete(g.dirty[gk], kk)
	}
}

// Sweep removes the nodes of gk in namespace ("" for all) inserted before
// stamp: what a relist that began at stamp did not see any more.
func (g *Graph) Sweep(gk GK, namespace string, stamp uint64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	k := g.kinds[gk]
	if k == nil {
		return
	}
	for kk, n := range k.objects {
		if n.stamp < stamp && (namespace == "" || kk.ns == namespace) {
			delete(k.objects, kk)
			g.unindex(n)
			if g.track {
				g.changed(n, nil)
				delete(g.dirty[gk], kk)
			}
		}
	}
}

// Forget drops a kind the exporter no longer reads: its nodes go and it is
// Unknown again.
func (g *Graph) Forget(gk GK) {
	g.mu.Lock()
	defer g.mu.Unlock()
	k := g.kinds[gk]
	if k == nil {
		return
	}
	for _, n := range k.objects {
		g.unindex(n)
	}
	delete(g.kinds, gk)
	delete(g.dirty, gk)
	g.markAll()
}

// Lookup finds a node.
func (g *Graph) Lookup(gk GK, namespace, name string) *Node {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if k := g.kinds[gk]; k != nil {
		return k.objects[key{namespace, name}]
	}
	return nil
}

// Len is how many nodes the graph holds.
func (g *Graph) Len() int {
	g.mu.RLock()
	defer g.mu.RUnlock()
	n := 0
	for _, k := range g.kinds {
		n += len(k.objects)
	}
	return n
}

// adopt makes the node's strings and references the graph's own: shared
// with every other node that has the same, and never pointing into a
// decoder's buffer.
func (g *Graph) adopt(n *Node) {
	n.GK = GK{g.str(n.GK.Group), g.str(n.GK.Kind)}
	n.Namespace = g.str(n.Namespace)
	if r := n.route; r != nil {
		g.internAll(r.parents)
		g.internAll(r.stale)
		g.internAll(r.backends)
	}
	if p := n.parent; p != nil {
		if p.gateway != nil {
			p.gateway = g.intern(p.gateway)
		}
		for i := range p.listeners {
			g.internAll(p.listeners[i].certs)
		}
	}
	g.internAll(n.policy)
	g.adopted(n)
}

// adopted finishes a node made with the graph's strings and references.
func (g *Graph) adopted(n *Node) {
	g.stamp++
	n.stamp = g.stamp
	if r := n.route; r != nil {
		for i, k := range r.affected {
			r.affected[i] = g.str(k)
		}
	}
	if p := n.parent; p != nil {
		for i := range p.listeners {
			l := &p.listeners[i]
			l.protocol, l.from = g.str(l.protocol), g.str(l.from)
		}
	}
}

func (g *Graph) internAll(refs []*Ref) {
	for i, r := range refs {
		refs[i] = g.intern(r)
	}
}

func (g *Graph) intern(r *Ref) *Ref { return g.internValue(*r) }

// internValue is the graph's one copy of a reference (its strings too).
func (g *Graph) internValue(r Ref) *Ref {
	if c, ok := g.refs[r]; ok {
		return c
	}
	c := &Ref{Group: g.str(r.Group), Kind: g.str(r.Kind), Namespace: g.str(r.Namespace), Name: g.str(r.Name), Section: g.str(r.Section),
		Port: r.Port, HasNamespace: r.HasNamespace, HasSection: r.HasSection}
	if c.Port != 0 {
		c.portLabel = strconv.Itoa(int(c.Port))
	}
	if len(g.refs) < 1<<20 {
		key := *c
		key.portLabel = ""
		g.refs[key] = c
	}
	return c
}

// str interns a string that many nodes share (groups, kinds, namespaces,
// parents' names); the table is bounded, past which strings are copied.
func (g *Graph) str(s string) string {
	if c, ok := g.strs[s]; ok {
		return c
	}
	c := strings.Clone(s)
	if len(g.strs) < 1<<20 {
		g.strs[c] = c
	}
	return c
}

var grantKind = GK{GatewayGroup, "ReferenceGrant"}

func (g *Graph) index(n *Node) {
	if n.role == Grant {
		g.grants[n.Namespace] = append(g.grants[n.Namespace], n)
		return
	}
	if n.role != Policy {
		return
	}
	covers := false
	for _, t := range n.policy {
		k := key4{t.gk(), key{t.Namespace, t.Name}}
		g.byTarget[k] = append(g.byTarget[k], n)
		switch RoleOf(t.gk()) {
		case Route, Gateway, ListenerSet:
			covers = true
		}
	}
	if covers {
		if g.covering[n.GK]++; g.covering[n.GK] == 1 && g.track {
			g.markRoutes(func(*Node) bool { return true })
		}
	}
}

func (g *Graph) unindex(n *Node) {
	if n.role == Grant {
		list := slices.DeleteFunc(g.grants[n.Namespace], func(x *Node) bool { return x == n })
		if len(list) == 0 {
			delete(g.grants, n.Namespace)
		} else {
			g.grants[n.Namespace] = list
		}
		return
	}
	if n.role != Policy {
		return
	}
	covers := false
	for _, t := range n.policy {
		k := key4{t.gk(), key{t.Namespace, t.Name}}
		list := slices.DeleteFunc(g.byTarget[k], func(p *Node) bool { return p == n })
		if len(list) == 0 {
			delete(g.byTarget, k)
		} else {
			g.byTarget[k] = list
		}
		switch RoleOf(t.gk()) {
		case Route, Gateway, ListenerSet:
			covers = true
		}
	}
	if covers {
		if g.covering[n.GK]--; g.covering[n.GK] <= 0 {
			delete(g.covering, n.GK)
			if g.track {
				g.markRoutes(func(*Node) bool { return true })
			}
		}
	}
}

// exists reports whether the graph can tell that an object exists (known)
// and whether it does; a sectionName must name a listener of a Gateway or
// ListenerSet, or a rule of a route.
func (g *Graph) exists(gk GK, namespace, name, section string, port int32) (known, found bool) {
	k := g.kinds[gk]
	if k == nil || k.state == Unknown {
		return false, false
	}
	if !k.namespaced {
		namespace = ""
	} else if !g.inScope(namespace) {
		return false, false
	}
	n := k.objects[key{namespace, name}]
	if n == nil {
		return true, false
	}
	if section == "" && port == 0 {
		return true, true
	}
	switch {
	case n.parent != nil:
		return true, n.parent.listener(section, port) >= 0
	case n.route != nil && port == 0:
		return true, contains(n.route.ruleNames, section)
	}
	return true, true
}

// listener is the index of the listener a parentRef's sectionName and port
// select, or -1.
func (p *parentFacts) listener(section string, port int32) int {
	for i := range p.listeners {
		l := &p.listeners[i]
		if (section == "" || l.name == section) && (port == 0 || l.port == port) {
			return i
		}
	}
	return -1
}
