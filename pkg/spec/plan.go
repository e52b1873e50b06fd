// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package spec

import (
	"fmt"
	"sort"
	"strings"

	"github.com/kuadrant/gateway-api-metrics-exporter/compat"
)

// Type is a family's metric type as KSM stores it (lower case).
type Type string

const (
	Gauge    Type = "gauge"
	Info     Type = "info"
	StateSet Type = "stateset"
)

// Plan is a compiled spec: immutable once built, shared by every scrape.
type Plan struct {
	Kinds []*Kind
}

// Kind is one spec.resources entry.
type Kind struct {
	GVK      GroupVersionKind
	Plural   string // resourcePlural; empty means "ask discovery, else pluralise the kind"
	Families []*Family
	File     string
	Line     int
	// Discovered marks a kind the exporter found on its own (pkg/policies),
	// which no spec the user gave declares: when RBAC forbids listing it, it
	// is skipped (no series, no gateway_metrics_up) instead of reported down,
	// since nobody asked for it.
	Discovered bool
}

// Family is one metric family of a kind.
type Family struct {
	Name string
	Help string
	Type Type
	// Common are constant labels (resource commonLabels, the customresource_*
	// labels, metric commonLabels; later entries win), sorted by name.
	Common []ConstLabel
	// Base labels are resolved against the object root; they only fill in
	// names that the per-element labels leave unset.
	Base []PathLabel
	// BaseID is equal for families of a kind whose constant and base labels
	// are the same, so a renderer computes them once per object.
	BaseID int
	Each   Each
	// Graph, when set, makes the samples those of a relation of the
	// attachment graph (each.graph); Each is then unused.
	Graph     Relation
	ErrorLogV int32
	// OptIn families are served only when --metric-opt-in-list names them.
	// Only the project's own spec files set it (see Generator.OptIn).
	OptIn bool
	File  string
	Line  int
}

// GVKPart marks a common label whose value is the group, version or kind
// actually read, which can differ from the spec when the cluster serves
// another version.
type GVKPart byte

const (
	NotGVK GVKPart = iota
	GVKGroup
	GVKVersion
	GVKKind
)

type ConstLabel struct {
	Name  string
	Value string
	GVK   GVKPart
}

// PathLabel is one labelsFromPath entry. A star entry ("*", "prefix_*",
// "*suffix") copies every key of the map at Path.
type PathLabel struct {
	Name   string // sanitised; for a star entry, the prefix
	Star   bool
	Path   Path
	RawKey string
	// Shared is how many leading segments Path has in common with the path
	// of the label before it, so an evaluator can resume from there (labels
	// under one parent, such as parentRef.*, walk the parent once).
	Shared int
}

// Each is the per-element part of a family.
type Each struct {
	Path         Path
	Labels       []PathLabel // star entries first (by key), then the rest (by key)
	ValueFrom    Path
	NilIsZero    bool
	LabelFromKey string
	// StateSet
	List      []string
	LabelName string
	// Nested is our extension; nil for every KSM config. With Nested set,
	// LabelFromKey means Path is a map whose entries are iterated (see Level).
	Nested *Level
}

// Level is one nested iteration.
type Level struct {
	Path Path
	// LabelFromKey, if set, iterates the map at Path entry by entry: the key
	// becomes this label and the entry's value is iterated as a list.
	LabelFromKey string
	Labels       []PathLabel
	ValueFrom    Path
	NilIsZero    bool
	// Aggregate, on the innermost level only, folds the values of the
	// level's elements under one element of the enclosing level into a
	// single sample carrying the enclosing levels' labels.
	Aggregate Aggregate
	Nested    *Level
}

// Aggregate is how an aggregating level folds its elements' values.
type Aggregate byte

const (
	NoAggregate Aggregate = iota
	Min
	Max
)

// String is the aggregate as the spec writes it.
func (a Aggregate) String() string {
	switch a {
	case Min:
		return "min"
	case Max:
		return "max"
	}
	return ""
}

