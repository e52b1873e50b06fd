// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package graph

import (
	"cmp"
	"slices"

	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/spec"
)

// Label is one label of a graph sample.
type Label struct{ Name, Value string }

// Buffer receives the samples of one relation of one node, labels sorted by
// name. It is reused from call to call (and holds the graph's scratch), so
// rendering a relation allocates nothing once it has grown.
type Buffer struct {
	labels   []Label
	ends     []int
	values   []float64
	applied  []applied
	admitted []string
	kinds    []GK
}

// Len is how many samples the buffer holds.
func (b *Buffer) Len() int { return len(b.values) }

// Sample is sample i: its labels (valid until the buffer is reused) and
// value.
func (b *Buffer) Sample(i int) ([]Label, float64) {
	start := 0
	if i > 0 {
		start = b.ends[i-1]
	}
	return b.labels[start:b.ends[i]], b.values[i]
}

func (b *Buffer) reset() {
	b.labels, b.ends, b.values = b.labels[:0], b.ends[:0], b.values[:0]
}

func (b *Buffer) add(v float64, labels ...Label) {
	b.labels = append(b.labels, labels...)
	b.ends = append(b.ends, len(b.labels))
	b.values = append(b.values, v)
}

// Attachment states (the state label of ParentAttachment).
const (
	StateAccepted       = "Accepted"
	StateNotAccepted    = "NotAccepted"
	StatePending        = "Pending"
	StateParentNotFound = "ParentNotFound"
	StateStale          = "Stale"
)

// How a policy applies to a route (the via label of EffectivePolicy).
const (
	ViaRoute    = "route"
	ViaGateway  = "gateway"
	ViaListener = "listener"
)

// Values of the permitted label.
const (
	Permitted    = "true"
	NotPermitted = "false"
	// PermitUnknown: the ReferenceGrants of the referred namespace are not
	// read (ReferenceGrant is not in the spec, is down, or the namespace is
	// outside --namespaces), so the reference can be judged neither way.
	PermitUnknown = "unknown"
)

// coverageKinds get a PolicyCoverage sample on every route while their CRD
// is installed, whether or not any policy of them exists: the two kinds
// whose absence on a route is what an operator alerts on.
var coverageKinds = []GK{{"kuadrant.io", "AuthPolicy"}, {"kuadrant.io", "RateLimitPolicy"}}

// Samples puts the samples of relation rel for node n into buf, and reports
// through fail the references of n that could not be read for it (bad
// input: counted as evaluation errors, never fatal). A relation that does
// not apply to the node's role has no samples.
func (g *Graph) Samples(rel spec.Relation, n *Node, buf *Buffer, fail func(msg string)) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	buf.reset()
	var mine relation
	switch rel {
	case spec.ParentAttachment:
		mine = relParents
		if n.route != nil {
			g.parentAttachment(n, buf)
		}
	case spec.EffectivePolicy:
		mine = relPolicies
		if n.route != nil {
			for _, e := range g.effective(n, buf) {
				buf.add(1, Label{"policy_group", e.policy.GK.Group}, Label{"policy_kind", e.policy.GK.Kind},
					Label{"policy_name", e.policy.Name}, Label{"policy_namespace", e.policy.Namespace}, Label{"via", e.via})
			}
		}
	case spec.PolicyCoverage:
		if n.route != nil {
			g.coverage(n, buf)
		}
	case spec.BackendRefs:
		mine = relBackends
		if r := n.route; r != nil {
			for i, b := range r.backends {
				buf.add(1, Label{"backend_group", b.Group}, Label{"backend_kind", b.Kind}, Label{"backend_name", b.Name}, Label{"backend_namespace", b.Namespace},
					Label{"backend_port", b.port()}, Label{"permitted", g.permitted(n.Namespace, GK{GatewayGroup, n.GK.Kind}, b)}, Label{"rule", r.rule[i]})
			}
		}
	case spec.TargetResolved:
		mine = relTargets
		if n.role == Policy {
			g.targetResolved(n, buf)
		}
	case spec.ListenerCertificateRefs:
		mine = relCerts
		if p := n.parent; p != nil {
			from := GK{GatewayGroup, n.GK.Kind}
			for _, l := range p.listeners {
				for _, c := range l.certs {
					buf.add(1, Label{"listener_name", l.name}, Label{"permitted", g.permitted(n.Namespace, from, c)},
						Label{"ref_group", c.Group}, Label{"ref_kind", c.Kind}, Label{"ref_name", c.Name}, Label{"ref_namespace", c.Namespace})
				}
			}
		}
	}
	if fail != nil && mine != 0 {
		for _, p := range n.problems {
			if p.rel == mine {
				fail(p.msg)
			}
		}
	}
}

func addParent(buf *Buffer, p *Ref, state string) {
	buf.add(1, Label{"parent_group", p.Group}, Label{"parent_kind", p.Kind}, Label{"parent_name", p.Name}, Label{"parent_namespace", p.Namespace},
		Label{"parent_port", p.port()}, Label{"parent_section_name", p.Section}, Label{"state", state})
}

