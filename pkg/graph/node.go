// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package graph

import (
	"fmt"
	"strconv"
	"strings"
)

// The Gateway API's own group: the default group of parentRefs, and the
// group of the kinds whose roles the graph knows.
const (
	GatewayGroup      = "gateway.networking.k8s.io"
	experimentalGroup = "gateway.networking.x-k8s.io"
)

// GK is a group and kind: objects of a kind are one set whatever version
// they are read at.
type GK struct{ Group, Kind string }

func (gk GK) String() string { return gk.Kind + "." + gk.Group }

// Role is what the graph makes of a kind's objects.
type Role uint8

const (
	// Other objects only exist (a policy may target them).
	Other Role = iota
	Gateway
	ListenerSet
	Route
	Grant
	// Policy is a kind named *Policy (GEP-713's convention, which every
	// implementation's policies follow): its objects' spec.targetRef or
	// spec.targetRefs are their targets. Other kinds may have a targetRef
	// too (Kuadrant's DNSRecord does) without being policies.
	Policy
)

// RoleOf is the role of a kind's objects.
func RoleOf(gk GK) Role {
	switch gk.Group {
	case GatewayGroup:
		switch gk.Kind {
		case "Gateway":
			return Gateway
		case "ListenerSet":
			return ListenerSet
		case "HTTPRoute", "GRPCRoute", "TLSRoute", "TCPRoute", "UDPRoute":
			return Route
		case "ReferenceGrant":
			return Grant
		}
	case experimentalGroup:
		if gk.Kind == "XListenerSet" {
			return ListenerSet
		}
	}
	if strings.HasSuffix(gk.Kind, "Policy") {
		return Policy
	}
	return Other
}

// Ref is a reference as written in an object, with the API's defaults filled
// in. Refs are interned by the graph: equal references are one pointer.
type Ref struct {
	Group, Kind, Namespace, Name, Section string
	Port                                  int32 // 0: not set
	// Raw presence, for labels that show a reference as written
	// (target_info shows a targetRef's namespace only when it has one).
	HasNamespace, HasSection bool
	portLabel                string // Port as a label value, made when interned
}

func (r *Ref) gk() GK { return GK{r.Group, r.Kind} }

// port is Port as a label value.
func (r *Ref) port() string {
	if r.Port != 0 && r.portLabel == "" {
		return strconv.Itoa(int(r.Port)) // not interned (never rendered so)
	}
	return r.portLabel
}

// Node is what the graph keeps of one object: its identity and the facts
// of its role, nothing else.
type Node struct {
	GK              GK
	Namespace, Name string
	// Base is the renderer's: the object's own labels (labelsFromPath on
	// the object root) that a graph family carries, kept so that the
	// family can be rendered again without the object. Nil when they are
	// only its namespace and name.
	Base []string

	role   Role
	stamp  uint64 // when it was inserted (Sweep)
	route  *routeFacts
	parent *parentFacts // Gateway and ListenerSet
	policy []*Ref       // targets
	grant  *grantFacts
	// problems are the object's references that could not be read, by the
	// relation whose samples they are missing from: reported when it is
	// rendered.
	problems []problem
}

type problem struct {
	rel relation
	msg string
}

// relation mirrors spec.Relation without importing it here.
type relation uint8

const (
	relParents relation = iota + 1
	relPolicies
	relBackends
	relTargets
	relCerts
)

// Verdict is what a route's status says of one of its parentRefs.
type verdict uint8

const (
	// pending: no status entry for the parentRef carries Accepted.
	pending verdict = iota
	notAccepted
	accepted
)

type routeFacts struct {
	parents  []*Ref
	verdicts []verdict // per parent
	// stale are status.parents entries with an Accepted condition whose
	// parentRef matches no spec.parentRefs entry.
	stale []*Ref
	// affected are the kinds K of kuadrant.io/<K>Affected conditions that
	// are True in any status.parents entry.
	affected []string
	backends []*Ref
	// rule is, per backend, its rule's name or index.
	rule []string
	// ruleNames are the rules' names (for a targetRef's sectionName).
	ruleNames []string
}

type listener struct {
	name     string
	port     int32
	protocol string
	from     string // allowedRoutes.namespaces.from: All, Same (default), Selector
	kinds    []GK   // allowedRoutes.kinds; nil: by protocol
	certs    []*Ref
}

type parentFacts struct {
	listeners []listener
	// gateway is a ListenerSet's spec.parentRef; nil for a Gateway.
	gateway *Ref
}

type grantFacts struct {
	from []grantFrom
	to   []grantTo
}