func compile(file string, m *Metrics, pos positions, own bool) (*Plan, error) {
	plan := &Plan{}
	for ri, r := range m.Spec.Resources {
		rline := at(pos.resource, ri)
		k := &Kind{GVK: r.GroupVersionKind, Plural: r.ResourcePlural, File: file, Line: rline}
		if r.GroupVersionKind.Group == "" || r.GroupVersionKind.Version == "" || r.GroupVersionKind.Kind == "" {
			return nil, &Error{File: file, Line: rline, Msg: fmt.Sprintf("groupVersionKind needs group, version and kind, got %+v", r.GroupVersionKind)}
		}
		prefix := "kube_customresource"
		if r.MetricNamePrefix != nil {
			prefix = *r.MetricNamePrefix
		}
		for mi, g := range r.Metrics {
			mp := metricPos{line: rline, nodes: map[string]int{}}
			if ri < len(pos.metric) && mi < len(pos.metric[ri]) {
				mp = pos.metric[ri][mi]
			}
			f, err := compileFamily(file, prefix, r, g, mp)
			if err != nil {
				return nil, err
			}
			f.OptIn = own && g.OptIn
			k.Families = append(k.Families, f)
		}
		assignBaseIDs(k)
		plan.Kinds = append(plan.Kinds, k)
	}
	return plan, nil
}

func at(lines []int, i int) int {
	if i < len(lines) {
		return lines[i]
	}
	return 1
}

func compileFamily(file, prefix string, r Resource, g Generator, mp metricPos) (*Family, error) {
	fail := func(node string, format string, args ...any) error {
		line := mp.line
		if l, ok := mp.nodes[node]; ok {
			line = l
		}
		return &Error{File: file, Line: line, Msg: fmt.Sprintf("metric %q: ", g.Name) + fmt.Sprintf(format, args...)}
	}
	name := g.Name
	if prefix != "" {
		name = prefix + "_" + g.Name
	}
	f := &Family{Name: name, Help: g.Help, ErrorLogV: g.ErrorLogV, File: file, Line: mp.line}
	if f.ErrorLogV == 0 {
		f.ErrorLogV = r.ErrorLogV
	}

	// Constant labels in KSM's order of precedence.
	common := map[string]ConstLabel{}
	for k, v := range r.CommonLabels {
		common[k] = ConstLabel{Name: k, Value: v}
	}
	common["customresource_group"] = ConstLabel{Name: "customresource_group", Value: r.GroupVersionKind.Group, GVK: GVKGroup}
	common["customresource_version"] = ConstLabel{Name: "customresource_version", Value: r.GroupVersionKind.Version, GVK: GVKVersion}
	common["customresource_kind"] = ConstLabel{Name: "customresource_kind", Value: r.GroupVersionKind.Kind, GVK: GVKKind}
	for k, v := range g.CommonLabels {
		common[k] = ConstLabel{Name: k, Value: v}
	}
	for _, c := range common {
		f.Common = append(f.Common, c)
	}
	sort.Slice(f.Common, func(i, j int) bool { return f.Common[i].Name < f.Common[j].Name })

	base := map[string][]string{}
	for k, v := range r.LabelsFromPath {
		base[k] = v
	}
	for k, v := range g.LabelsFromPath {
		base[k] = v
	}
	var err error
	if f.Base, err = compileLabels(base); err != nil {
		return nil, fail("labelsFromPath", "labelsFromPath: %v", err)
	}

	t := Type(strings.ToLower(g.Each.Type))
	f.Type = t
	if g.Each.Graph != "" {
		if f.Graph, err = ParseRelation(g.Each.Graph); err != nil {
			return nil, fail("each.graph", "each.graph: %v", err)
		}
		if t != Gauge && t != Info {
			return nil, fail("each.type", "each.graph: type must be Gauge or Info, got %q", g.Each.Type)
		}
		if len(g.LabelsFromPath) > 0 {
			// A graph family is rendered again from the graph when other
			// objects change, without its object: only the resource's own
			// labelsFromPath are kept for that.
			return nil, fail("labelsFromPath", "each.graph: a graph family takes the resource's labelsFromPath only")
		}
		if g.Each.Gauge != nil || g.Each.Info != nil || g.Each.StateSet != nil {
			return nil, fail("each.graph", "each.graph: the samples come from the graph; remove each.%s", map[Type]string{Gauge: "gauge", Info: "info"}[t])
		}
		return f, nil
	}
	var meta MetricMeta
	var nested *Nested
	switch t {
	case Gauge:
		if g.Each.Gauge == nil {
			return nil, fail("each", "expected each.gauge to not be nil")
		}
		gg := g.Each.Gauge
		meta, nested = gg.MetricMeta, gg.Nested
		f.Each.LabelFromKey, f.Each.NilIsZero = gg.LabelFromKey, gg.NilIsZero
		if f.Each.ValueFrom, err = CompilePath(gg.ValueFrom); err != nil {
			return nil, fail("each.gauge.valueFrom", "each.gauge.valueFrom: %v", err)
		}
		if nested != nil {
			switch {
			case len(gg.ValueFrom) > 0:
				return nil, fail("each.gauge.nested", "each.gauge: valueFrom and nested exclude each other; put valueFrom inside the innermost nested level")
			case gg.NilIsZero:
				return nil, fail("each.gauge.nested", "each.gauge: nilIsZero goes inside the innermost nested level")
			}
		}
	case Info:
		if g.Each.Info == nil {
			return nil, fail("each", "expected each.info to not be nil")
		}
		meta, nested = g.Each.Info.MetricMeta, g.Each.Info.Nested
		f.Each.LabelFromKey = g.Each.Info.LabelFromKey
	case StateSet:
		if g.Each.StateSet == nil {
			return nil, fail("each", "expected each.stateSet to not be nil")
		}
		if _, ok := mp.nodes["each.stateSet.nested"]; ok {
			return nil, fail("each.stateSet.nested", "each.stateSet: nested is only supported for Gauge and Info")
		}
		ss := g.Each.StateSet
		meta = ss.MetricMeta
		f.Each.List, f.Each.LabelName = ss.List, ss.LabelName
		if f.Each.ValueFrom, err = CompilePath(ss.ValueFrom); err != nil {
			return nil, fail("each.stateSet.valueFrom", "each.stateSet.valueFrom: %v", err)
		}
	default:
		return nil, fail("each.type", "compiling metric: unknown metric type %s (want Gauge, Info or StateSet)", g.Each.Type)
	}
	typeKey := map[Type]string{Gauge: "gauge", Info: "info", StateSet: "stateSet"}[t]
	if f.Each.Path, err = CompilePath(meta.Path); err != nil {
		return nil, fail("each."+typeKey+".path", "each.%s path: %v", typeKey, err)
	}
	if f.Each.Labels, err = compileLabels(meta.LabelsFromPath); err != nil {
		return nil, fail("each."+typeKey+".labelsFromPath", "each.%s labelsFromPath: %v", typeKey, err)
	}
	if nested != nil {
		where := "each." + typeKey + ".nested"
		if f.Each.Nested, err = compileLevel(nested, t, where, fail); err != nil {
			return nil, err
		}
	}
	return f, nil
}

