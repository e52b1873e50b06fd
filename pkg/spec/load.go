// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package spec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sort"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// Warning is something KSM would silently accept that probably is a mistake.
type Warning struct {
	File string
	Line int
	Msg  string
}

func (w Warning) String() string { return fmt.Sprintf("%s:%d: %s", w.File, w.Line, w.Msg) }

// Error is a spec that cannot be served, with where and why.
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

// Load parses a user's CustomResourceStateMetrics document (as KSM does, only
// the first YAML document counts) and compiles it. name is used in messages.
// It keeps kube-state-metrics' meaning: no family of it is opt-in.
func Load(name string, data []byte) (*Plan, []Warning, error) { return load(name, data, false) }

// LoadOwn is Load for one of the project's own spec files (the embedded
// metrics-spec, pkg/policies' families), which may also mark families optIn.
func LoadOwn(name string, data []byte) (*Plan, []Warning, error) { return load(name, data, true) }

func load(name string, data []byte, own bool) (*Plan, []Warning, error) {
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil, &Error{File: name, Line: 1, Msg: "empty spec: no CustomResourceStateMetrics document"}
		}
		return nil, nil, &Error{File: name, Line: yamlErrLine(err), Msg: err.Error()}
	}
	var m Metrics
	if err := root.Decode(&m); err != nil {
		return nil, nil, &Error{File: name, Line: yamlErrLine(err), Msg: err.Error()}
	}
	l := &loader{file: name}
	schema := rootSchema
	if own {
		schema = ownRootSchema
	}
	l.walk(&root, schema, "")
	pos := l.positions(&root)
	plan, err := compile(name, &m, pos, own)
	if err != nil {
		return nil, l.warnings, err
	}
	l.warnings = append(l.warnings, lint(name, plan)...)
	sort.SliceStable(l.warnings, func(i, j int) bool { return l.warnings[i].Line < l.warnings[j].Line })
	return plan, l.warnings, nil
}

// yamlErrLine digs the first "line N" out of a yaml error, which is where the
// library reports it.
func yamlErrLine(err error) int {
	s := err.Error()
	if i := strings.Index(s, "line "); i >= 0 {
		n := 0
		for _, c := range s[i+5:] {
			if c < '0' || c > '9' {
				break
			}
			n = n*10 + int(c-'0')
		}
		if n > 0 {
			return n
		}
	}
	return 1
}

// schema lists the keys KSM reads at each level; anything else is ignored by
// KSM, and by us with a warning. A nil child schema means "any keys".
type schema map[string]*schema

var (
	anyKeys    = (*schema)(nil)
	nestedKeys = schema{"path": nil, "labelFromKey": nil, "labelsFromPath": anyKeys, "valueFrom": nil, "nilIsZero": nil, "aggregate": nil}
	gaugeKeys  = schema{"labelFromKey": nil, "labelsFromPath": anyKeys, "path": nil, "valueFrom": nil, "nilIsZero": nil, "nested": &nestedKeys}
	infoKeys   = schema{"labelFromKey": nil, "labelsFromPath": anyKeys, "path": nil, "nested": &nestedKeys}
	stateKeys  = schema{"labelsFromPath": anyKeys, "path": nil, "list": nil, "labelName": nil, "valueFrom": nil}
	eachKeys   = schema{"type": nil, "gauge": &gaugeKeys, "info": &infoKeys, "stateSet": &stateKeys, "graph": nil}
	metricKeys = schema{"name": nil, "help": nil, "each": &eachKeys, "commonLabels": anyKeys, "labelsFromPath": anyKeys, "errorLogV": nil}
	gvkKeys    = schema{"group": nil, "version": nil, "kind": nil}
	resKeys    = schema{"groupVersionKind": &gvkKeys, "metricNamePrefix": nil, "resourcePlural": nil, "metrics": &metricKeys, "commonLabels": anyKeys, "labelsFromPath": anyKeys, "errorLogV": nil}
	specKeys   = schema{"resources": &resKeys}
	rootKeys   = schema{"kind": nil, "apiVersion": nil, "metadata": anyKeys, "spec": &specKeys}
	rootSchema = &rootKeys
	// The project's own files may also mark a metric optIn.
	ownRootSchema = withKey(rootSchema, []string{"spec", "resources", "metrics"}, "optIn")
)

