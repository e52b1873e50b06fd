// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package engine

import (
	"errors"
	"slices"
	"strings"

	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/graph"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/spec"
)

// Graph families (each.graph) are rendered from an object's graph.Node, not
// from the object: what they say depends on other objects, so list mode and
// render add them once every object is in the graph (Defer, then AddGraph),
// and watch mode renders them again when the graph says a change elsewhere
// affects them (ReplaceGraph), long after the object was decoded.

// GKOf is the graph's name for the kind a renderer renders, as read.
func (r *Renderer) GKOf() graph.GK { return graph.GK{Group: r.gvk.Group, Kind: r.gvk.Kind} }

// HasGraph reports whether the renderer's kind has graph families.
func (r *Renderer) HasGraph() bool { return r.graphFams > 0 }

// KeepBase stores on n the labels its graph families take from obj (the
// resource's labelsFromPath) that n does not already hold: its namespace and
// name are there, so the embedded spec's families store nothing.
func (r *Renderer) KeepBase(n *graph.Node, obj map[string]any) {
	f := r.graphFamily()
	if f == nil {
		return
	}
	var kept labelSet
	for _, l := range f.Base {
		if metaPath(l) == "" {
			r.ev.addPathLabels(obj, []spec.PathLabel{l}, &kept)
		}
	}
	if len(kept) == 0 {
		n.Base = nil
		return
	}
	n.Base = make([]string, 0, 2*len(kept))
	for _, l := range kept {
		n.Base = append(n.Base, strings.Clone(l.name), strings.Clone(l.value))
	}
}

// graphFamily is the kind's first graph family: they all share the
// resource's labelsFromPath (spec refuses labelsFromPath of their own).
func (r *Renderer) graphFamily() *spec.Family {
	for _, f := range r.kind.Families {
		if f.Graph != spec.NoRelation {
			return f
		}
	}
	return nil
}

// metaPath is "name" or "namespace" for a label taken from metadata.name or
// metadata.namespace, which a graph.Node holds, else "".
func metaPath(l spec.PathLabel) string {
	if l.Star || len(l.Path) != 2 || l.Path[0].Raw != "metadata" {
		return ""
	}
	switch l.Path[1].Raw {
	case "name", "namespace":
		return l.Path[1].Raw
	}
	return ""
}

// Defer notes an object whose graph families AddGraph renders, in the order
// objects were added.
func (r *Renderer) Defer(n *graph.Node) {
	if r.graphFams > 0 {
		r.deferred = append(r.deferred, n)
	}
}

// AddGraph renders the graph families of the deferred objects, now that g
// holds every object.
func (r *Renderer) AddGraph(g *graph.Graph) {
	for _, n := range r.deferred {
		for i, f := range r.kind.Families {
			if f.Graph != spec.NoRelation {
				r.bufs[i] = r.appendGraphFamily(r.bufs[i], i, n, g)
				r.spill(i)
			}
		}
	}
	clear(r.deferred)
	r.deferred = r.deferred[:0]
}

// ReplaceGraph returns an object's families as RenderObject made them
// (blob, ends, issues) with its graph families rendered anew from n: their
// issues are the new rendering's, the other families' are kept.
func (r *Renderer) ReplaceGraph(blob []byte, ends []int32, issues []Issue, n *graph.Node, g *graph.Graph) ([]byte, []int32, []Issue) {
	clear(r.stats)
	out := make([]byte, 0, len(blob)+len(blob)/4)
	outEnds := make([]int32, len(ends))
	var outIssues []Issue
	for _, is := range issues {
		if r.kind.Families[is.Family].Graph == spec.NoRelation {
			outIssues = append(outIssues, is)
		}
	}
	start := int32(0)
	for i, f := range r.kind.Families {
		if f.Graph != spec.NoRelation {
			out = r.appendGraphFamily(out, i, n, g)
			if st := r.stats[i]; st.Duplicates > 0 || st.Errors > 0 {
				outIssues = append(outIssues, Issue{Family: int32(i), Duplicates: int32(st.Duplicates), Errors: int32(st.Errors)})
			}
		} else {
			out = append(out, blob[start:ends[i]]...)
		}
		start = ends[i]
		outEnds[i] = int32(len(out))
	}
	slices.SortFunc(outIssues, func(a, b Issue) int { return int(a.Family - b.Family) })
	return slices.Clip(out), outEnds, outIssues
}

// appendGraphFamily renders graph family i of node n onto b, counting what
// it writes, drops and fails at in r.stats[i] as appendFamily does.
func (r *Renderer) appendGraphFamily(b []byte, i int, n *graph.Node, g *graph.Graph) []byte {
	f := r.kind.Families[i]
	r.cur = i
	ev := &r.ev
	g.Samples(f.Graph, n, &r.graphBuf, func(msg string) { ev.fail(f, errors.New(msg)) })
	if r.graphBuf.Len() == 0 {
		return b
	}
	ev.samples = ev.samples[:0]
	for j := range r.graphBuf.Len() {
		labels, v := r.graphBuf.Sample(j)
		s := ev.add()
		for _, l := range labels {
			s.labels = append(s.labels, label{l.Name, l.Value})
		}
		s.labels.sort()
		s.value = v
	}
	slices.SortStableFunc(ev.samples, func(a, b sample) int { return compareLabels(a.labels, b.labels) })
	r.graphBase(f, n)
	b = r.appendSamples(b, f, &r.stats[i])
	// The base labels were the node's, not an object's: the next family
	// computes its own.
	r.baseID = 0
	return b
}

// graphBase computes the base labels of graph family f from n.
func (r *Renderer) graphBase(f *spec.Family, n *graph.Node) {
	r.base = r.base[:0]
	r.constBase(f)
	for _, l := range f.Base {
		switch metaPath(l) {
		case "name":
			if n.Name != "" {
				r.base.set(l.Name, n.Name)
			}
		case "namespace":
			if n.Namespace != "" {
				r.base.set(l.Name, n.Namespace)
			}
		}
	}
	for i := 0; i+1 < len(n.Base); i += 2 {
		r.base.set(n.Base[i], n.Base[i+1])
	}
	r.writeBase()
}

// RenderObject is RenderOne with the object's graph families rendered from n
// (nil: none).
func (r *Renderer) RenderObject(obj map[string]any, n *graph.Node, g *graph.Graph) (blob []byte, ends []int32, issues []Issue) {
	r.raw = true
	r.Reset(r.gvk)
	r.Add(obj)
	if n != nil && r.graphFams > 0 {
		r.KeepBase(n, obj)
		r.deferred = append(r.deferred, n)
		r.AddGraph(g)
	}
	return r.collectOne()
}

// GraphRefs is which of its own references kind k's graph families render
// (graph.Refs): the graph reads no other.
func GraphRefs(k *spec.Kind) graph.Refs {
	return graph.Refs{Backends: k.Renders(spec.BackendRefs), Certificates: k.Renders(spec.ListenerCertificateRefs)}
}
