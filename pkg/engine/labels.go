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

func (s labelSet) has(name string) bool {
	for i := range s {
		if s[i].name == name {
			return true
		}
	}
	return false
}

func (s labelSet) sort() {
	slices.SortFunc(s, func(a, b label) int { return strings.Compare(a.name, b.name) })
}

// addPathLabels is KSM's addPathLabels: star entries expand a map into one
// label per key, then plain entries; a path that does not resolve adds nothing.
func addPathLabels(obj any, labels []spec.PathLabel, s *labelSet) {
	for i := range labels {
		l := &labels[i]
		v := l.Path.Get(obj)
		if l.Star {
			m, ok := v.(map[string]any)
			if !ok {
				continue
			}
			for _, k := range sortedKeys(m) {
				s.set(compat.FixLabelName(compat.SanitizeLabelName(l.Name+k)), compat.LabelValue(m[k]))
			}
			continue
		}
		if v == nil {
			continue
		}
		s.set(l.Name, compat.LabelValue(v))
	}
}

// sortedKeys gives star expansions a fixed order, so that two keys which
// sanitise to the same name always resolve the same way (KSM: random).
func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
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