func compileLevel(n *Nested, t Type, where string, fail func(string, string, ...any) error) (*Level, error) {
	if len(n.Path) == 0 {
		return nil, fail(where, "%s: path is required (the list to iterate inside each element)", where)
	}
	lv := &Level{NilIsZero: n.NilIsZero, LabelFromKey: n.LabelFromKey}
	var err error
	if lv.Path, err = CompilePath(n.Path); err != nil {
		return nil, fail(where+".path", "%s.path: %v", where, err)
	}
	if lv.Labels, err = compileLabels(n.LabelsFromPath); err != nil {
		return nil, fail(where+".labelsFromPath", "%s.labelsFromPath: %v", where, err)
	}
	if lv.ValueFrom, err = CompilePath(n.ValueFrom); err != nil {
		return nil, fail(where+".valueFrom", "%s.valueFrom: %v", where, err)
	}
	if t == Info && (len(n.ValueFrom) > 0 || n.NilIsZero) {
		return nil, fail(where, "%s: an Info family has no value; remove valueFrom/nilIsZero", where)
	}
	switch n.Aggregate {
	case "":
	case "min":
		lv.Aggregate = Min
	case "max":
		lv.Aggregate = Max
	default:
		return nil, fail(where+".aggregate", "%s.aggregate: %q is not an aggregate (min or max)", where, n.Aggregate)
	}
	if lv.Aggregate != NoAggregate {
		switch {
		case t != Gauge:
			return nil, fail(where+".aggregate", "%s.aggregate: only a Gauge has values to aggregate", where)
		case n.Nested != nil:
			return nil, fail(where+".aggregate", "%s.aggregate belongs to the innermost level", where)
		case len(n.LabelsFromPath) > 0 || n.LabelFromKey != "":
			// The elements folded into one sample would carry different
			// labels: there would be no single sample to give them to.
			return nil, fail(where+".aggregate", "%s.aggregate folds the level's elements into one sample: it takes no labelsFromPath or labelFromKey", where)
		}
	}
	if n.Nested != nil {
		if len(n.ValueFrom) > 0 || n.NilIsZero {
			return nil, fail(where+".nested", "%s: valueFrom and nilIsZero belong to the innermost level only", where)
		}
		if lv.Nested, err = compileLevel(n.Nested, t, where+".nested", fail); err != nil {
			return nil, err
		}
	}
	return lv, nil
}

