package objects

import (
	"reflect"
	"testing"
)

// FuzzDecodeProjected: with everything selected, the projected decoder must
// decode any JSON that client-go's decoder accepts into the same values.
func FuzzDecodeProjected(f *testing.F) {
	for _, s := range []string{
		`{"a":"\ud800x","b":"\ud83d\ude80","c":"\u00e9\n\t\"\\\/","d":1.0,"e":1e3,"f":-0,"g":12345678901234567890,"h":[],"i":{},"j":null,"k":true}`,
		`[1, 2.5, "x", {"y": [null, false]}]`, `"\xff"`, `{"a":{"a":{"a":[[[]]]}}}`, `  -1.5e-7 `, `{"dup":1,"dup":2}`,
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
	})
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
