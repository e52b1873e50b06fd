// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package ksmdiff

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"testing"

	"github.com/kuadrant/gateway-api-metrics-exporter/internal/refdata"
	metricsspec "github.com/kuadrant/gateway-api-metrics-exporter/metrics-spec"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/engine"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/exposition"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/objects"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/spec"
)

// The scrape path decodes only what a spec can observe
// (engine.Projection + objects.DecodeProjected). It must render exactly what
// the generic decoder renders, for every config and every odd object.
func TestProjectionRendersTheSame(t *testing.T) {
	embedded, _, err := spec.LoadFS(metricsspec.FS)
	if err != nil {
		t.Fatal(err)
	}
	rules, _, err := spec.Load("rules", []byte(rulesConfig))
	if err != nil {
		t.Fatal(err)
	}
	plans := map[string]*spec.Plan{"embedded": embedded, "rules": rules}
	if _, ok := refdata.Optional(t, "anchors"); ok {
		for _, cfg := range []string{"kuadrant", "default"} {
			p, _, err := spec.Load(cfg, oldConfig(t, cfg))
			if err != nil {
				t.Fatal(err)
			}
			plans[cfg] = p
		}
	}
	g := NewGen(7)
	var objs []map[string]any
	for _, k := range kinds {
		for i := 0; i < 100; i++ {
			objs = append(objs, g.Object(k.apiVersion, k.kind))
			objs = append(objs, g.Object("gateway.networking.k8s.io/v1", k.kind))
		}
	}
	for i := 0; i < 300; i++ {
		objs = append(objs, g.Object("example.com/v1", "Widget"), g.Object("example.com/v1", "Gadget"))
	}
	lines := 0
	for name, plan := range plans {
		projections := map[string]*objects.Fields{}
		for _, k := range plan.Kinds {
			projections[k.GVK.Group+"/"+k.GVK.Kind] = engine.Projection(k)
		}
		var projected []map[string]any
		for _, o := range objs {
			data, err := json.Marshal(o)
			if err != nil {
				t.Fatal(err)
			}
			gv, _ := o["apiVersion"].(string)
			group := gv[:max(0, bytes.LastIndexByte([]byte(gv), '/'))]
			f := projections[group+"/"+o["kind"].(string)]
			if f == nil {
				continue
			}
			v, err := objects.DecodeProjected(data, f)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			projected = append(projected, v.(map[string]any))
		}
		for _, format := range []exposition.Format{exposition.Text, exposition.OpenMetrics} {
			full, _ := engine.RenderObjects(plan, objs, format, nil)
			proj, _ := engine.RenderObjects(plan, projected, format, nil)
			if !bytes.Equal(full, proj) {
				a, b := Split(full), Split(proj)
				t.Errorf("%s: projected decode renders differently (%d vs %d bytes, %d vs %d families)", name, len(full), len(proj), len(a), len(b))
				_, diffs := Diff(proj, full, false)
				for i, d := range diffs {
					if i > 10 {
						break
					}
					t.Error(d)
				}
			}
			lines += bytes.Count(full, []byte("\n"))
		}
	}
	t.Logf("projected decode: %d lines rendered identically across %d configs", lines, len(plans))
}

// DecodeProjected with everything selected decodes exactly like client-go's
// decoder, odd strings and numbers included.
func TestProjectedDecoderMatchesClientGo(t *testing.T) {
	g := NewGen(9)
	all := &objects.Fields{All: true}
	docs := [][]byte{
		[]byte(`{"a":"\ud800x","b":"\ud83d\ude80","c":"\u00e9\n\t\"\\\/","d":1.0,"e":1e3,"f":-0,"g":12345678901234567890,"h":[],"i":{},"j":null,"k":true,"l":"` + "\xff\xfe ok" + `"}`),
		[]byte(`[1, 2.5, "x", {"y": [null]}]`),
	}
	for i := 0; i < 300; i++ {
		data, _ := json.Marshal(g.Object("example.com/v1", "Widget"))
		docs = append(docs, data)
	}
	for _, d := range docs {
		want, err := objects.DecodeJSON(d)
		if err != nil {
			t.Fatal(err)
		}
		got, err := objects.DecodeProjected(d, all)
		if err != nil {
			t.Fatalf("%s: %v", d, err)
		}
		wj, _ := json.Marshal(want)
		gj, _ := json.Marshal(got)
		if !bytes.Equal(wj, gj) || fmtTypes(want) != fmtTypes(got) {
			t.Errorf("decoders differ on %s:\nclient-go: %s %s\nours:      %s %s", d, wj, fmtTypes(want), gj, fmtTypes(got))
		}
	}
}

// fmtTypes prints a value's Go types, so int64 vs float64 differences show.
func fmtTypes(v any) string {
	var b bytes.Buffer
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for _, k := range sortedKeys(x) {
				b.WriteString(k + ":")
				walk(x[k])
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		default:
			fmt.Fprintf(&b, "%T(%v),", v, v)
		}
	}
	walk(v)
	return b.String()
}

func sortedKeys(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