// compileLabels orders labelsFromPath as KSM applies them: star entries first
// (sorted), so that plain entries override what a star expansion set.
func compileLabels(in map[string][]string) ([]PathLabel, error) {
	var stars, plain []PathLabel
	for k, segs := range in {
		p, err := CompilePath(segs)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		if strings.HasPrefix(k, "*") || strings.HasSuffix(k, "*") {
			prefix := ""
			if strings.HasSuffix(k, "*") {
				prefix = k[:len(k)-1]
			}
			stars = append(stars, PathLabel{Name: prefix, Star: true, Path: p, RawKey: k})
			continue
		}
		plain = append(plain, PathLabel{Name: compat.FixLabelName(compat.SanitizeLabelName(k)), Path: p, RawKey: k})
	}
	sort.Slice(stars, func(i, j int) bool { return stars[i].RawKey < stars[j].RawKey })
	sort.Slice(plain, func(i, j int) bool { return plain[i].RawKey < plain[j].RawKey })
	for i := 1; i < len(plain); i++ {
		a, b := plain[i-1].Path, plain[i].Path
		n := 0
		for n < len(a) && n < len(b) && a[n].Raw == b[n].Raw {
			n++
		}
		plain[i].Shared = n
	}
	return append(stars, plain...), nil
}

// lint finds what KSM would serve but Prometheus would choke on, or what
// almost certainly is a mistake.
func lint(file string, p *Plan) []Warning {
	var ws []Warning
	ws = append(ws, lintAcross(p)...)
	for _, k := range p.Kinds {
		for _, f := range k.Families {
			for _, c := range f.Common {
				if c.GVK == NotGVK && !validPromName(c.Name) {
					ws = append(ws, Warning{file, f.Line, fmt.Sprintf("family %s: commonLabels key %q is not a valid label name; it is served as %q (kube-state-metrics would emit it raw and break the scrape)", f.Name, c.Name, FixName(c.Name))})
				}
			}
			for _, labels := range [][]PathLabel{f.Base, f.Each.Labels} {
				for _, l := range labels {
					if !l.Star && compat.SanitizeLabelName(l.RawKey) != l.Name {
						ws = append(ws, Warning{file, f.Line, fmt.Sprintf("family %s: label %q starts with a digit after sanitising; it is served as %q (kube-state-metrics would emit it raw and break the scrape)", f.Name, l.RawKey, l.Name)})
					}
				}
			}
			names := []string{f.Each.LabelFromKey, f.Each.LabelName}
			for lv := f.Each.Nested; lv != nil; lv = lv.Nested {
				names = append(names, lv.LabelFromKey)
			}
			for _, n := range names {
				if n != "" && !validPromName(n) {
					ws = append(ws, Warning{file, f.Line, fmt.Sprintf("family %s: label name %q is not valid; it is served as %q", f.Name, n, FixName(n))})
				}
			}
		}
	}
	return ws
}

func validPromName(s string) bool {
	return compat.SanitizeLabelName(s) == s && compat.ValidLabelName(s)
}

// FixName turns any string into a valid Prometheus label name.
func FixName(s string) string { return compat.FixLabelName(compat.SanitizeLabelName(s)) }

// lintAcross warns about a family name declared twice, unless the two are
// adjacent in one kind with the same help and type: that is how one family
// covers two shapes of an object (the output stays one contiguous family).
func lintAcross(p *Plan) []Warning {
	var ws []Warning
	seen := map[string]*Family{}
	for _, k := range p.Kinds {
		for i, f := range k.Families {
			prev, dup := seen[f.Name]
			if !dup {
				seen[f.Name] = f
				continue
			}
			if i > 0 && k.Families[i-1].Name == f.Name && k.Families[i-1].Help == f.Help && k.Families[i-1].Type == f.Type {
				continue
			}
			ws = append(ws, Warning{f.File, f.Line, fmt.Sprintf("family %s is declared twice (first at %s:%d): only the first gets HELP/TYPE, as in kube-state-metrics", f.Name, prev.File, prev.Line)})
		}
	}
	return ws
}

func assignBaseIDs(k *Kind) {
	ids := map[string]int{}
	for _, f := range k.Families {
		sig := fmt.Sprintf("%q|", f.Common)
		for _, l := range f.Base {
			sig += fmt.Sprintf("%q=%s|", l.RawKey, l.Path)
		}
		id, ok := ids[sig]
		if !ok {
			id = len(ids) + 1
			ids[sig] = id
		}
		f.BaseID = id
	}
}