type grantFrom struct{ group, kind, namespace string }
type grantTo struct{ group, kind, name string }

// Extract reads the facts of one object of kind gk (decoded as the graph's
// projection keeps it). Its strings are copied, or, for references, copied
// when the graph interns them (Insert): decoders may lend strings that point
// into a reused buffer. Malformed references are skipped and noted as the
// node's problems.
func Extract(gk GK, obj map[string]any) *Node {
	return extract(gk, obj, str(metaOf(obj), "namespace"), func(r Ref) *Ref { return &r })
}

func metaOf(obj map[string]any) map[string]any {
	md, _ := obj["metadata"].(map[string]any)
	return md
}

// extract reads the facts; keep makes a reference the node's (a copy, or the
// graph's interned one).
func extract(gk GK, obj map[string]any, namespace string, keep func(Ref) *Ref) *Node {
	n := &Node{GK: gk, Namespace: namespace, Name: clone(str(metaOf(obj), "name")), role: RoleOf(gk)}
	spec, _ := obj["spec"].(map[string]any)
	switch n.role {
	case Route:
		n.route = n.routeFacts(spec, obj["status"], keep)
	case Gateway, ListenerSet:
		n.parent = n.parentFacts(spec, keep)
	case Grant:
		n.grant = n.grantFacts(spec)
	case Policy:
		n.policy = n.targets(spec, keep)
	}
	return n
}

func (n *Node) fail(rel relation, format string, args ...any) {
	if len(n.problems) < 8 {
		n.problems = append(n.problems, problem{rel, fmt.Sprintf(format, args...)})
	}
}