func init() {
	nestedKeys["nested"] = &nestedKeys
}

// withKey copies s along path and adds key at its end.
func withKey(s *schema, path []string, key string) *schema {
	c := schema{}
	for k, v := range *s {
		c[k] = v
	}
	if len(path) == 0 {
		c[key] = nil
	} else {
		c[path[0]] = withKey(c[path[0]], path[1:], key)
	}
	return &c
}

type loader struct {
	file     string
	warnings []Warning
}

func (l *loader) warn(n *yaml.Node, format string, args ...any) {
	l.warnings = append(l.warnings, Warning{File: l.file, Line: n.Line, Msg: fmt.Sprintf(format, args...)})
}

// walk reports keys that KSM would silently drop, such as the classic typo
// valuesFrom for valueFrom.
func (l *loader) walk(n *yaml.Node, s *schema, where string) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			l.walk(c, s, where)
		}
	case yaml.SequenceNode:
		for _, c := range n.Content {
			l.walk(c, s, where)
		}
	case yaml.MappingNode:
		if s == nil {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			child, known := (*s)[k.Value]
			if !known {
				hint := ""
				if near := closest(k.Value, *s); near != "" {
					hint = fmt.Sprintf(" (did you mean %q?)", near)
				}
				l.warn(k, "unknown key %q%s: kube-state-metrics ignores it, and so do we", where+k.Value, hint)
				continue
			}
			if child != nil {
				l.walk(v, child, where+k.Value+".")
			}
		}
	}
}

func closest(key string, s schema) string {
	best, bestD := "", 3
	for k := range s {
		if d := editDistance(strings.ToLower(key), strings.ToLower(k)); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// positions records the line of each resource and metric, and of the nodes
// inside a metric that validation may complain about.
type positions struct {
	resource []int
	metric   [][]metricPos
}

type metricPos struct {
	line  int
	nodes map[string]int // "each.type", "each.gauge.nested", ... -> line
}

func (l *loader) positions(root *yaml.Node) positions {
	var p positions
	doc := root
	if doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
		doc = doc.Content[0]
	}
	resources := child(child(doc, "spec"), "resources")
	if resources == nil || resources.Kind != yaml.SequenceNode {
		return p
	}
	for _, r := range resources.Content {
		p.resource = append(p.resource, r.Line)
		var ms []metricPos
		if metrics := child(r, "metrics"); metrics != nil && metrics.Kind == yaml.SequenceNode {
			for _, m := range metrics.Content {
				mp := metricPos{line: m.Line, nodes: map[string]int{}}
				collectLines(m, "", mp.nodes)
				ms = append(ms, mp)
			}
		}
		p.metric = append(p.metric, ms)
	}
	return p
}

func child(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func collectLines(n *yaml.Node, prefix string, out map[string]int) {
	if n.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		out[prefix+k.Value] = k.Line
		collectLines(v, prefix+k.Value+".", out)
	}
}

// LoadFS loads every *.yaml file of fsys in name order into one plan, as the
// project's own spec files (LoadOwn): it reads the embedded metrics-spec.
func LoadFS(fsys fs.FS) (*Plan, []Warning, error) {
	names, err := fs.Glob(fsys, "*.yaml")
	if err != nil {
		return nil, nil, err
	}
	plan := &Plan{}
	var warnings []Warning
	for _, n := range names {
		data, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, nil, err
		}
		p, ws, err := LoadOwn(n, data)
		warnings = append(warnings, ws...)
		if err != nil {
			return nil, warnings, err
		}
		plan.Kinds = append(plan.Kinds, p.Kinds...)
	}
	warnings = append(warnings, lintAcross(plan)...)
	return plan, uniq(warnings), nil
}

func uniq(ws []Warning) []Warning {
	seen := map[Warning]bool{}
	out := ws[:0]
	for _, w := range ws {
		if !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	return out
}
