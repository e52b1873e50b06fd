// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package engine

import (
	"bytes"
	"io"
	"slices"
	"strings"

	"github.com/kuadrant/gateway-api-metrics-exporter/compat"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/exposition"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/graph"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/objects"
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
// de-duplication across sources, but the families named in withheld (nil:
// none), which are left out whole, header and samples. It does not terminate
// an OpenMetrics body: the caller may add its own families first.
//
// Kinds that share one family list (the discovered policy kinds of
// pkg/policies) are written family by family, at the place of the first of
// them, so that each family stays contiguous as OpenMetrics requires. A spec
// never yields such kinds, so KSM's order is untouched.
func Assemble(w *BodyWriter, srcs []Source, format exposition.Format, withheld map[string]bool) {
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
			s.Renderer.writeTo(w, format, seen, withheld)
			continue
		}
		objects := 0
		for _, r := range group {
			objects += r.objects
		}
		var hdr []byte
		for fi, f := range s.Renderer.kind.Families {
			if withheld[f.Name] {
				continue
			}
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

// RenderObjects renders objects read from files (no cluster); see Offline.
func RenderObjects(plan *spec.Plan, objs []map[string]any, format exposition.Format, onError func(*spec.Family, error)) (body []byte, unmatched int) {
	o := NewOffline(plan, onError)
	for _, obj := range objs {
		o.Add(obj)
	}
	var buf bytes.Buffer
	_ = o.WriteTo(&buf, format)
	return buf.Bytes(), o.Unmatched
}

// Offline renders objects read from files rather than listed: each object is
// matched to a spec kind by group and kind, preferring the spec entry with the
// object's version; its customresource_version is the version it was read at.
// Objects are rendered as they are added and not kept.
type Offline struct {
	plan    *spec.Plan
	onError func(*spec.Family, error)
	byKey   map[offlineKey]*offlineKind
	srcs    []Source
	fields  map[int]*objects.Fields // each kind's projection, made when first needed
	dec     objects.Decoder
	// graph holds every object read when the plan has graph families; they
	// are rendered once the input is complete (WriteTo).
	graph *graph.Graph
	// held is the body's size so far; past rawBudget it is compressed.
	held        int
	compressing bool
	// Unmatched counts the objects no spec kind names.
	Unmatched int
}

type offlineKey struct {
	kind    int
	version string
}

type offlineKind struct {
	r      *Renderer
	fields *objects.Fields
	plural string
	listed bool // in o.srcs: an object of it was added
	// namespaced: an object of it had a namespace (the graph needs to
	// know; a file does not say).
	namespaced bool
}

// NewOffline makes an offline renderer for a plan.
func NewOffline(plan *spec.Plan, onError func(*spec.Family, error)) *Offline {
	o := &Offline{plan: plan, onError: onError, byKey: map[offlineKey]*offlineKind{}, fields: map[int]*objects.Fields{}}
	if plan.HasGraph() {
		// The input is the whole world: a kind it has objects of is known
		// completely, one it has none of is not known at all.
		o.graph = graph.New(nil, false)
	}
	return o
}

// Add renders a decoded object.
func (o *Offline) Add(obj map[string]any) {
	apiVersion, _ := obj["apiVersion"].(string)
	kind, _ := obj["kind"].(string)
	if k := o.kind(apiVersion, kind); k != nil {
		before := k.r.Size()
		k.r.Add(obj)
		o.addToGraph(k, o.extract(k, k.r, obj))
		o.grew(k.r.Size() - before)
	}
}

// extract is an object's graph node, with the labels its graph families
// take from it (nil without a graph).
func (o *Offline) extract(k *offlineKind, r *Renderer, obj map[string]any) *graph.Node {
	if o.graph == nil {
		return nil
	}
	n := graph.Extract(k.r.GKOf(), obj)
	r.KeepBase(n, obj)
	return n
}

// addToGraph inserts an object's node, in input order (the last of two
// objects of the same name wins, as a later apply would), and defers its
// graph families.
func (o *Offline) addToGraph(k *offlineKind, n *graph.Node) {
	if n == nil {
		return
	}
	if n.Namespace != "" {
		k.namespaced = true
	}
	k.r.Defer(o.graph.Insert(n))
}

// AddJSON renders one object from its JSON text, decoding only what its kind's
// families can observe (as a scrape does), so that rendering a large dump
// never holds more than one object decoded.
func (o *Offline) AddJSON(raw []byte) error {
	apiVersion, kind, err := objects.Head(raw)
	if err != nil {
		return err
	}
	k := o.kind(apiVersion, kind)
	if k == nil {
		return nil
	}
	obj, err := o.dec.Decode(raw, k.fields)
	if err != nil {
		return err
	}
	before := k.r.Size()
	k.r.Add(obj.(map[string]any))
	o.addToGraph(k, o.extract(k, k.r, obj.(map[string]any)))
	o.grew(k.r.Size() - before)
	return nil
}

// rawBudget is how many bytes of body an Offline holds uncompressed. Up to
// it, compressing families (and inflating them again to write the body)
// costs more time than the memory saved is worth to a one-off command; past
// it, families are held compressed as a scrape holds a large kind.
var rawBudget = 64 << 20

func (o *Offline) grew(n int) {
	if o.held += n; o.held > rawBudget && !o.compressing {
		o.compressing = true
		for _, s := range o.srcs {
			s.Renderer.segment = false
		}
	}
}

// kind finds (or makes) the renderer for an object's kind and version and
// lists it among the sources; nil when no spec kind names it.
func (o *Offline) kind(apiVersion, kind string) *offlineKind {
	k := o.lookup(apiVersion, kind)
	if k == nil {
		o.Unmatched++
		return nil
	}
	o.list(k)
	return k
}

// list adds k to the sources, in the order kinds are first met.
func (o *Offline) list(k *offlineKind) {
	if !k.listed {
		k.listed = true
		k.r.segment = !o.compressing
		o.srcs = append(o.srcs, Source{Renderer: k.r, Plural: k.plural})
	}
}

// lookup finds (or makes) the renderer for an object's kind and version, nil
// when no spec kind names it. It neither lists the kind nor counts unmatched
// objects: AddFiles looks kinds up ahead of adding their objects.
func (o *Offline) lookup(apiVersion, kind string) *offlineKind {
	group, version := "", apiVersion
	if i := strings.LastIndexByte(apiVersion, '/'); i >= 0 {
		group, version = apiVersion[:i], apiVersion[i+1:]
	}
	ki := -1
	for i, k := range o.plan.Kinds {
		if k.GVK.Group == group && (k.GVK.Kind == kind || k.GVK.Kind == "*") && (k.GVK.Version == version || k.GVK.Version == "*" || ki < 0) {
			if ki < 0 || k.GVK.Version == version {
				ki = i
			}
		}
	}
	if ki < 0 {
		return nil
	}
	key := offlineKey{ki, version + "/" + kind}
	ok := o.byKey[key]
	if ok == nil {
		k := o.plan.Kinds[ki]
		if o.fields[ki] == nil {
			o.fields[ki] = Projection(k)
			if o.graph != nil {
				o.fields[ki] = ProjectionWith(k, func(root *objects.Fields) {
					graph.AddFields(root, graph.GK{Group: group, Kind: kind}, GraphRefs(k))
				})
			}
		}
		plural := PluralOf(k)
		if k.GVK.Kind == "*" {
			plural = compat.Pluralize(kind)
		}
		ok = &offlineKind{r: NewRenderer(k, GVK{group, version, kind}, o.onError), fields: o.fields[ki], plural: plural}
		o.byKey[key] = ok
	}
	return ok
}

// WriteTo writes the whole body, in kube-state-metrics' order.
func (o *Offline) WriteTo(out io.Writer, format exposition.Format) error {
	if o.graph != nil {
		for _, k := range o.byKey {
			if k.listed {
				o.graph.SetKind(k.r.GKOf(), graph.Served, k.namespaced)
			}
		}
		for _, s := range o.srcs {
			s.Renderer.AddGraph(o.graph)
		}
	}
	SortSources(o.srcs)
	w := NewBodyWriter(out, false)
	Assemble(w, o.srcs, format, nil)
	if format == exposition.OpenMetrics {
		_, _ = w.Write([]byte(exposition.EOF))
	}
	return w.Close()
}
