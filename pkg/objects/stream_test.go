// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package objects

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

func collect(t *testing.T, in string) []Object {
	t.Helper()
	var out []Object
	err := StreamReader(strings.NewReader(in), func(raw []byte) error { return decodeInto(&out, raw) })
	if err != nil {
		t.Fatalf("%q: %v", in, err)
	}
	return out
}

// Expected objects are written by hand from the inputs.
func TestStreamReadsEveryShape(t *testing.T) {
	a := Object{"apiVersion": "v1", "kind": "A", "metadata": map[string]any{"name": "a"}}
	b := Object{"apiVersion": "v1", "kind": "B", "n": int64(2), "f": 1.5}
	for _, tc := range []struct {
		name, in string
		want     []Object
	}{
		{"object", `{"apiVersion":"v1","kind":"A","metadata":{"name":"a"}}`, []Object{a}},
		{"list, items before kind as kubectl prints it", `{"apiVersion":"v1","items":[{"apiVersion":"v1","kind":"A","metadata":{"name":"a"}}, {"apiVersion":"v1","kind":"B","n":2,"f":1.5}],"kind":"List","metadata":{}}`, []Object{a, b}},
		{"typed list, kind first", `{"kind":"HTTPRouteList","items":[{"apiVersion":"v1","kind":"B","n":2,"f":1.5}]}`, []Object{b}},
		{"list inside a list", `{"kind":"List","items":[{"kind":"List","items":[{"apiVersion":"v1","kind":"B","n":2,"f":1.5}]},{"apiVersion":"v1","kind":"A","metadata":{"name":"a"}}]}`, []Object{b, a}},
		{"empty list", `{"kind":"List","items":[]}`, nil},
		{"list inside a top-level array", `[{"kind":"List","items":[{"apiVersion":"v1","kind":"B","n":2,"f":1.5}]}, {"apiVersion":"v1","kind":"A","metadata":{"name":"a"}}]`, []Object{b, a}},
		{"the word items is not a list", `{"kind":"List","items":[{"apiVersion":"v1","kind":"A","metadata":{"name":"a"},"note":"items"}]}`, []Object{{"apiVersion": "v1", "kind": "A", "metadata": map[string]any{"name": "a"}, "note": "items"}}},
		{"list whose items is not an array is an object", `{"kind":"List","items":null}`, []Object{{"kind": "List", "items": nil}}},
		{"top-level array, non-objects skipped", `[{"apiVersion":"v1","kind":"A","metadata":{"name":"a"}}, 3, "x", null]`, []Object{a}},
		{"a stream of values", "{\"apiVersion\":\"v1\",\"kind\":\"A\",\"metadata\":{\"name\":\"a\"}}\n\n 7 {\"apiVersion\":\"v1\",\"kind\":\"B\",\"n\":2,\"f\":1.5}\n", []Object{a, b}},
		{"strings with brackets, quotes and escapes", `{"kind":"List","items":[{"s":"}]\"{[\\","u":"\u00e9"}]}`, []Object{{"s": "}]\"{[\\", "u": "é"}}},
		{"yaml documents", "apiVersion: v1\nkind: A\nmetadata:\n  name: a\n---\n---\nnull\n---\nkind: List\nitems:\n- apiVersion: v1\n  kind: B\n  count: 2\n  f: 1.5\n---\n- x\n", []Object{a, {"apiVersion": "v1", "kind": "B", "count": int64(2), "f": 1.5}}},
		{"nothing", " \n", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := collect(t, tc.in)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %#v\nwant %#v", got, tc.want)
			}
		})
	}
}

func TestStreamRefusesBadInput(t *testing.T) {
	for _, in := range []string{
		`{"kind":"Gateway","items":[{"a":1}]}`, // not a list, yet items: refused, not held
		`{"kind":"List","items":[{"a":1}`,      // cut short
		`{"kind":"List","items":[{"a":1} {"b":2}]}`,
		`{"kind" "List"}`,
		`{"kind":"List","items":[{"a":}]}`, // an item that is not JSON
		`["unterminated`,
	} {
		// As every receiver does, the object is decoded: Stream only cuts.
		err := StreamReader(strings.NewReader(in), func(raw []byte) error { _, err := DecodeJSON(raw); return err })
		if err == nil {
			t.Errorf("%s: no error", in)
		}
	}
}

