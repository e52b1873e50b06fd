// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package engine_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/engine"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/exposition"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/objects"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/spec"
)

const statsSpec = `kind: CustomResourceStateMetrics
spec:
  resources:
  - groupVersionKind: {group: example.com, version: v1, kind: Widget}
    metricNamePrefix: w
    labelsFromPath: {name: [metadata, name]}
    metrics:
    - {name: size, help: s, each: {type: Gauge, gauge: {path: [spec, size]}}}
    - {name: port, help: p, each: {type: Gauge, gauge: {path: [spec, ports], labelsFromPath: {n: [name]}, valueFrom: [port]}}}
`

const statsObjects = `
apiVersion: example.com/v1
kind: Widget
metadata: {name: a}
spec: {size: 3, ports: [{name: http, port: 80}, {name: http, port: 8080}, {name: https, port: 443}]}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: b}
spec: {size: big, ports: [{name: http, port: 81}]}
`

// Each family's samples, bytes, duplicates and errors, counted as objects are
// added, whole or packed; expected values from the objects (a: one size,
// three ports of which one repeats "http"; b: a size that is no number, one
// port) and the bytes from the body's own lines.
func TestFamilyStats(t *testing.T) {
	plan, _, err := spec.Load("s.yaml", []byte(statsSpec))
	if err != nil {
		t.Fatal(err)
	}
	objs, err := objects.Parse([]byte(statsObjects))
	if err != nil {
		t.Fatal(err)
	}
	gvk := engine.GVK{Group: "example.com", Version: "v1", Kind: "Widget"}
	var errs []string
	r := engine.NewRenderer(plan.Kinds[0], gvk, func(f *spec.Family, err error) { errs = append(errs, f.Name) })
	for _, o := range objs {
		r.Add(o)
	}
	body := r.AppendTo(nil, exposition.Text, map[string]struct{}{})
	bytesOf := func(family string) int {
		n := 0
		for _, l := range strings.SplitAfter(string(body), "\n") {
			if strings.HasPrefix(l, family+"{") {
				n += len(l)
			}
		}
		return n
	}
	want := []engine.FamilyStats{
		{Series: 1, Bytes: bytesOf("w_size"), Errors: 1},
		{Series: 3, Bytes: bytesOf("w_port"), Duplicates: 1},
	}
	if got := r.Stats(); len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("stats %+v, want %+v (body:\n%s)", got, want, body)
	}
	if len(errs) != 1 || errs[0] != "w_size" {
		t.Errorf("errors reported %q, want w_size once", errs)
	}

	// RenderOne reports what one object dropped or failed at.
	one := engine.NewRenderer(plan.Kinds[0], gvk, nil)
	if _, _, issues := one.RenderOne(objs[0]); len(issues) != 1 || issues[0] != (engine.Issue{Family: 1, Duplicates: 1}) {
		t.Errorf("issues of a: %+v", issues)
	}
	if _, _, issues := one.RenderOne(objs[1]); len(issues) != 1 || issues[0] != (engine.Issue{Family: 0, Errors: 1}) {
		t.Errorf("issues of b: %+v", issues)
	}

	// Reset starts over.
	r.Reset(gvk)
	if got := r.Stats(); got[0] != (engine.FamilyStats{}) || got[1] != (engine.FamilyStats{}) {
		t.Errorf("after Reset: %+v", got)
	}
}

// A withheld family is left out whole, header and samples, from kinds that
// write their own families and from kinds that share one family list (the
// discovered policy kinds); every other byte stays the same.
func TestAssembleWithheld(t *testing.T) {
	plan, _, err := spec.Load("s.yaml", []byte(statsSpec))
	if err != nil {
		t.Fatal(err)
	}
	objs, err := objects.Parse([]byte(statsObjects))
	if err != nil {
		t.Fatal(err)
	}
	shared := *plan.Kinds[0] // same Families slice: assembled family by family
	shared.GVK.Kind = "Gadget"
	write := func(withheld map[string]bool, kinds ...*spec.Kind) []byte {
		var srcs []engine.Source
		for _, k := range kinds {
			r := engine.NewRenderer(k, engine.GVK{Group: "example.com", Version: "v1", Kind: k.GVK.Kind}, nil)
			for _, o := range objs {
				r.Add(o)
			}
			srcs = append(srcs, engine.Source{Renderer: r, Plural: strings.ToLower(k.GVK.Kind) + "s"})
		}
		var b bytes.Buffer
		w := engine.NewBodyWriter(&b, false)
		engine.Assemble(w, srcs, exposition.Text, withheld)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	for _, kinds := range [][]*spec.Kind{{plan.Kinds[0]}, {plan.Kinds[0], &shared}} {
		full := write(nil, kinds...)
		var want []string
		for _, l := range strings.SplitAfter(string(full), "\n") {
			if !strings.HasPrefix(l, "w_port{") && !strings.HasPrefix(l, "# HELP w_port ") && !strings.HasPrefix(l, "# TYPE w_port ") {
				want = append(want, l)
			}
		}
		if got := write(map[string]bool{"w_port": true}, kinds...); string(got) != strings.Join(want, "") || bytes.Contains(got, []byte("w_port")) {
			t.Errorf("%d kinds, w_port withheld:\n%s\nwant:\n%s", len(kinds), got, strings.Join(want, ""))
		}
		if !bytes.Contains(full, []byte("w_port{")) {
			t.Errorf("the full body has no w_port: %s", full)
		}
	}
}
