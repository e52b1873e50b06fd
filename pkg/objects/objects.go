// Package objects reads Kubernetes objects from JSON and YAML, as `kubectl get
// -o json|yaml` prints them, into the generic form the engine evaluates: the
// same maps, int64s and float64s that client-go's unstructured decoding gives.
package objects

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// Object is one decoded Kubernetes object.
type Object = map[string]any

// DecodeJSON decodes one JSON value with client-go's number rules: integers
// that fit become int64, other numbers float64.
func DecodeJSON(data []byte) (any, error) {
	var v any
	if err := kjson.UnmarshalCaseSensitivePreserveInts(data, &v); err != nil {
		return nil, err
	}
	return v, nil
}

// Flatten expands `kind: List` (and any *List with items) into its items.
func Flatten(v any) []Object {
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	if items, ok := m["items"].([]any); ok {
		if k, _ := m["kind"].(string); k == "List" || strings.HasSuffix(k, "List") {
			var out []Object
			for _, it := range items {
				out = append(out, Flatten(it)...)
			}
			return out
		}
	}
	return []Object{m}
}

// ReadAll reads every object from the given files and directories (walked,
// *.json, *.yaml and *.yml), in path order.
func ReadAll(paths ...string) ([]Object, error) {
	var files []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			files = append(files, p)
			continue
		}
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			switch strings.ToLower(filepath.Ext(path)) {
			case ".json", ".yaml", ".yml":
				if !d.IsDir() {
					files = append(files, path)
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	var out []Object
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		objs, err := Parse(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		out = append(out, objs...)
	}
	return out, nil
}

// Parse reads a JSON stream or a multi-document YAML stream.
func Parse(data []byte) ([]Object, error) {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	var out []Object
	if len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[') {
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(trimmed), 4096)
		for {
			var raw jsonRaw
			if err := dec.Decode(&raw); err != nil {
				if errors.Is(err, io.EOF) {
					return out, nil
				}
				return nil, err
			}
			v, err := DecodeJSON(raw)
			if err != nil {
				return nil, err
			}
			if list, ok := v.([]any); ok {
				for _, it := range list {
					out = append(out, Flatten(it)...)
				}
				continue
			}
			out = append(out, Flatten(v)...)
		}
	}
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		js, err := yaml.YAMLToJSON(doc)
		if err != nil {
			return nil, err
		}
		if string(js) == "null" {
			continue
		}
		v, err := DecodeJSON(js)
		if err != nil {
			return nil, err
		}
		out = append(out, Flatten(v)...)
	}
}

// jsonRaw captures one JSON value from the stream decoder undecoded.
type jsonRaw []byte

func (r *jsonRaw) UnmarshalJSON(b []byte) error {
	*r = append((*r)[:0], b...)
	return nil
}