// The scanner copies a value in runs from the reader's buffer; an escape that
// straddles two buffer fills must not end a string early. Every position of
// the backslash around the 64 KiB buffer boundary is tried.
func TestStreamEscapesAcrossBufferBoundaries(t *testing.T) {
	for pad := 65500; pad < 65560; pad++ {
		s := strings.Repeat("x", pad) + `\"}]\\` + strings.Repeat("y", 10)
		in := `{"kind":"List","items":[{"kind":"A","v":"` + s + `"},{"kind":"B"}]}`
		got := collect(t, in)
		want := []Object{{"kind": "A", "v": strings.Repeat("x", pad) + `"}]\` + strings.Repeat("y", 10)}, {"kind": "B"}}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("pad %d: got %d objects, first value length %d", pad, len(got), len(got[0]["v"].(string)))
		}
	}
}

// A list inside a list is found wherever its "items" key falls, the reader's
// buffer boundary included.
func TestStreamNestedListAcrossBufferBoundaries(t *testing.T) {
	for pad := 65500; pad < 65560; pad++ {
		in := `{"kind":"List","items":[{"pad":"` + strings.Repeat("x", pad) + `","kind":"List","items":[{"kind":"B"}]},{"kind":"A"}]}`
		got := collect(t, in)
		if want := []Object{{"kind": "B"}, {"kind": "A"}}; !reflect.DeepEqual(got, want) {
			t.Fatalf("pad %d: got %d objects: %.80v", pad, len(got), got)
		}
	}
}

// Parse and ReadAll are Stream plus DecodeJSON: a big list is read whole and
// in order.
func TestParseLargeList(t *testing.T) {
	var b bytes.Buffer
	b.WriteString(`{"apiVersion":"v1","items":[`)
	for i := range 3000 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"kind":"A","i":` + strings.Repeat("1", 1+i%9) + `,"pad":"` + strings.Repeat("p", i%200) + `"}`)
	}
	b.WriteString(`],"kind":"List"}`)
	objs, err := Parse(b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 3000 {
		t.Fatalf("%d objects", len(objs))
	}
	if objs[2999]["pad"] != strings.Repeat("p", 2999%200) {
		t.Errorf("last object: %v", objs[2999])
	}
}

// Head reads the apiVersion and kind wherever they stand, and stops once it
// has both.
func TestHead(t *testing.T) {
	for in, want := range map[string][2]string{
		`{"apiVersion":"gateway.networking.k8s.io/v1","kind":"HTTPRoute","spec":{"x":[1,2]}}`:      {"gateway.networking.k8s.io/v1", "HTTPRoute"},
		`{"metadata":{"name":"a","labels":{"kind":"x"}},"kind":"A","status":{},"apiVersion":"v1"}`: {"v1", "A"},
		`{"kind":"A"}`:                   {"", "A"},
		`{}`:                             {"", ""},
		`{"apiVersion":1,"kind":"A"}`:    {"", "A"},
		`{"kind":"A","apiVersion":"v1",`: {"v1", "A"}, // stops before the damage; the full decode finds it
	} {
		av, k, err := Head([]byte(in))
		if err != nil || av != want[0] || k != want[1] {
			t.Errorf("%s: %q %q %v, want %q", in, av, k, err, want)
		}
	}
	for _, in := range []string{`[]`, `{"kind"`, `{"a":}`, `{"a" 1}`} {
		if _, _, err := Head([]byte(in)); err == nil {
			t.Errorf("%s: no error", in)
		}
	}
}

// FuzzStream: for any one JSON value, streaming reads the same objects as
// decoding it whole and expanding its lists (Flatten), as Parse did before
// it streamed, except that an object
// with a top-level items array which is not a list is refused.
func FuzzStream(f *testing.F) {
	for _, s := range []string{
		`{"kind":"List","items":[{"a":"\"}]"},{"kind":"List","items":[{"b":1}]}]}`, `[{"a":1},2,[{"b":"\\"}]]`,
		`{"apiVersion":"v1","items":[],"kind":"FooList"}`, `{"kind":"X","items":[1]}`, `{"items":{"a":[1]}}`, `"s"`, `{"a":"\u00e9\ud83d\ude80"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if t := bytes.TrimLeft(data, " \t\r\n"); len(t) == 0 || (t[0] != '{' && t[0] != '[') {
			return // anything else is read as YAML
		}
		v, err := DecodeJSON(data)
		if err != nil {
			return
		}
		var want []Object
		switch v := v.(type) {
		case []any:
			for _, e := range v {
				want = append(want, Flatten(e)...)
			}
		default:
			want = Flatten(v)
		}
		got, err := Parse(data)
		if m, ok := v.(map[string]any); ok {
			if _, isArray := m["items"].([]any); isArray && !isList(m) {
				if err == nil {
					t.Fatalf("%q: an object with items that is not a list was not refused", data)
				}
				return
			}
		}
		if err != nil {
			t.Fatalf("%q decodes whole but not streamed: %v", data, err)
		}
		if len(got) != len(want) || (len(got) > 0 && !reflect.DeepEqual(got, want)) {
			t.Fatalf("%q:\nstreamed %#v\nwhole    %#v", data, got, want)
		}
	})
}
