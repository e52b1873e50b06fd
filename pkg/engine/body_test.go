// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package engine

import (
	"bytes"
	"compress/gzip"
	"io"
	"testing"

	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/exposition"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/spec"
)

// Families that grew past the chunk size are held compressed; the body must
// be the same bytes either way, plain or gzipped.
func TestCompressedFamiliesWriteTheSameBody(t *testing.T) {
	plan, _, err := spec.Load("w.yaml", []byte(`spec:
  resources:
  - groupVersionKind: {group: example.com, version: v1, kind: Widget}
    labelsFromPath: {name: [metadata, name]}
    metrics:
    - {name: n, help: h, each: {type: Gauge, gauge: {path: [spec, items], valueFrom: [v], labelsFromPath: {k: [k]}}}}
    - {name: small, help: h, each: {type: Info, info: {labelsFromPath: {x: [spec, x]}}}}
`))
	if err != nil {
		t.Fatal(err)
	}
	obj := func(i int) map[string]any {
		var items []any
		for j := 0; j < 50; j++ {
			items = append(items, map[string]any{"k": string(rune('a' + j%26)), "v": int64(i*100 + j)})
		}
		return map[string]any{"metadata": map[string]any{"name": "w" + string(rune('A'+i%26)) + string(rune('0'+i%10))}, "spec": map[string]any{"items": items, "x": "y"}}
	}
	render := func(chunkSize int) *Renderer {
		old := chunk
		chunk = chunkSize
		defer func() { chunk = old }()
		r := NewRenderer(plan.Kinds[0], GVK{"example.com", "v1", "Widget"}, nil)
		for i := 0; i < 300; i++ {
			r.Add(obj(i))
		}
		r.Finish()
		return r
	}
	plain := render(1 << 30)
	small := render(64 << 10)
	if !small.zs[0].closed || small.zs[1].started() {
		t.Fatalf("want the big family compressed and the small one raw")
	}
	if small.Size() >= plain.Size() {
		t.Errorf("compressed renderer holds %d bytes, plain %d", small.Size(), plain.Size())
	}
	want := plain.AppendTo(nil, exposition.Text, map[string]struct{}{})
	if got := small.AppendTo(nil, exposition.Text, map[string]struct{}{}); !bytes.Equal(got, want) {
		t.Fatalf("plain body differs (%d vs %d bytes)", len(got), len(want))
	}
	var zipped bytes.Buffer
	w := NewBodyWriter(&zipped, true)
	small.WriteTo(w, exposition.Text, map[string]struct{}{})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(&zipped) // multistream: members concatenated
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("gzipped body differs (%d vs %d bytes)", len(got), len(want))
	}
}
