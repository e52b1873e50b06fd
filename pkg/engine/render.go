// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

// Package engine evaluates a compiled spec against Kubernetes objects and
// appends the resulting samples, family by family, as exposition bytes.
package engine

import (
	"bytes"
	"sync"

	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/exposition"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/graph"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/spec"
)

// GVK is the group, version and kind an object was actually read at; it feeds
// the customresource_* labels.
type GVK struct{ Group, Version, Kind string }

// Renderer collects the samples of one kind, one buffer per family, so that
// objects can arrive page by page while the output stays grouped by family.
// A Renderer is reused across scrapes to keep its buffers.
type Renderer struct {
	kind *spec.Kind
	gvk  GVK
	bufs [][]byte
	zs   []zfamily // the compressed head of each family, once it grew past chunk
	raw  bool      // never compress (a renderer used to render one object at a time)
	// segment holds a family's full chunks raw, one after the other, rather
	// than compressed (a renderer whose body is wanted fast, see Offline).
	segment bool
	packed  []packedObject
	objects int
	ev      evaluator
	base    labelSet
	baseID  int // which family's base labels r.base holds for the current object
	// baseText holds r.base written out, label j ending at baseEnds[j].
	baseText []byte
	baseEnds []int
	// stats[i] is what family i holds, counted as it is added (see Stats).
	stats []FamilyStats
	cur   int // the family being evaluated, for onError
	// graphFams counts the kind's graph families; deferred are the objects
	// whose graph families are still to render (see graph.go).
	graphFams int
	deferred  []*graph.Node
	graphBuf  graph.Buffer
}

// FamilyStats is what a renderer holds of one family of its kind: its
// samples and their bytes of text (without HELP and TYPE), and, for the
// objects added since the last Reset, the samples dropped as duplicates
// (another element of the same object produced the same series) and the
// evaluation errors. Objects added with AddRendered count samples and bytes
// only.
type FamilyStats struct {
	Series, Bytes, Duplicates, Errors int
}

// Add adds b's counts to a's.
func (a *FamilyStats) Add(b FamilyStats) {
	a.Series += b.Series
	a.Bytes += b.Bytes
	a.Duplicates += b.Duplicates
	a.Errors += b.Errors
}

// NewRenderer makes a renderer for kind k read at gvk. onError receives
// evaluation errors (KSM logs them; the caller decides how often).
func NewRenderer(k *spec.Kind, gvk GVK, onError func(f *spec.Family, err error)) *Renderer {
	r := &Renderer{kind: k, gvk: gvk, bufs: make([][]byte, len(k.Families)), zs: make([]zfamily, len(k.Families)),
		stats: make([]FamilyStats, len(k.Families))}
	for _, f := range k.Families {
		if f.Graph != spec.NoRelation {
			r.graphFams++
		}
	}
	r.ev.onError = func(f *spec.Family, err error) {
		r.stats[r.cur].Errors++
		if onError != nil {
			onError(f, err)
		}
	}
	r.ev.names = names{}
	return r
}

// Stats is what each family of the kind holds, family i of the kind's
// families at index i, whatever way its objects were added. The slice is the
// renderer's: read it, do not keep it past a Reset.
func (r *Renderer) Stats() []FamilyStats { return r.stats }

// Reset empties the renderer for another pass, keeping its buffers.
func (r *Renderer) Reset(gvk GVK) {
	r.gvk = gvk
	r.objects = 0
	clear(r.stats)
	r.DropPacked()
	for i := range r.bufs {
		r.bufs[i] = r.bufs[i][:0]
		r.zs[i].reset()
	}
}

// Finish completes the compressed families; call it once all objects are in.
func (r *Renderer) Finish() {
	for i := range r.zs {
		z := &r.zs[i]
		if z.started() && !z.closed {
			z.write(r.bufs[i])
			r.bufs[i] = r.bufs[i][:0]
			_ = z.w.Close()
			z.closed = true
		}
	}
}

// Kind is the spec entry this renderer serves.
func (r *Renderer) Kind() *spec.Kind { return r.kind }

// Objects is how many objects were added since the last Reset.
func (r *Renderer) Objects() int { return r.objects }

