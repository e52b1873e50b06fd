// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package engine_test

import (
	"encoding/json"
	"testing"

	"github.com/kuadrant/gateway-api-metrics-exporter/internal/fixture"
	metricsspec "github.com/kuadrant/gateway-api-metrics-exporter/metrics-spec"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/engine"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/objects"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/spec"
)

// BenchmarkOfflineDecode and BenchmarkOfflineAddJSON measure one worker of
// `render` per object (10 routes to 1 Gateway of 8 listeners, as in
// compat/ksmdiff BenchmarkRenderFile): the projected decoding alone, and
// decoding plus rendering.
func offlineObjects(b *testing.B) (*spec.Plan, [][]byte) {
	plan, _, err := spec.LoadFS(metricsspec.FS)
	if err != nil {
		b.Fatal(err)
	}
	var raws [][]byte
	for i := range 110 {
		o := fixture.HTTPRoute(i)
		if i%11 == 10 {
			o = fixture.Gateway(i, 8)
		}
		data, err := json.Marshal(o)
		if err != nil {
			b.Fatal(err)
		}
		raws = append(raws, data)
	}
	return plan, raws
}

func BenchmarkOfflineDecode(b *testing.B) {
	plan, raws := offlineObjects(b)
	fields := map[string]*objects.Fields{}
	for _, k := range plan.Kinds {
		fields[k.GVK.Kind] = engine.Projection(k)
	}
	dec := objects.Decoder{Borrow: true}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		raw := raws[n%len(raws)]
		n++
		_, kind, _ := objects.Head(raw)
		if _, err := dec.Decode(raw, fields[kind]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOfflineAddJSON(b *testing.B) {
	plan, raws := offlineObjects(b)
	off := engine.NewOffline(plan, nil)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if err := off.AddJSON(raws[n%len(raws)]); err != nil {
			b.Fatal(err)
		}
		n++
	}
}
