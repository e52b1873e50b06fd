// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package spec

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/kuadrant/gateway-api-metrics-exporter/compat"
)

// Path is a compiled path: a list of segments evaluated left to right, with
// exactly the meaning KSM v2.20.0 gives them (customresourcestate.compilePath).
type Path []Segment

// Segment is one step of a Path.
type Segment struct {
	Raw string
	// Lookup is set for "[key=value]": the first list element whose key equals value.
	Lookup          bool
	Key, Value      string
	num             float64
	isNum           bool
	boolVal, isBool bool
	// For a plain segment: a map key (with KSM's "k=v" test) or a list index.
	eqKey, eqVal string
	hasEq        bool
	index        int
	isIndex      bool
}

// toFloat is KSM's coercion as its list lookup uses it: a lookup value "True"
// matches a candidate "yes", since both coerce to 1.
func toFloat(v any) (float64, bool) {
	f, err := compat.ToFloat64(v, false)
	return f, err == nil
}

// CompilePath compiles path segments; the only error KSM knows is a list
// lookup without '='.
func CompilePath(segs []string) (Path, error) {
	out := make(Path, 0, len(segs))
	for _, part := range segs {
		s := Segment{Raw: part}
		if strings.HasPrefix(part, "[") && strings.HasSuffix(part, "]") {
			k, v, ok := strings.Cut(part[1:len(part)-1], "=")
			if !ok {
				return nil, fmt.Errorf("invalid list lookup: %s", part)
			}
			s.Lookup, s.Key, s.Value = true, k, v
			s.num, s.isNum = toFloat(v)
			if b, err := strconv.ParseBool(v); err == nil {
				s.boolVal, s.isBool = b, true
			}
		} else {
			// KSM splits on every '=' and only treats exactly two parts as k=v.
			if kv := strings.Split(part, "="); len(kv) == 2 {
				s.eqKey, s.eqVal, s.hasEq = kv[0], kv[1], true
			}
			if i, err := strconv.Atoi(part); err == nil {
				s.index, s.isIndex = i, true
			}
		}
		out = append(out, s)
	}
	return out, nil
}

// Get resolves p against v; nil when any step does not resolve.
func (p Path) Get(v any) any {
	for i := range p {
		if v == nil {
			return nil
		}
		v = p[i].step(v)
	}
	return v
}

func (s *Segment) step(v any) any {
	if s.Lookup {
		list, ok := v.([]any)
		if !ok {
			return nil
		}
		for _, el := range list {
			m, ok := el.(map[string]any)
			if !ok {
				continue
			}
			c, set := m[s.Key]
			if !set {
				continue
			}
			if str, ok := c.(string); ok && str == s.Value {
				return m
			}
			if s.isNum {
				if f, ok := toFloat(c); ok && f == s.num {
					return m
				}
			}
			if s.isBool {
				if b, ok := c.(bool); ok && b == s.boolVal {
					return m
				}
			}
		}
		return nil
	}
	switch x := v.(type) {
	case map[string]any:
		if s.hasEq {
			if got, ok := x[s.eqKey]; ok {
				if str, ok := got.(string); ok && str == s.eqVal {
					return got
				}
			}
		}
		return x[s.Raw]
	case []any:
		if !s.isIndex {
			return nil
		}
		i := s.index
		if i < 0 {
			i += len(x)
		}
		if i < 0 || i >= len(x) {
			return nil
		}
		return x[i]
	}
	return nil
}

// String prints the path as KSM does in its error messages: [a,b,c].
func (p Path) String() string {
	var b strings.Builder
	b.WriteByte('[')
	for i := range p {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(p[i].Raw)
	}
	b.WriteByte(']')
	return b.String()
}

// IsIndex reports a segment that indexes a list.
func (s *Segment) IsIndex() bool { return s.isIndex }

// EqKey returns k for a "k=v" segment.
func (s *Segment) EqKey() (string, bool) { return s.eqKey, s.hasEq }

// Step applies one segment to v (nil in, nil out).
func (s *Segment) Step(v any) any {
	if v == nil {
		return nil
	}
	return s.step(v)
}
