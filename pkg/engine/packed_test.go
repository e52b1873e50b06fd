// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package engine

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/exposition"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/spec"
)

// reversed is a stand-in compression: each family's bytes stored reversed.
type reversed struct{ fail bool }

func (r reversed) Unpack(dst, src []byte) ([]byte, error) {
	if r.fail {
		return nil, errors.New("corrupt")
	}
	for i := len(src) - 1; i >= 0; i-- {
		dst = append(dst, src[i])
	}
	return dst, nil
}

// tally counts one object as a store does when it packs it.
func tally(blob []byte, ends []int32, issues []Issue) Tally {
	t := Tally{Issues: issues}
	start := int32(0)
	for _, end := range ends {
		t.Series = append(t.Series, int32(bytes.Count(blob[start:end], []byte("\n"))))
		t.Bytes = append(t.Bytes, end-start)
		start = end
	}
	return t
}

func pack(blob []byte, ends []int32) []byte {
	out := make([]byte, 0, len(blob))
	start := int32(0)
	for _, end := range ends {
		for i := end - 1; i >= start; i-- {
			out = append(out, blob[i])
		}
		start = end
	}
	return out
}

// Objects added packed (family by family, inflated as the body is written)
// give the same body as the same objects added whole; a family an object
// has no sample of stays empty; an Unpacker's failure fails the body.
func TestPackedObjectsWriteTheSameBody(t *testing.T) {
	plan, _, err := spec.Load("w.yaml", []byte(`spec:
  resources:
  - groupVersionKind: {group: example.com, version: v1, kind: Widget}
    labelsFromPath: {name: [metadata, name]}
    metrics:
    - {name: n, help: h, each: {type: Gauge, gauge: {path: [spec, items], valueFrom: [v], labelsFromPath: {k: [k]}}}}
    - {name: opt, help: h, each: {type: Info, info: {labelsFromPath: {x: [spec, x]}}}}
`))
	if err != nil {
		t.Fatal(err)
	}
	gvk := GVK{"example.com", "v1", "Widget"}
	var objs []map[string]any
	for i := range 40 {
		spec := map[string]any{"items": []any{map[string]any{"k": "a", "v": int64(i)}, map[string]any{"k": "b", "v": int64(-i)}}}
		if i%3 == 0 {
			spec["x"] = "y" // only some objects have the second family
		}
		objs = append(objs, map[string]any{"metadata": map[string]any{"name": string(rune('a'+i%26)) + string(rune('0'+i/26))}, "spec": spec})
	}
	whole := NewRenderer(plan.Kinds[0], gvk, nil)
	one := NewRenderer(plan.Kinds[0], gvk, nil)
	packed := NewRenderer(plan.Kinds[0], gvk, nil)
	for _, o := range objs {
		whole.Add(o)
		blob, ends, issues := one.RenderOne(o)
		packed.AddPacked(pack(blob, ends), ends, 1, reversed{}, tally(blob, ends, issues))
	}
	want := whole.AppendTo(nil, exposition.Text, map[string]struct{}{})
	if got := packed.AppendTo(nil, exposition.Text, map[string]struct{}{}); !bytes.Equal(got, want) {
		t.Fatalf("packed body:\n%s\nwant:\n%s", got, want)
	}
	if got, want := packed.Stats(), whole.Stats(); fmt.Sprint(got) != fmt.Sprint(want) || want[0].Series != 80 || want[1].Series != 14 {
		t.Errorf("packed stats %v, whole %v; want 80 and 14 samples", got, want)
	}

	bad := NewRenderer(plan.Kinds[0], gvk, nil)
	blob, ends, _ := one.RenderOne(objs[0])
	bad.AddPacked(blob, ends, 1, reversed{fail: true}, Tally{})
	w := NewBodyWriter(&bytes.Buffer{}, false)
	bad.WriteTo(w, exposition.Text, map[string]struct{}{})
	if err := w.Close(); err == nil {
		t.Errorf("an Unpacker's error did not fail the body")
	}
}