func (g *Graph) parentAttachment(n *Node, buf *Buffer) {
	r := n.route
	for i, p := range r.parents {
		state := StatePending
		switch {
		case g.parentNotFound(p):
			state = StateParentNotFound
		case r.verdicts[i] == accepted:
			state = StateAccepted
		case r.verdicts[i] == notAccepted:
			state = StateNotAccepted
		}
		addParent(buf, p, state)
	}
	for _, p := range r.stale {
		addParent(buf, p, StateStale)
	}
}

// parentNotFound: the parent is a Gateway or ListenerSet the graph knows
// completely, and it, or the listener the parentRef names, does not exist.
// Parents of other kinds (a Service, for mesh), of kinds not read, or in
// namespaces not read are judged from status alone.
func (g *Graph) parentNotFound(p *Ref) bool {
	switch RoleOf(p.gk()) {
	case Gateway, ListenerSet:
		known, found := g.exists(p.gk(), p.Namespace, p.Name, p.Section, p.Port)
		return known && !found
	}
	return false
}

type applied struct {
	policy *Node
	via    string
}

// effective is the policies that apply to a route (GEP-713 inheritance),
// each with how, sorted and without repeats, in buf's scratch.
func (g *Graph) effective(n *Node, buf *Buffer) []applied {
	out := buf.applied[:0]
	out = g.targeting(out, n.GK, n.Namespace, n.Name, ViaRoute, anySection, nil)
	for _, p := range n.route.parents {
		role := RoleOf(p.gk())
		if (role != Gateway && role != ListenerSet) || g.parentNotFound(p) {
			continue
		}
		// The listeners this parentRef attaches through: the one it names,
		// or every listener (on its port) that admits the route.
		match, listeners := namedSection, []string{p.Section}
		if p.Section == "" {
			match, listeners = oneOf, g.admittingListeners(n, p, buf.admitted[:0])
			buf.admitted = listeners
		}
		if role == Gateway {
			out = g.targeting(out, p.gk(), p.Namespace, p.Name, ViaGateway, noSection, nil)
			out = g.targeting(out, p.gk(), p.Namespace, p.Name, ViaListener, match, listeners)
			continue
		}
		// A ListenerSet: a policy on it or on its listeners applies through
		// its listeners; one on its Gateway as on the Gateway's own routes.
		// A policy on a listener of the Gateway does not.
		out = g.targeting(out, p.gk(), p.Namespace, p.Name, ViaListener, noSection, nil)
		out = g.targeting(out, p.gk(), p.Namespace, p.Name, ViaListener, match, listeners)
		if ls := g.node(p.gk(), p.Namespace, p.Name); ls != nil && ls.parent.gateway != nil {
			gw := ls.parent.gateway
			if RoleOf(gw.gk()) == Gateway {
				out = g.targeting(out, gw.gk(), gw.Namespace, gw.Name, ViaGateway, noSection, nil)
			}
		}
	}
	slices.SortFunc(out, func(a, b applied) int {
		return cmp.Or(cmp.Compare(a.policy.GK.Group, b.policy.GK.Group), cmp.Compare(a.policy.GK.Kind, b.policy.GK.Kind),
			cmp.Compare(a.policy.Namespace, b.policy.Namespace), cmp.Compare(a.policy.Name, b.policy.Name), cmp.Compare(a.via, b.via))
	})
	out = slices.Compact(out)
	buf.applied = out
	return out
}

// Which targets' sectionNames a policy must have to apply.
type sectionMatch uint8

const (
	anySection   sectionMatch = iota
	noSection                 // the whole object
	namedSection              // the one of sections (non-empty)
	oneOf                     // one of sections
)

// targeting appends the policies that target an object with a sectionName
// that match and sections accept.
func (g *Graph) targeting(out []applied, gk GK, namespace, name, via string, match sectionMatch, sections []string) []applied {
	for _, p := range g.byTarget[key4{gk, key{namespace, name}}] {
		for _, t := range p.policy {
			if t.gk() != gk || t.Namespace != namespace || t.Name != name {
				continue
			}
			ok := false
			switch match {
			case anySection:
				ok = true
			case noSection:
				ok = t.Section == ""
			case namedSection, oneOf:
				ok = t.Section != "" && slices.Contains(sections, t.Section)
			}
			if ok {
				out = append(out, applied{p, via})
				break
			}
		}
	}
	return out
}

func (g *Graph) node(gk GK, namespace, name string) *Node {
	if k := g.kinds[gk]; k != nil {
		return k.objects[key{namespace, name}]
	}
	return nil
}

// admittingListeners are the names of the listeners of the parent p names
// (on p's port, if set) whose allowedRoutes admit route n: its kind, and its
// namespace by `from: All` or `Same`. `Selector` needs the labels of
// Namespaces, which the exporter does not read: it counts as admitting.
func (g *Graph) admittingListeners(n *Node, p *Ref, out []string) []string {
	parent := g.node(p.gk(), p.Namespace, p.Name)
	if parent == nil || parent.parent == nil {
		return out
	}
	for _, l := range parent.parent.listeners {
		if p.Port != 0 && l.port != p.Port {
			continue
		}
		if l.from == "Same" && n.Namespace != parent.Namespace {
			continue
		}
		if l.from != "All" && l.from != "Same" && l.from != "Selector" {
			continue
		}
		if !l.admitsKind(n.GK) {
			continue
		}
		out = append(out, l.name)
	}
	return out
}

