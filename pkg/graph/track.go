// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package graph

import (
	"slices"
	"strings"
)

// Watch mode keeps rendered families per object; what a change to one object
// means for the families of others is tracked here. Only facts count: a
// Gateway whose status changed (attachedRoutes, conditions) affects nothing
// but itself, so the frequent updates of a busy cluster mark nothing.

// Dirty is an object whose graph families must be rendered again.
type Dirty struct{ Namespace, Name string }

// TakeDirty returns, in (namespace, name) order, the objects of gk in
// namespace ("" for every namespace) whose graph families changed since they
// were last taken, and forgets them.
func (g *Graph) TakeDirty(gk GK, namespace string) []Dirty {
	g.mu.Lock()
	defer g.mu.Unlock()
	d := g.dirty[gk]
	if len(d) == 0 {
		return nil
	}
	var out []Dirty
	for k := range d {
		if namespace == "" || k.ns == namespace {
			out = append(out, Dirty{k.ns, k.name})
			delete(d, k)
		}
	}
	slices.SortFunc(out, func(a, b Dirty) int {
		if c := strings.Compare(a.Namespace, b.Namespace); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out
}

// Marked reports whether objects of gk wait for TakeDirty: a cheap look
// before a caller takes its own locks.
func (g *Graph) Marked(gk GK) bool {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return len(g.dirty[gk]) > 0
}

func (g *Graph) mark(n *Node) {
	if !g.track {
		return
	}
	d := g.dirty[n.GK]
	if d == nil {
		d = map[key]struct{}{}
		g.dirty[n.GK] = d
	}
	d[key{n.Namespace, n.Name}] = struct{}{}
}

// markAll marks every object of every kind that has graph families of its
// own: routes, policies, Gateways and ListenerSets.
func (g *Graph) markAll() {
	if !g.track {
		return
	}
	for _, k := range g.kinds {
		for _, n := range k.objects {
			if n.role != Other && n.role != Grant {
				g.mark(n)
			}
		}
	}
}

func (g *Graph) markRoutes(match func(*Node) bool) {
	for gk, k := range g.kinds {
		if RoleOf(gk) != Route {
			continue
		}
		for _, n := range k.objects {
			if match(n) {
				g.mark(n)
			}
		}
	}
}

// markTargeting marks the policies that target an object.
func (g *Graph) markTargeting(gk GK, namespace, name string) {
	for _, p := range g.byTarget[key4{gk, key{namespace, name}}] {
		g.mark(p)
	}
}

// markAttached marks the routes attached to a Gateway or ListenerSet: those
// whose parentRefs name it, and for a Gateway those naming one of its
// ListenerSets.
func (g *Graph) markAttached(gk GK, namespace, name string) {
	via := map[key4]bool{{gk, key{namespace, name}}: true}
	if RoleOf(gk) == Gateway {
		for lgk, k := range g.kinds {
			if RoleOf(lgk) != ListenerSet {
				continue
			}
			for kk, n := range k.objects {
				if gw := n.parent.gateway; gw != nil && gw.gk() == gk && gw.Namespace == namespace && gw.Name == name {
					via[key4{lgk, kk}] = true
				}
			}
		}
	}
	g.markRoutes(func(r *Node) bool {
		for _, p := range r.route.parents {
			if via[key4{p.gk(), key{p.Namespace, p.Name}}] {
				return true
			}
		}
		return false
	})
}

// changed marks what a change from old to new (either may be nil) affects
// besides the object itself, which its watch renders anyway.
func (g *Graph) changed(old, new *Node) {
	n := new
	if n == nil {
		n = old
	}
	existence := old == nil || new == nil
	switch n.role {
	case Route:
		if existence || !slices.Equal(old.route.ruleNames, new.route.ruleNames) {
			g.markTargeting(n.GK, n.Namespace, n.Name)
		}
	case Gateway, ListenerSet:
		if existence || !sameParent(old.parent, new.parent) {
			g.markAttached(n.GK, n.Namespace, n.Name)
			g.markTargeting(n.GK, n.Namespace, n.Name)
		}
	case Policy:
		if existence || !slices.Equal(old.policy, new.policy) {
			for _, o := range []*Node{old, new} {
				if o == nil {
					continue
				}
				for _, t := range o.policy {
					switch RoleOf(t.gk()) {
					case Route:
						if r := g.kinds[t.gk()]; r != nil {
							if rn := r.objects[key{t.Namespace, t.Name}]; rn != nil {
								g.mark(rn)
							}
						}
					case Gateway, ListenerSet:
						g.markAttached(t.gk(), t.Namespace, t.Name)
					}
				}
			}
		}
	case Grant:
		if existence || !sameGrant(old.grant, new.grant) {
			ns := n.Namespace
			g.markRoutes(func(r *Node) bool {
				for _, b := range r.route.backends {
					if b.Namespace == ns && r.Namespace != ns {
						return true
					}
				}
				return false
			})
			for gk, k := range g.kinds {
				if role := RoleOf(gk); role != Gateway && role != ListenerSet {
					continue
				}
				for _, p := range k.objects {
					if p.Namespace != ns && p.parent.certsIn(ns) {
						g.mark(p)
					}
				}
			}
		}
	default:
		if existence {
			g.markTargeting(n.GK, n.Namespace, n.Name)
		}
	}
}

func (p *parentFacts) certsIn(ns string) bool {
	for _, l := range p.listeners {
		for _, c := range l.certs {
			if c.Namespace == ns {
				return true
			}
		}
	}
	return false
}

func sameParent(a, b *parentFacts) bool {
	if a.gateway != b.gateway || len(a.listeners) != len(b.listeners) {
		return false
	}
	for i := range a.listeners {
		x, y := &a.listeners[i], &b.listeners[i]
		if x.name != y.name || x.port != y.port || x.protocol != y.protocol || x.from != y.from ||
			!slices.Equal(x.kinds, y.kinds) || !slices.Equal(x.certs, y.certs) {
			return false
		}
	}
	return true
}

func sameGrant(a, b *grantFacts) bool {
	return slices.Equal(a.from, b.from) && slices.Equal(a.to, b.to)
}
