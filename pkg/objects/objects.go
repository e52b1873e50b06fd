// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

// Package objects reads Kubernetes objects from JSON and YAML, as `kubectl get
// -o json|yaml` prints them, into the generic form the engine evaluates: the
// same maps, int64s and float64s that client-go's unstructured decoding gives.
package objects

import (
	"bytes"
	"strings"

	kjson "sigs.k8s.io/json"
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

// Dig is the value at keys through nested maps: nil where one is missing or
// not a map.
func Dig(v any, keys ...string) any {
	for _, k := range keys {
		m, _ := v.(map[string]any)
		v = m[k]
	}
	return v
}

// Meta is a string field of an object's metadata (name, namespace, uid,
// resourceVersion, continue...): "" when absent or not a string.
func Meta(obj map[string]any, key string) string {
	s, _ := Dig(obj, "metadata", key).(string)
	return s
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
	var out []Object
	err := Stream(paths, func(raw []byte) error { return decodeInto(&out, raw) })
	return out, err
}

// Parse reads a JSON stream or a multi-document YAML stream.
func Parse(data []byte) ([]Object, error) {
	var out []Object
	err := StreamReader(bytes.NewReader(data), func(raw []byte) error { return decodeInto(&out, raw) })
	return out, err
}

func decodeInto(out *[]Object, raw []byte) error {
	v, err := DecodeJSON(raw)
	if err != nil {
		return err
	}
	*out = append(*out, v.(Object))
	return nil
}