// Size is the number of bytes held (compressed ones counted as such).
func (r *Renderer) Size() int {
	n := 0
	for i, b := range r.bufs {
		n += len(b) + r.zs[i].buf.Len()
		for _, s := range r.zs[i].segs {
			n += len(s)
		}
	}
	for _, p := range r.packed {
		n += len(p.blob)
	}
	return n
}

// Add renders every family of one object but its graph families (see
// Defer).
func (r *Renderer) Add(obj map[string]any) {
	r.objects++
	r.baseID = 0
	for i, f := range r.kind.Families {
		if f.Graph == spec.NoRelation {
			r.bufs[i] = r.appendFamily(r.bufs[i], i, obj)
			r.spill(i)
		}
	}
}

// appendObject renders every family of one object onto dst, family after
// family, appending each family's end (relative to the object's start) to
// ends: what AddRendered takes. Graph families are left empty (see Defer).
func (r *Renderer) appendObject(dst []byte, ends []int32, obj map[string]any) ([]byte, []int32) {
	r.baseID = 0
	start := len(dst)
	for i, f := range r.kind.Families {
		if f.Graph == spec.NoRelation {
			dst = r.appendFamily(dst, i, obj)
		}
		ends = append(ends, int32(len(dst)-start))
	}
	return dst, ends
}

// spill compresses family i's raw bytes once they reach chunk.
func (r *Renderer) spill(i int) {
	if len(r.bufs[i]) < chunk || r.raw {
		return
	}
	if r.segment {
		// A new buffer rather than a grown one: growing copies everything
		// held so far, again and again.
		r.zs[i].segs = append(r.zs[i].segs, r.bufs[i])
		r.bufs[i] = make([]byte, 0, chunk+chunk/4)
		return
	}
	r.zs[i].write(r.bufs[i])
	if cap(r.bufs[i]) > 2*chunk {
		// Grown while the renderer was raw (see Offline): from now on
		// the family is held compressed.
		r.bufs[i] = nil
	} else {
		r.bufs[i] = r.bufs[i][:0]
	}
}

// appendFamily renders family i of one object onto b, counting what it
// writes and drops in r.stats[i].
func (r *Renderer) appendFamily(b []byte, i int, obj map[string]any) []byte {
	f, st := r.kind.Families[i], &r.stats[i]
	r.cur = i
	r.ev.eval(f, obj)
	if len(r.ev.samples) == 0 {
		return b
	}
	// Base labels: constants, then paths on the object root; per-element labels
	// override both. Families with the same base labels share them.
	if f.BaseID != r.baseID {
		r.computeBase(f, obj)
	}
	return r.appendSamples(b, f, st)
}

// appendSamples writes the evaluator's samples of family f, sorted, with
// the base labels, counting them in st; a sample whose labels repeat the one
// before is a duplicate.
func (r *Renderer) appendSamples(b []byte, f *spec.Family, st *FamilyStats) []byte {
	start := len(b)
	var prev labelSet
	for j := range r.ev.samples {
		s := &r.ev.samples[j]
		if j > 0 && equalLabels(prev, s.labels) {
			st.Duplicates++
			continue
		}
		prev = s.labels
		b = append(b, f.Name...)
		b = appendMerged(b, s.labels, r.base, r.baseText, r.baseEnds)
		b = append(b, ' ')
		b = exposition.AppendFloat(b, s.value)
		b = append(b, '\n')
		st.Series++
	}
	st.Bytes += len(b) - start
	return b
}

func (r *Renderer) computeBase(f *spec.Family, obj map[string]any) {
	r.baseID = f.BaseID
	r.base = r.base[:0]
	r.constBase(f)
	r.ev.addPathLabels(obj, f.Base, &r.base)
	r.writeBase()
}

// constBase sets the family's constant labels.
func (r *Renderer) constBase(f *spec.Family) {
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
}

// writeBase sorts the base labels and writes them out once for all samples.
func (r *Renderer) writeBase() {
	r.base.sort()
	r.baseText, r.baseEnds = r.baseText[:0], r.baseEnds[:0]
	for _, l := range r.base {
		r.baseText = append(r.baseText, l.name...)
		r.baseText = append(r.baseText, '=', '"')
		r.baseText = exposition.AppendEscaped(r.baseText, l.value)
		r.baseText = append(r.baseText, '"', ',')
		r.baseEnds = append(r.baseEnds, len(r.baseText))
	}
}

