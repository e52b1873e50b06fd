// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package objects

import (
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

// FuzzDecodeProjected: with everything selected, the projected decoder must
// decode any JSON that client-go's decoder accepts into the same values.
func FuzzDecodeProjected(f *testing.F) {
	for _, s := range []string{
		`{"a":"\ud800x","b":"\ud83d\ude80","c":"\u00e9\n\t\"\\\/","d":1.0,"e":1e3,"f":-0,"g":12345678901234567890,"h":[],"i":{},"j":null,"k":true}`,
		`[1, 2.5, "x", {"y": [null, false]}]`, `"\xff"`, `{"a":{"a":{"a":[[[]]]}}}`, `  -1.5e-7 `, `{"dup":1,"dup":2}`,
		`{"é":"ü","\u00e9x":"\xffa","\xc3":"\xc3\xa9"}`,
	} {
		f.Add([]byte(s))
	}
	all := &Fields{All: true}
	f.Fuzz(func(t *testing.T, data []byte) {
		want, err := DecodeJSON(data)
		if err != nil {
			return
		}
		got, err := DecodeProjected(data, all)
		if err != nil {
			t.Fatalf("client-go decodes %q but we fail: %v", data, err)
		}
		if !reflect.DeepEqual(want, got) {
			t.Fatalf("%q:\nclient-go: %#v\nours:      %#v", data, want, got)
		}
		borrowing := Decoder{Borrow: true}
		if got, err = borrowing.Decode(data, all); err != nil || !reflect.DeepEqual(want, got) {
			t.Fatalf("%q: borrowing strings:\nclient-go: %#v\nours:      %#v (%v)", data, want, got, err)
		}
	})
}

// A compiled projection picks the same keys whether it keeps its children
// as lists (few) or in a map (many), escaped and non-ASCII keys included.
func TestCompiledProjectionPicksKeys(t *testing.T) {
	data := []byte(`{"a":1,"é":2,"\u00e9":3,"k7":{"x":1,"y":2},"b":"\u00fc","zz":[{"x":1,"q":2}]}`)
	for _, extra := range []int{0, 30} {
		f := &Fields{}
		for _, k := range []string{"a", "é", "b"} {
			f.Child(k).All = true
		}
		f.Child("k7").Child("x").All = true
		f.Child("zz").Child("q").All = true
		for i := range extra {
			f.Child(fmt.Sprintf("absent-%d", i)).All = true
		}
		c := f.Compile()
		if (c.keys != nil) != (extra == 0) {
			t.Fatalf("%d children: lists %v", len(c.Children), c.keys)
		}
		got, err := DecodeProjected(data, c)
		if err != nil {
			t.Fatal(err)
		}
		// "é" twice: the escaped spelling comes later and wins, as in
		// client-go's decoding.
		want := map[string]any{"a": int64(1), "é": int64(3), "b": "ü", "k7": map[string]any{"x": int64(1)}, "zz": []any{map[string]any{"q": int64(2)}}}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%d children: got %#v", len(c.Children), got)
		}
	}
}

func TestProjectionSkipsWhatIsNotSelected(t *testing.T) {
	f := &Fields{}
	f.Child("keep").All = true
	f.Child("list").Child("x").All = true
	v, err := DecodeProjected([]byte(`{"keep":{"a":1},"drop":{"deep":[1,2,{"b":"\"}"}]},"list":[{"x":1,"y":2},{"y":3}]}`), f)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"keep": map[string]any{"a": int64(1)}, "list": []any{map[string]any{"x": int64(1)}, map[string]any{}}}
	if !reflect.DeepEqual(v, want) {
		t.Errorf("got %#v", v)
	}
}

// rawString reads eight bytes at a time: wherever the quote, a backslash, a
// control character or a non-ASCII byte falls, it ends, unescapes, refuses
// or flags the string as a byte-by-byte reading does.
func TestRawStringAtEveryOffset(t *testing.T) {
	for _, special := range []string{`"`, `\"`, `\\`, `\n`, "\x01", "\x1f", "é", "\xff", " ", "~"} {
		for n := range 20 {
			body := strings.Repeat("a", n) + special + strings.Repeat("b", 20-n)
			for _, data := range []string{`"` + body + `"`, `"` + body + `"` + ` {"x": 1}`, `"` + body} {
				d := decoder{data: []byte(data)}
				raw, flagged, err := d.rawString()
				// Byte by byte: the reference.
				var wantRaw string
				var wantFlag bool
				var wantErr string
				for i := 1; ; i++ {
					if i >= len(data) {
						wantErr = errEOF.Error()
						break
					}
					c := data[i]
					if c == '"' {
						wantRaw = data[1:i]
						break
					}
					if c == '\\' {
						wantFlag = true
						i++
						continue
					}
					if c < 0x20 {
						if strings.IndexByte(data[i:], '"') < 0 {
							wantErr = errEOF.Error()
						} else {
							wantErr = "control character in string"
						}
						break
					}
					if c >= 0x80 {
						wantFlag = true
					}
				}
				gotErr := ""
				if err != nil {
					gotErr = err.Error()
				}
				if !strings.Contains(gotErr, wantErr) || (wantErr == "") != (err == nil) || string(raw) != wantRaw || (err == nil && flagged != wantFlag) {
					t.Errorf("%q: got %q, %v, %v; want %q, %v, %q", data, raw, flagged, err, wantRaw, wantFlag, wantErr)
				}
			}
		}
	}
}

// Decoded strings stay what they were decoded from across many arena blocks
// and intern tables full and not, with the garbage collector running between
// documents: a decoder reused over thousands of documents (as a watch's is)
// and a borrowing one, whose values are kept while later documents are
// decoded and the earlier inputs overwritten (the copying decoder must not
// point into them). Run under -race with the rest.
func TestDecodedStringsSurviveGC(t *testing.T) {
	doc := func(i int) string {
		return fmt.Sprintf(`{"metadata":{"name":"route-%06d","namespace":"team-%d","uid":"00000000-0000-0000-0000-%012d",`+
			`"annotations":{"long":"%s","esc\u00e9":"caf\u00e9 %d \"q\""}},"status":{"conditions":[{"type":"Accepted","status":"True","message":"%s"}]}}`,
			i, i%7, i, strings.Repeat(fmt.Sprint(i), 20), i, strings.Repeat("x", i%3000))
	}
	all := &Fields{All: true}
	for _, borrow := range []bool{false, true} {
		dec := Decoder{Borrow: borrow}
		var kept []any
		var inputs [][]byte
		const n = 6000 // more distinct strings than the intern table holds, over many blocks
		for i := range n {
			data := []byte(doc(i))
			v, err := dec.Decode(data, all)
			if err != nil {
				t.Fatal(err)
			}
			kept = append(kept, v)
			if borrow {
				inputs = append(inputs, data) // the caller keeps the data
			} else {
				for j := range data {
					data[j] = '#' // the copying decoder's values are its own
				}
			}
			if i%500 == 0 {
				runtime.GC()
			}
		}
		runtime.GC()
		for i, v := range kept {
			want, err := DecodeJSON([]byte(doc(i)))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(v, want) {
				t.Fatalf("borrow=%v: document %d decoded as\n%#v\nwant\n%#v", borrow, i, v, want)
			}
		}
		runtime.KeepAlive(inputs)
	}
}
