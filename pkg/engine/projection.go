// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package engine

import (
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/objects"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/spec"
)

// Projection is the part of an object that kind k's families can observe:
// decoding only that (objects.DecodeProjected) renders exactly what decoding
// everything would, at a fraction of the cost. It over-approximates wherever
// the evaluation could look at a whole value or at every key of a map.
func Projection(k *spec.Kind) *objects.Fields {
	return ProjectionWith(k, nil)
}

// ProjectionWith is Projection plus what more adds to it (the attachment
// graph's fields).
func ProjectionWith(k *spec.Kind, more func(root *objects.Fields)) *objects.Fields {
	root := &objects.Fields{}
	if more != nil {
		more(root)
	}
	// The apiVersion and kind route objects to kinds offline, and metadata
	// identifies them (UIDs shard them).
	for _, key := range []string{"apiVersion", "kind"} {
		root.Child(key).All = true
	}
	md := root.Child("metadata")
	for _, key := range []string{"name", "namespace", "uid"} {
		md.Child(key).All = true
	}
	for _, f := range k.Families {
		labels(root, f.Base)
		at := walk(root, f.Each.Path)
		for _, n := range at {
			each(n, f)
		}
	}
	return root.Compile()
}

// each adds what evaluating the per-element part of f at node n reads: n is
// a list (elements are decoded with n), a map (KSM iterates its entries) or a
// scalar.
func each(n *objects.Fields, f *spec.Family) {
	e := &f.Each
	if e.Nested != nil && e.LabelFromKey != "" {
		// Every entry of the map is an element of the nested iteration.
		n = n.AnyChild()
	} else if e.LabelFromKey != "" || e.NilIsZero {
		// Every entry of a map yields a sample: keep them all.
		n.All = true
		return
	}
	for _, m := range []*objects.Fields{n, n.AnyChild()} {
		labels(m, e.Labels)
		// An Info has no value; a nested gauge takes it from its innermost level.
		value(m, e.ValueFrom, f.Type != spec.Info && e.Nested == nil)
		if e.Nested != nil {
			nested(m, e.Nested)
		}
	}
	// KSM's one-segment valueFrom over a map picks the entry of that name.
	if len(e.ValueFrom) == 1 {
		n.Child(e.ValueFrom[0].Raw).All = true
	}
}

func nested(n *objects.Fields, lv *spec.Level) {
	for _, m := range walk(n, lv.Path) {
		if lv.LabelFromKey != "" && !m.All {
			m = m.AnyChild() // every key, its value (a list) read as below
		}
		labels(m, lv.Labels)
		if lv.Nested != nil {
			nested(m, lv.Nested)
		} else {
			value(m, lv.ValueFrom, true)
		}
	}
}

// value marks the end of a value path as needed whole.
func value(n *objects.Fields, p spec.Path, used bool) {
	if !used {
		return
	}
	for _, m := range walk(n, p) {
		m.All = true
	}
}

func labels(n *objects.Fields, ls []spec.PathLabel) {
	for _, l := range ls {
		for _, m := range walk(n, l.Path) {
			m.All = true // a label value (or a star map) is printed whole
		}
	}
}

// walk returns the nodes a path can end at. A list is transparent in
// objects.Fields, so a segment that indexes or searches a list continues at
// the same node; the same segment on a map is a key.
func walk(n *objects.Fields, p spec.Path) []*objects.Fields {
	cur := []*objects.Fields{n}
	for i := range p {
		s := &p[i]
		var next []*objects.Fields
		for _, c := range cur {
			if c.All {
				next = append(next, c)
				continue
			}
			next = append(next, c.Child(s.Raw))
			if s.Lookup {
				c.Child(s.Key).All = true // the list lookup compares this key
				next = append(next, c)
				continue
			}
			if s.IsIndex() {
				next = append(next, c)
			}
			if k, ok := s.EqKey(); ok {
				c.Child(k).All = true // "k=v" compares the value of k
			}
		}
		cur = next
	}
	return cur
}
