// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package objects_test

import (
	"encoding/json"
	"syscall"
	"testing"

	"github.com/kuadrant/gateway-api-metrics-exporter/internal/fixture"
	metricsspec "github.com/kuadrant/gateway-api-metrics-exporter/metrics-spec"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/engine"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/objects"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/spec"
)

// The decoder's three uses, on the fixture's HTTPRoutes and Gateways with
// the embedded spec's projections: a LIST page of 500 routes (list mode and
// a resync: a decoder per page), watch events one object at a time (one
// decoder for the stream), and `render`'s borrowing decoder. Compare runs
// with benchstat. Besides sec/op (wall time, which varies with whatever else
// the machine runs), each reports cpu-ns/op: the process' CPU time per
// decode, the garbage collector's included, which varies much less.

// loop runs op b.N times and reports its CPU time per iteration.
func loop(b *testing.B, op func()) {
	var start, end syscall.Rusage
	first := true
	for b.Loop() {
		if first {
			_ = syscall.Getrusage(syscall.RUSAGE_SELF, &start)
			first = false
		}
		op()
	}
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &end)
	cpu := func(r syscall.Rusage) int64 { return r.Utime.Nano() + r.Stime.Nano() }
	b.ReportMetric(float64(cpu(end)-cpu(start))/float64(b.N), "cpu-ns/op")
}

func projections(b *testing.B) map[string]*objects.Fields {
	plan, _, err := spec.LoadFS(metricsspec.FS)
	if err != nil {
		b.Fatal(err)
	}
	out := map[string]*objects.Fields{}
	for _, k := range plan.Kinds {
		out[k.GVK.Kind] = engine.Projection(k)
	}
	return out
}

// objectsJSON are 2k routes and 200 Gateways: more distinct strings (names,
// UIDs, hostnames) than a decoder interns, as in a real stream.
func objectsJSON(b *testing.B) [][]byte {
	var raws [][]byte
	for i := range 2200 {
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
	return raws
}

func BenchmarkDecodePage(b *testing.B) {
	var items []any
	for i := range 500 {
		items = append(items, fixture.HTTPRoute(i))
	}
	data, err := json.Marshal(map[string]any{"metadata": map[string]any{"continue": "x"}, "items": items})
	if err != nil {
		b.Fatal(err)
	}
	page := &objects.Fields{Children: map[string]*objects.Fields{"items": projections(b)["HTTPRoute"]}}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	loop(b, func() {
		if _, err := objects.DecodeProjected(data, page); err != nil {
			b.Fatal(err)
		}
	})
}

func benchmarkDecodeObjects(b *testing.B, borrow bool, objs int) {
	fields := projections(b)
	raws := objectsJSON(b)[:objs]
	dec := objects.Decoder{Borrow: borrow}
	b.ReportAllocs()
	n := 0
	loop(b, func() {
		raw := raws[n%len(raws)]
		n++
		_, kind, _ := objects.Head(raw)
		if _, err := dec.Decode(raw, fields[kind]); err != nil {
			b.Fatal(err)
		}
	})
}

func BenchmarkDecodeEvents(b *testing.B) { benchmarkDecodeObjects(b, false, 2200) }
func BenchmarkDecodeBorrow(b *testing.B) { benchmarkDecodeObjects(b, true, 2200) }

// BenchmarkDecodeBorrowFew is BenchmarkDecodeBorrow over 110 objects, whose
// strings the decoder has all met before (engine's BenchmarkOfflineDecode).
func BenchmarkDecodeBorrowFew(b *testing.B) { benchmarkDecodeObjects(b, true, 110) }