// appendMerged writes {a ∪ base} sorted by name; on a shared name a wins.
// baseText[j] is base[j] already written as `name="value",`: the base labels
// repeat in every sample of the object.
func appendMerged(b []byte, a, base labelSet, baseText []byte, baseEnds []int) []byte {
	if len(a) == 0 && len(base) == 0 {
		return b
	}
	b = append(b, '{')
	i, j := 0, 0
	for i < len(a) || j < len(base) {
		switch {
		case j == len(base) || (i < len(a) && a[i].name < base[j].name):
		case i == len(a) || base[j].name < a[i].name:
			start := 0
			if j > 0 {
				start = baseEnds[j-1]
			}
			b = append(b, baseText[start:baseEnds[j]]...)
			j++
			continue
		default: // same name: the element's label wins
			j++
		}
		b = append(b, a[i].name...)
		b = append(b, '=', '"')
		b = exposition.AppendEscaped(b, a[i].value)
		b = append(b, '"', ',')
		i++
	}
	b[len(b)-1] = '}'
	return b
}

// WriteTo writes the kind's families: HELP/TYPE (once the kind has an object,
// and only for names not already in seen, like KSM's header de-duplication)
// followed by the samples. Call Finish first.
func (r *Renderer) WriteTo(w *BodyWriter, format exposition.Format, seen map[string]struct{}) {
	r.writeTo(w, format, seen, nil)
}

// writeTo is WriteTo without the families named in withheld (neither
// header nor samples).
func (r *Renderer) writeTo(w *BodyWriter, format exposition.Format, seen map[string]struct{}, withheld map[string]bool) {
	var hdr []byte
	for i, f := range r.kind.Families {
		if withheld[f.Name] {
			continue
		}
		hdr = r.writeHeader(w, hdr, i, r.objects, format, seen)
		r.writeSamples(w, i)
	}
}

func (r *Renderer) writeHeader(w *BodyWriter, hdr []byte, i, objects int, format exposition.Format, seen map[string]struct{}) []byte {
	f := r.kind.Families[i]
	if _, dup := seen[f.Name]; !dup {
		seen[f.Name] = struct{}{}
		if objects > 0 {
			hdr = exposition.AppendHeader(hdr[:0], f.Name, f.Help, string(f.Type), format)
			_, _ = w.Write(hdr)
		}
	}
	return hdr
}

func (r *Renderer) writeSamples(w *BodyWriter, i int) {
	for _, s := range r.zs[i].segs {
		_, _ = w.Write(s)
	}
	if r.zs[i].closed {
		w.member(r.zs[i].buf.Bytes())
	}
	if len(r.bufs[i]) > 0 {
		_, _ = w.Write(r.bufs[i])
	}
	// Packed families may be small: inflate them into one buffer and write it
	// in large pieces.
	if len(r.packed) == 0 {
		return
	}
	// Several scrapes may write one shared result at once: the buffer is
	// theirs, not the renderer's.
	bp := unpackBufs.Get().(*[]byte)
	buf := (*bp)[:0]
	defer func() { *bp = buf[:0]; unpackBufs.Put(bp) }()
	for _, p := range r.packed {
		start := int32(0)
		if i > 0 {
			start = p.ends[i-1]
		}
		if start == p.ends[i] {
			continue
		}
		out, err := p.u.Unpack(buf, p.blob[start:p.ends[i]])
		if err != nil {
			if w.err == nil {
				w.err = err
			}
			return
		}
		if buf = out; len(buf) >= 64<<10 {
			_, _ = w.Write(buf)
			buf = buf[:0]
		}
	}
	if len(buf) > 0 {
		_, _ = w.Write(buf)
	}
}

var newline = []byte{'\n'}

var unpackBufs = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10+4096); return &b }}

// Unpacker inflates one family's bytes of an object added with AddPacked,
// appending them to dst.
type Unpacker interface {
	Unpack(dst, src []byte) ([]byte, error)
}

type packedObject struct {
	blob []byte
	ends []int32
	u    Unpacker
}

// Tally is what a run of objects added with AddPacked holds, as its store
// counted it when it packed the run: per family of the kind, the samples
// and bytes of text; and what rendering its objects dropped or failed at.
type Tally struct {
	Series, Bytes []int32
	Issues        []Issue
}