func str(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

func clone(s string) string { return strings.Clone(s) }

// ref reads a reference (parentRef, backendRef, certificateRef, targetRef):
// group and kind default to the given values when absent, namespace to
// the referring object's. ok is false when it has no name.
func (n *Node) ref(v any, group, kind string) (Ref, bool) {
	m, isMap := v.(map[string]any)
	if !isMap {
		return Ref{}, false
	}
	r := Ref{Group: group, Kind: kind, Namespace: n.Namespace}
	if g, has := m["group"].(string); has {
		r.Group = g
	}
	if k, has := m["kind"].(string); has && k != "" {
		r.Kind = k
	}
	if ns, has := m["namespace"].(string); has && ns != "" {
		r.Namespace, r.HasNamespace = ns, true
	}
	if s, has := m["sectionName"].(string); has && s != "" {
		r.Section, r.HasSection = s, true
	}
	if p, has := m["port"].(int64); has && p > 0 && p < 1<<16 {
		r.Port = int32(p)
	}
	r.Name = str(m, "name")
	return r, r.Name != ""
}

func (n *Node) routeFacts(spec map[string]any, status any, keep func(Ref) *Ref) *routeFacts {
	f := &routeFacts{}
	refs, _ := spec["parentRefs"].([]any)
	for i, v := range refs {
		r, ok := n.ref(v, GatewayGroup, "Gateway")
		if !ok {
			n.fail(relParents, "spec.parentRefs[%d]: not a reference with a name", i)
			continue
		}
		f.parents = append(f.parents, keep(r))
	}
	f.verdicts = make([]verdict, len(f.parents))
	st, _ := status.(map[string]any)
	entries, _ := st["parents"].([]any)
	for i, v := range entries {
		e, _ := v.(map[string]any)
		r, ok := n.ref(e["parentRef"], GatewayGroup, "Gateway")
		if !ok {
			n.fail(relParents, "status.parents[%d].parentRef: not a reference with a name", i)
			continue
		}
		has, isTrue := false, false
		conds, _ := e["conditions"].([]any)
		for _, c := range conds {
			cm, _ := c.(map[string]any)
			t, s := str(cm, "type"), str(cm, "status")
			switch {
			case t == "Accepted":
				has = true
				isTrue = isTrue || s == "True"
			case s == "True" && strings.HasPrefix(t, "kuadrant.io/") && strings.HasSuffix(t, "Affected"):
				k := t[len("kuadrant.io/") : len(t)-len("Affected")]
				if k != "" && !contains(f.affected, k) {
					f.affected = append(f.affected, clone(k))
				}
			}
		}
		if !has {
			continue // another controller's entry (Kuadrant's): says nothing of attachment
		}
		matched := false
		for j, p := range f.parents {
			if sameRef(p, &r) {
				matched = true
				if isTrue {
					f.verdicts[j] = accepted
				} else if f.verdicts[j] == pending {
					f.verdicts[j] = notAccepted
				}
			}
		}
		if !matched {
			f.stale = append(f.stale, keep(r))
		}
	}
	rules, _ := spec["rules"].([]any)
	for i, v := range rules {
		rm, _ := v.(map[string]any)
		label := index(i)
		if name := str(rm, "name"); name != "" {
			label = clone(name)
			f.ruleNames = append(f.ruleNames, label)
		}
		backends, _ := rm["backendRefs"].([]any)
		for j, b := range backends {
			r, ok := n.ref(b, "", "Service")
			if !ok {
				n.fail(relBackends, "spec.rules[%d].backendRefs[%d]: not a reference with a name", i, j)
				continue
			}
			f.backends = append(f.backends, keep(r))
			f.rule = append(f.rule, label)
		}
	}
	return f
}

func (n *Node) parentFacts(spec map[string]any, keep func(Ref) *Ref) *parentFacts {
	f := &parentFacts{}
	if n.role == ListenerSet {
		r, ok := n.ref(spec["parentRef"], GatewayGroup, "Gateway")
		if ok {
			f.gateway = keep(r)
		} else {
			n.fail(relPolicies, "spec.parentRef: not a reference with a name")
		}
	}
	ls, _ := spec["listeners"].([]any)
	for i, v := range ls {
		lm, _ := v.(map[string]any)
		l := listener{name: clone(str(lm, "name")), protocol: clone(str(lm, "protocol")), from: "Same"}
		if p, ok := lm["port"].(int64); ok && p > 0 && p < 1<<16 {
			l.port = int32(p)
		}
		ar, _ := lm["allowedRoutes"].(map[string]any)
		nsm, _ := ar["namespaces"].(map[string]any)
		if from := str(nsm, "from"); from != "" {
			l.from = clone(from)
		}
		kinds, _ := ar["kinds"].([]any)
		for _, k := range kinds {
			km, _ := k.(map[string]any)
			gk := GK{GatewayGroup, str(km, "kind")}
			if g, has := km["group"].(string); has {
				gk.Group = g
			}
			if gk.Kind != "" {
				l.kinds = append(l.kinds, GK{clone(gk.Group), clone(gk.Kind)})
			}
		}
		tls, _ := lm["tls"].(map[string]any)
		certs, _ := tls["certificateRefs"].([]any)
		for j, c := range certs {
			r, ok := n.ref(c, "", "Secret")
			if !ok {
				n.fail(relCerts, "spec.listeners[%d].tls.certificateRefs[%d]: not a reference with a name", i, j)
				continue
			}
			l.certs = append(l.certs, keep(r))
		}
		f.listeners = append(f.listeners, l)
	}
	return f
}

func (n *Node) grantFacts(spec map[string]any) *grantFacts {
	f := &grantFacts{}
	from, _ := spec["from"].([]any)
	for _, v := range from {
		m, _ := v.(map[string]any)
		f.from = append(f.from, grantFrom{clone(str(m, "group")), clone(str(m, "kind")), clone(str(m, "namespace"))})
	}
	to, _ := spec["to"].([]any)
	for _, v := range to {
		m, _ := v.(map[string]any)
		f.to = append(f.to, grantTo{clone(str(m, "group")), clone(str(m, "kind")), clone(str(m, "name"))})
	}
	return f
}

// targets reads GEP-713's spec.targetRef or spec.targetRefs.
func (n *Node) targets(spec map[string]any, keep func(Ref) *Ref) (out []*Ref) {
	add := func(v any, where string) {
		r, named := n.ref(v, "", "")
		if !named || r.Kind == "" {
			n.fail(relTargets, "%s: not a reference with a kind and a name", where)
			return
		}
		out = append(out, keep(r))
	}
	if v, has := spec["targetRef"]; has && v != nil {
		add(v, "spec.targetRef")
	}
	if v, has := spec["targetRefs"]; has && v != nil {
		list, isList := v.([]any)
		if !isList {
			n.fail(relTargets, "spec.targetRefs: not a list")
		}
		for i, t := range list {
			add(t, fmt.Sprintf("spec.targetRefs[%d]", i))
		}
	}
	return out
}

// sameRef compares two parent references as the API does: group, kind,
// namespace, name, sectionName and port.
func sameRef(a, b *Ref) bool {
	return a.Group == b.Group && a.Kind == b.Kind && a.Namespace == b.Namespace && a.Name == b.Name && a.Section == b.Section && a.Port == b.Port
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

var indexes = func() []string {
	out := make([]string, 64)
	for i := range out {
		out[i] = strconv.Itoa(i)
	}
	return out
}()

func index(i int) string {
	if i < len(indexes) {
		return indexes[i]
	}
	return strconv.Itoa(i)
}