// admitsKind: allowedRoutes.kinds, or when empty the kinds the protocol
// carries (the Gateway API's defaults).
func (l *listener) admitsKind(gk GK) bool {
	if len(l.kinds) > 0 {
		return slices.Contains(l.kinds, gk)
	}
	if gk.Group != GatewayGroup {
		return false
	}
	switch l.protocol {
	case "HTTP", "HTTPS":
		return gk.Kind == "HTTPRoute" || gk.Kind == "GRPCRoute"
	case "TLS":
		return gk.Kind == "TLSRoute"
	case "TCP":
		return gk.Kind == "TCPRoute"
	case "UDP":
		return gk.Kind == "UDPRoute"
	}
	return false
}

func (g *Graph) coverage(n *Node, buf *Buffer) {
	kinds := buf.kinds[:0]
	defer func() { buf.kinds = kinds }()
	for _, gk := range coverageKinds {
		if k := g.kinds[gk]; k != nil && k.state == Served {
			kinds = append(kinds, gk)
		}
	}
	for gk := range g.covering {
		if !slices.Contains(kinds, gk) {
			kinds = append(kinds, gk)
		}
	}
	if len(kinds) == 0 {
		return
	}
	slices.SortFunc(kinds, func(a, b GK) int { return cmp.Or(cmp.Compare(a.Group, b.Group), cmp.Compare(a.Kind, b.Kind)) })
	eff := g.effective(n, buf)
	for _, gk := range kinds {
		v := 0.0
		if slices.ContainsFunc(eff, func(a applied) bool { return a.policy.GK == gk }) ||
			(isKuadrant(gk.Group) && contains(n.route.affected, gk.Kind)) {
			v = 1
		}
		buf.add(v, Label{"policy_group", gk.Group}, Label{"policy_kind", gk.Kind})
	}
}

// isKuadrant: Kuadrant's policy controller marks the routes its policies
// affect with kuadrant.io/<Kind>Affected conditions.
func isKuadrant(group string) bool {
	return group == "kuadrant.io" || group == "extensions.kuadrant.io"
}

func (g *Graph) targetResolved(n *Node, buf *Buffer) {
	for _, t := range n.policy {
		known, found := g.exists(t.gk(), t.Namespace, t.Name, t.Section, 0)
		if !known {
			continue
		}
		v := 0.0
		if found {
			v = 1
		}
		labels := [5]Label{{"target_group", t.Group}, {"target_kind", t.Kind}, {"target_name", t.Name}}
		k := 3
		if t.HasNamespace {
			labels[k] = Label{"target_namespace", t.Namespace}
			k++
		}
		if t.HasSection {
			labels[k] = Label{"target_section_name", t.Section}
			k++
		}
		buf.add(v, labels[:k]...)
	}
}

// permitted judges a reference from an object of kind from in namespace ns:
// same namespace, or a ReferenceGrant in the referred namespace that lists
// the referring kind and namespace, and the referred kind (and name, if it
// names one).
func (g *Graph) permitted(ns string, from GK, r *Ref) string {
	if r.Namespace == ns {
		return Permitted
	}
	if k := g.kinds[grantKind]; k == nil || k.state == Unknown || !g.inScope(r.Namespace) {
		return PermitUnknown
	}
	for _, gr := range g.grants[r.Namespace] {
		if !slices.ContainsFunc(gr.grant.from, func(f grantFrom) bool {
			return f.group == from.Group && f.kind == from.Kind && f.namespace == ns
		}) {
			continue
		}
		if slices.ContainsFunc(gr.grant.to, func(t grantTo) bool {
			return t.group == r.Group && t.kind == r.Kind && (t.name == "" || t.name == r.Name)
		}) {
			return Permitted
		}
	}
	return NotPermitted
}

// LabelNames are the labels a relation's samples carry (besides the object's
// own), for documentation.
func LabelNames(rel spec.Relation) []string {
	switch rel {
	case spec.ParentAttachment:
		return []string{"parent_group", "parent_kind", "parent_name", "parent_namespace", "parent_port", "parent_section_name", "state"}
	case spec.EffectivePolicy:
		return []string{"policy_group", "policy_kind", "policy_name", "policy_namespace", "via"}
	case spec.PolicyCoverage:
		return []string{"policy_group", "policy_kind"}
	case spec.BackendRefs:
		return []string{"backend_group", "backend_kind", "backend_name", "backend_namespace", "backend_port", "permitted", "rule"}
	case spec.TargetResolved:
		return []string{"target_group", "target_kind", "target_name", "target_namespace", "target_section_name"}
	case spec.ListenerCertificateRefs:
		return []string{"listener_name", "permitted", "ref_group", "ref_kind", "ref_name", "ref_namespace"}
	}
	return nil
}
