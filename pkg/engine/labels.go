// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package engine

import (
	"slices"
	"strings"

	"github.com/kuadrant/gateway-api-metrics-exporter/compat"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/spec"
)

type label struct{ name, value string }

// labelSet has KSM's map semantics (a later set of a name wins) without a map:
// label sets are small, and this keeps the hot path free of allocations.
type labelSet []label

func (s *labelSet) set(name, value string) {
	for i := range *s {
		if (*s)[i].name == name {
			(*s)[i].value = value
			return
		}
	}
	*s = append(*s, label{name, value})
}

func (s labelSet) sort() {
	slices.SortFunc(s, func(a, b label) int { return strings.Compare(a.name, b.name) })
}

// names caches sanitised label names: Kubernetes label keys repeat across
// objects, and sanitising "app.kubernetes.io/name" allocates.
type names map[string]string

func (n names) label(prefix, key string) string {
	if prefix == "" {
		if v, ok := n[key]; ok {
			return v
		}
	}
	v := compat.FixLabelName(compat.SanitizeLabelName(prefix + key))
	if prefix == "" && len(n) < 4096 {
		n[key] = v
	}
	return v
}

// addPathLabels is KSM's addPathLabels: star entries expand a map into one
// label per key, then plain entries; a path that does not resolve adds nothing.
func (e *evaluator) addPathLabels(obj any, labels []spec.PathLabel, s *labelSet) {
	// trace[j] is the previous plain label's value after j segments, valid up
	// to traced: the next label resumes from its shared prefix.
	var trace [8]any
	traced := 0
	for i := range labels {
		l := &labels[i]
		var v any
		if l.Star {
			v = l.Path.Get(obj)
			traced = 0
		} else {
			start := 0
			v = obj
			if l.Shared > 0 && l.Shared <= traced {
				start, v = l.Shared, trace[l.Shared]
			}
			trace[0] = obj
			for j := start; j < len(l.Path); j++ {
				v = l.Path[j].Step(v)
				if j+1 < len(trace) {
					trace[j+1] = v
				}
			}
			traced = min(len(l.Path), len(trace)-1)
		}
		if l.Star {
			m, ok := v.(map[string]any)
			if !ok {
				continue
			}
			// A fixed key order, so that two keys which sanitise to the same
			// name always resolve the same way (KSM: Go's random map order).
			keys := e.sortedKeys(m)
			for _, k := range keys {
				s.set(e.names.label(l.Name, k), compat.LabelValue(m[k]))
			}
			e.keys = keys[:0]
			continue
		}
		if v == nil {
			continue
		}
		s.set(l.Name, compat.LabelValue(v))
	}
}

// sortedKeys returns m's keys sorted, in the evaluator's scratch slice; the
// caller hands the slice back through e.keys when done.
func (e *evaluator) sortedKeys(m map[string]any) []string {
	keys := e.keys[:0]
	e.keys = nil
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// compareLabels is KSM's sample order within one object: sorted names
// compared pairwise (name, then value), then by count. Both sets are sorted.
func compareLabels(a, b labelSet) int {
	for i := 0; i < min(len(a), len(b)); i++ {
		if c := strings.Compare(a[i].name, b[i].name); c != 0 {
			return c
		}
		if c := strings.Compare(a[i].value, b[i].value); c != 0 {
			return c
		}
	}
	return len(a) - len(b)
}

func equalLabels(a, b labelSet) bool {
	return len(a) == len(b) && compareLabels(a, b) == 0
}
