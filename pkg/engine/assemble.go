package engine

import (
	"bytes"
	"slices"
	"strings"

	"github.com/kuadrant/gateway-api-metrics-exporter/compat"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/exposition"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/spec"
)

// Source is one kind as read: which spec entry, at which version, under which
// resource (plural) name.
type Source struct {
	Renderer *Renderer
	Plural   string
}

// ResourceName is KSM's writer name for a custom resource, the GVR string
// "group/version, Resource=plural"; KSM writes resources in its byte order.
func (s Source) ResourceName() string {
	return s.Renderer.gvk.Group + "/" + s.Renderer.gvk.Version + ", Resource=" + s.Plural
}

// SortSources puts sources in KSM's writer order.
func SortSources(srcs []Source) {
	slices.SortStableFunc(srcs, func(a, b Source) int { return strings.Compare(a.ResourceName(), b.ResourceName()) })
}

// Assemble writes the families of every source, in order, with KSM's header
// de-duplication across sources. It does not terminate an OpenMetrics body:
// the caller may add its own families first.
//
// Kinds that share one family list (the discovered policy kinds of
// pkg/policies) are written family by family, at the place of the first of
// them, so that each family stays contiguous as OpenMetrics requires. A spec
// never yields such kinds, so KSM's order is untouched.
func Assemble(w *BodyWriter, srcs []Source, format exposition.Format) {
	seen := make(map[string]struct{})
	done := make([]bool, len(srcs))
	for i, s := range srcs {
		if done[i] {
			continue
		}
		s.Renderer.Finish()
		group := []*Renderer{s.Renderer}
		for j := i + 1; j < len(srcs); j++ {
			if !done[j] && sharesFamilies(s.Renderer.kind, srcs[j].Renderer.kind) {
				srcs[j].Renderer.Finish()
				group = append(group, srcs[j].Renderer)
				done[j] = true
			}
		}
		if len(group) == 1 {
			s.Renderer.WriteTo(w, format, seen)
			continue
		}
		objects := 0
		for _, r := range group {
			objects += r.objects
		}
		var hdr []byte
		for fi := range s.Renderer.kind.Families {
			hdr = group[0].writeHeader(w, hdr, fi, objects, format, seen)
			for _, r := range group {
				r.writeSamples(w, fi)
			}
		}
	}
}

func sharesFamilies(a, b *spec.Kind) bool {
	return a != b && len(a.Families) > 0 && len(a.Families) == len(b.Families) && &a.Families[0] == &b.Families[0]
}

// PluralOf is the resource name KSM uses when discovery does not say:
// resourcePlural, else the pluralised kind.
func PluralOf(k *spec.Kind) string {
	if k.Plural != "" {
		return k.Plural
	}
	return compat.Pluralize(k.GVK.Kind)
}

// RenderObjects renders objects read from files (no cluster): each object is
// matched to a spec kind by group and kind, preferring the spec entry with the
// object's version; its customresource_version is the version it was read at.
func RenderObjects(plan *spec.Plan, objs []map[string]any, format exposition.Format, onError func(*spec.Family, error)) (body []byte, unmatched int) {
	type key struct {
		kind    int
		version string
	}
	byKey := map[key]*Renderer{}
	var srcs []Source
	for _, o := range objs {
		apiVersion, _ := o["apiVersion"].(string)
		kind, _ := o["kind"].(string)
		group, version := "", apiVersion
		if i := strings.LastIndexByte(apiVersion, '/'); i >= 0 {
			group, version = apiVersion[:i], apiVersion[i+1:]
		}
		ki := -1
		for i, k := range plan.Kinds {
			if k.GVK.Group == group && (k.GVK.Kind == kind || k.GVK.Kind == "*") && (k.GVK.Version == version || k.GVK.Version == "*" || ki < 0) {
				if ki < 0 || k.GVK.Version == version {
					ki = i
				}
			}
		}
		if ki < 0 {
			unmatched++
			continue
		}
		r := byKey[key{ki, version + "/" + kind}]
		if r == nil {
			k := plan.Kinds[ki]
			r = NewRenderer(k, GVK{group, version, kind}, onError)
			byKey[key{ki, version + "/" + kind}] = r
			plural := PluralOf(k)
			if k.GVK.Kind == "*" {
				plural = compat.Pluralize(kind)
			}
			srcs = append(srcs, Source{Renderer: r, Plural: plural})
		}
		r.Add(o)
	}
	SortSources(srcs)
	var buf bytes.Buffer
	w := NewBodyWriter(&buf, false)
	Assemble(w, srcs, format)
	if format == exposition.OpenMetrics {
		_, _ = w.Write([]byte(exposition.EOF))
	}
	_ = w.Close()
	return buf.Bytes(), unmatched
}
