// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

// Command metricsdoc writes METRICS.md from metrics-spec/ (`make generate`);
// `make check-generated` fails when the checked-in file differs.
package main

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/kuadrant/gateway-api-metrics-exporter/internal/testenv"
	metricsspec "github.com/kuadrant/gateway-api-metrics-exporter/metrics-spec"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/engine"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/exposition"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/graph"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/objects"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/spec"
)

func main() {
	doc, err := generate()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Stdout.Write(doc)
}

func generate() ([]byte, error) {
	plan, _, err := spec.LoadFS(metricsspec.FS)
	if err != nil {
		return nil, err
	}
	objs, err := objects.Parse(testenv.AllSamples())
	if err != nil {
		return nil, err
	}
	served, err := demoServed()
	if err != nil {
		return nil, err
	}
	for _, o := range objs {
		// The version the exporter reads the kind at on `make run-local`'s
		// control plane, which customresource_version carries.
		if k := specKind(plan, o); k != nil {
			if err := readAs(served, o, k.GVK.Version); err != nil {
				return nil, err
			}
		}
		// The API server stamps these (generation 1 on create); fix them so
		// the examples are stable.
		if md, ok := o["metadata"].(map[string]any); ok {
			md["creationTimestamp"] = "2026-11-24T06:00:00Z"
			if _, ok := md["generation"]; !ok {
				md["generation"] = int64(1)
			}
		}
	}
	body, _ := engine.RenderObjects(plan, objs, exposition.Text, nil)
	examples := map[string]string{}
	for _, l := range strings.Split(string(body), "\n") {
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		name := l[:strings.IndexAny(l, "{ ")]
		if _, ok := examples[name]; !ok {
			examples[name] = l
		}
	}

	cost, err := graphCost(plan)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	b.WriteString(strings.Replace(intro, "GRAPH_COST", cost, 1))
	for _, c := range readerOrder(plan) {
		fmt.Fprintf(&b, "\n## %s\n", c.title)
		for _, k := range c.kinds {
			writeKind(&b, k, examples)
		}
	}
	section, err := policiesSection()
	if err != nil {
		return nil, err
	}
	b.WriteString(section)
	b.WriteString(outro)
	return []byte(withContents(b.String())), nil
}

// specKind is the spec kind an object is read as: its group and kind.
func specKind(plan *spec.Plan, o map[string]any) *spec.Kind {
	apiVersion, _ := o["apiVersion"].(string)
	kind, _ := o["kind"].(string)
	group, _, _ := strings.Cut(apiVersion, "/")
	for _, k := range plan.Kinds {
		if k.GVK.Group == group && k.GVK.Kind == kind {
			return k
		}
	}
	return nil
}

func writeKind(b *strings.Builder, k *spec.Kind, examples map[string]string) {
	fmt.Fprintf(b, "\n### %s\n\n", k.GVK.Kind)
	fmt.Fprintf(b, "Declared in [`metrics-spec/%s`](metrics-spec/%s) as `%s/%s`; read at that version when the cluster serves it, otherwise at the kind's preferred served version.\n\n",
		fileOf(k), fileOf(k), k.GVK.Group, k.GVK.Version)
	b.WriteString("| family | type | labels | help |\n|---|---|---|---|\n")
	done := map[string]bool{}
	for _, f := range k.Families {
		if done[f.Name] {
			continue // a second declaration of the same family (another object shape)
		}
		done[f.Name] = true
		fmt.Fprintf(b, "| `%s` | %s | %s | %s |\n", f.Name, typeCell(f), labelList(k, f), escapeCell(f.Help))
	}
	b.WriteString("\nExamples, as the exporter serves the demo objects of `internal/testenv/samples` on `make run-local`'s API server (the version read is the one `customresource_version` shows):\n\n```\n")
	done = map[string]bool{}
	for _, f := range k.Families {
		if done[f.Name] {
			continue
		}
		done[f.Name] = true
		switch ex, ok := examples[f.Name]; {
		case ok:
			b.WriteString(ex + "\n")
		case isDeletionFamily(f):
			fmt.Fprintf(b, "# %s: only while the object is being deleted (metadata.deletionTimestamp, set when a finalizer holds a deleted object), so no demo object has it\n", f.Name)
		default:
			fmt.Fprintf(b, "# %s: no sample for the demo objects\n", f.Name)
		}
	}
	b.WriteString("```\n")
}

// isDeletionFamily is a family of metadata.deletionTimestamp.
func isDeletionFamily(f *spec.Family) bool {
	p := f.Each.Path
	return len(p) == 2 && p[0].Raw == "metadata" && p[1].Raw == "deletionTimestamp"
}

func fileOf(k *spec.Kind) string { return k.File }

// typeCell is a family's type, how it iterates, and whether it is opt-in.
func typeCell(f *spec.Family) string {
	typ := string(f.Type)
	for lv := f.Each.Nested; lv != nil; lv = lv.Nested {
		if lv.Aggregate != spec.NoAggregate {
			typ += " (nested, " + lv.Aggregate.String() + ")"
			break
		}
		if lv.Nested == nil {
			typ += " (nested)"
		}
	}
	if f.Graph != spec.NoRelation {
		typ += " ([graph](#the-attachment-graph-what-lies-between-objects))"
	}
	if f.OptIn {
		typ += ", **opt-in**"
	}
	return typ
}

// labelList names every label a family can carry, in KSM's order (sorted);
// a "*" expansion shows where its names come from.
func labelList(k *spec.Kind, f *spec.Family) string {
	set := map[string]bool{}
	for _, c := range f.Common {
		set[spec.FixName(c.Name)] = true
	}
	add := func(ls []spec.PathLabel) {
		for _, l := range ls {
			if l.Star {
				set[fmt.Sprintf("<%skeys of %s>", l.Name, l.Path)] = true
			} else {
				set[l.Name] = true
			}
		}
	}
	add(f.Base)
	add(f.Each.Labels)
	for _, n := range graph.LabelNames(f.Graph) {
		set[n] = true
	}
	for lv := f.Each.Nested; lv != nil; lv = lv.Nested {
		add(lv.Labels)
		if lv.LabelFromKey != "" {
			set[spec.FixName(lv.LabelFromKey)] = true
		}
	}
	for _, n := range []string{f.Each.LabelFromKey, f.Each.LabelName} {
		if n != "" {
			set[spec.FixName(n)] = true
		}
	}
	var names []string
	for n := range set {
		names = append(names, "`"+n+"`")
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func escapeCell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
