// Package engine evaluates a compiled spec against Kubernetes objects and
// appends the resulting samples, family by family, as exposition bytes.
package engine

import (
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/exposition"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/spec"
)

// GVK is the group, version and kind an object was actually read at; it feeds
// the customresource_* labels.
type GVK struct{ Group, Version, Kind string }

// Renderer collects the samples of one kind, one buffer per family, so that
// objects can arrive page by page while the output stays grouped by family.
// A Renderer is reused across scrapes to keep its buffers.
type Renderer struct {
	kind    *spec.Kind
	gvk     GVK
	bufs    [][]byte
	objects int
	ev      evaluator
	base    labelSet
	baseID  int // which family's base labels r.base holds for the current object
	// Duplicates counts samples dropped because another element of the same
	// object already produced the same series.
	Duplicates int
}

// NewRenderer makes a renderer for kind k read at gvk. onError receives
// evaluation errors (KSM logs them; the caller decides how often).
func NewRenderer(k *spec.Kind, gvk GVK, onError func(f *spec.Family, err error)) *Renderer {
	r := &Renderer{kind: k, gvk: gvk, bufs: make([][]byte, len(k.Families))}
	r.ev.onError = onError
	r.ev.names = names{}
	return r
}

// Reset empties the renderer for another pass, keeping its buffers.
func (r *Renderer) Reset(gvk GVK) {
	r.gvk = gvk
	r.objects = 0
	r.Duplicates = 0
	for i := range r.bufs {
		r.bufs[i] = r.bufs[i][:0]
	}
}

// Kind is the spec entry this renderer serves.
func (r *Renderer) Kind() *spec.Kind { return r.kind }

// Objects is how many objects were added since the last Reset.
func (r *Renderer) Objects() int { return r.objects }

// Size is the number of sample bytes held.
func (r *Renderer) Size() int {
	n := 0
	for _, b := range r.bufs {
		n += len(b)
	}
	return n
}

// Add renders every family of one object.
func (r *Renderer) Add(obj map[string]any) {
	r.objects++
	r.baseID = 0
	for i, f := range r.kind.Families {
		r.bufs[i] = r.appendFamily(r.bufs[i], f, obj)
	}
}

func (r *Renderer) appendFamily(b []byte, f *spec.Family, obj map[string]any) []byte {
	r.ev.eval(f, obj)
	if len(r.ev.samples) == 0 {
		return b
	}
	// Base labels: constants, then paths on the object root; per-element labels
	// override both. Families with the same base labels share them.
	if f.BaseID != r.baseID {
		r.computeBase(f, obj)
	}

	var prev labelSet
	for i := range r.ev.samples {
		s := &r.ev.samples[i]
		if i > 0 && equalLabels(prev, s.labels) {
			r.Duplicates++
			continue
		}
		prev = s.labels
		b = append(b, f.Name...)
		b = appendMerged(b, s.labels, r.base)
		b = append(b, ' ')
		b = exposition.AppendFloat(b, s.value)
		b = append(b, '\n')
	}
	return b
}

func (r *Renderer) computeBase(f *spec.Family, obj map[string]any) {
	r.baseID = f.BaseID
	r.base = r.base[:0]
	for _, c := range f.Common {
		v := c.Value
		switch c.GVK {
		case spec.GVKGroup:
			v = r.gvk.Group
		case spec.GVKVersion:
			v = r.gvk.Version
		case spec.GVKKind:
			v = r.gvk.Kind
		}
		r.base.set(spec.FixName(c.Name), v)
	}
	r.ev.addPathLabels(obj, f.Base, &r.base)
	r.base.sort()
}

// appendMerged writes {a ∪ base} sorted by name; on a shared name a wins.
func appendMerged(b []byte, a, base labelSet) []byte {
	if len(a) == 0 && len(base) == 0 {
		return b
	}
	b = append(b, '{')
	i, j := 0, 0
	for i < len(a) || j < len(base) {
		var l *label
		switch {
		case j == len(base) || (i < len(a) && a[i].name < base[j].name):
			l = &a[i]
			i++
		case i == len(a) || base[j].name < a[i].name:
			l = &base[j]
			j++
		default: // same name: the element's label wins
			l = &a[i]
			i++
			j++
		}
		b = append(b, l.name...)
		b = append(b, '=', '"')
		b = exposition.AppendEscaped(b, l.value)
		b = append(b, '"', ',')
	}
	b[len(b)-1] = '}'
	return b
}

// AppendTo writes the kind's families: HELP/TYPE (once the kind has an object,
// and only for names not already in seen, like KSM's header de-duplication)
// followed by the samples.
func (r *Renderer) AppendTo(dst []byte, format exposition.Format, seen map[string]struct{}) []byte {
	for i, f := range r.kind.Families {
		if _, dup := seen[f.Name]; !dup {
			seen[f.Name] = struct{}{}
			if r.objects > 0 {
				dst = exposition.AppendHeader(dst, f.Name, f.Help, string(f.Type), format)
			}
		}
		dst = append(dst, r.bufs[i]...)
	}
	return dst
}

// Families exposes the per-family sample bytes, for callers that stream or
// compress each family separately.
func (r *Renderer) Families() [][]byte { return r.bufs }