// Issue is what rendering one object dropped (duplicate samples) or failed
// at (evaluation errors) in family Family (its index in the kind's
// families); Object is the object's place in its run, for the store that
// keeps it.
type Issue struct{ Object, Family, Duplicates, Errors int32 }

// DropPacked forgets the packed objects and deferred graph nodes (a pooled
// renderer would otherwise keep objects' bytes alive that their store has
// since replaced, or a whole collection's graph).
func (r *Renderer) DropPacked() {
	clear(r.packed)
	r.packed = r.packed[:0]
	clear(r.deferred)
	r.deferred = r.deferred[:0]
}

// AddPacked adds a run of objects whose families are kept compressed, each
// family on its own: family i of all of them is blob[ends[i-1]:ends[i]],
// inflated by u as the body is written, and t counts what they hold (their
// bytes cannot be counted without inflating them). The renderer keeps blob
// and ends (which must not change) instead of copying the text, so a scrape
// of pre-rendered objects holds no copy of the body. Packed objects follow
// any added otherwise.
func (r *Renderer) AddPacked(blob []byte, ends []int32, objects int, u Unpacker, t Tally) {
	r.objects += objects
	r.packed = append(r.packed, packedObject{blob, ends, u})
	for i := range r.stats {
		if i < len(t.Series) && i < len(t.Bytes) {
			r.stats[i].Series += int(t.Series[i])
			r.stats[i].Bytes += int(t.Bytes[i])
		}
	}
	for _, is := range t.Issues {
		if int(is.Family) < len(r.stats) {
			r.stats[is.Family].Duplicates += int(is.Duplicates)
			r.stats[is.Family].Errors += int(is.Errors)
		}
	}
}

// AppendTo is WriteTo into a byte slice.
func (r *Renderer) AppendTo(dst []byte, format exposition.Format, seen map[string]struct{}) []byte {
	r.Finish()
	buf := bytes.NewBuffer(dst)
	w := NewBodyWriter(buf, false)
	r.WriteTo(w, format, seen)
	_ = w.Close()
	return buf.Bytes()
}

// KeepRaw turns off compression of large families: for renderers that
// never hold many objects, and to measure rendering on its own.
func (r *Renderer) KeepRaw() { r.raw = true }

// RenderOne renders a single object on its own and returns its families'
// bytes in one buffer, family i ending at ends[i], and what rendering it
// dropped or failed at (nil when nothing): what watch mode keeps per object,
// so that a scrape only copies bytes and its counts stay exact.
func (r *Renderer) RenderOne(obj map[string]any) (blob []byte, ends []int32, issues []Issue) {
	return r.RenderObject(obj, nil, nil)
}

// collectOne is the one object rendered since the last Reset as one buffer,
// and what rendering it dropped or failed at.
func (r *Renderer) collectOne() (blob []byte, ends []int32, issues []Issue) {
	n := 0
	for _, b := range r.bufs {
		n += len(b)
	}
	blob = make([]byte, 0, n)
	ends = make([]int32, len(r.bufs))
	for i, b := range r.bufs {
		blob = append(blob, b...)
		ends[i] = int32(len(blob))
		if st := r.stats[i]; st.Duplicates > 0 || st.Errors > 0 {
			issues = append(issues, Issue{Family: int32(i), Duplicates: int32(st.Duplicates), Errors: int32(st.Errors)})
		}
	}
	return blob, ends, issues
}

// AddRendered adds one object's bytes as RenderOne made them; its samples
// are counted by their line ends (a label value escapes its newlines).
func (r *Renderer) AddRendered(blob []byte, ends []int32) {
	r.objects++
	start := int32(0)
	for i := range r.bufs {
		p := blob[start:ends[i]]
		start = ends[i]
		r.stats[i].Series += bytes.Count(p, newline)
		r.stats[i].Bytes += len(p)
		if r.segment && len(r.bufs[i])+len(p) > cap(r.bufs[i]) {
			// A new segment rather than a grown buffer: growing copies
			// everything held so far, again and again.
			if len(r.bufs[i]) > 0 {
				r.zs[i].segs = append(r.zs[i].segs, r.bufs[i])
			}
			r.bufs[i] = make([]byte, 0, max(min(2*cap(r.bufs[i]), chunk), 4<<10, len(p)))
		}
		r.bufs[i] = append(r.bufs[i], p...)
		r.spill(i)
	}
}
