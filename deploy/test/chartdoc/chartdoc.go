// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

// Package chartdoc writes the values table of the Helm chart's README from
// values.yaml (keys, in file order, and defaults) and values.schema.json
// (types and descriptions), so that the README cannot drift from either.
package chartdoc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Marker separates the hand-written part of README.md (above) from the
// generated table (below).
const Marker = "<!-- Everything below is generated from values.yaml and values.schema.json by `make generate`. -->"

// Schema is the part of a JSON schema the table uses.
type Schema struct {
	Type        any                `json:"type"`
	Description string             `json:"description"`
	Enum        []any              `json:"enum"`
	AnyOf       []Schema           `json:"anyOf"`
	Properties  map[string]*Schema `json:"properties"`
}

// Row is one documented value.
type Row struct {
	Key, Type, Default, Description string
}

// Rows lists every value of values.yaml that is a leaf for the schema: a
// scalar, a list, or a map the schema leaves free-form. A key that the
// schema does not describe is an error.
func Rows(chartDir string) ([]Row, error) {
	valuesData, err := os.ReadFile(filepath.Join(chartDir, "values.yaml"))
	if err != nil {
		return nil, err
	}
	schemaData, err := os.ReadFile(filepath.Join(chartDir, "values.schema.json"))
	if err != nil {
		return nil, err
	}
	var root Schema
	if err := json.Unmarshal(schemaData, &root); err != nil {
		return nil, fmt.Errorf("values.schema.json: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(valuesData, &doc); err != nil {
		return nil, fmt.Errorf("values.yaml: %w", err)
	}
	if len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("values.yaml: not a map")
	}
	var rows []Row
	var walk func(prefix string, n *yaml.Node, s *Schema) error
	walk = func(prefix string, n *yaml.Node, s *Schema) error {
		for i := 0; i+1 < len(n.Content); i += 2 {
			key, val := n.Content[i].Value, n.Content[i+1]
			path := strings.TrimPrefix(prefix+"."+key, ".")
			sub := s.Properties[key]
			if sub == nil {
				return fmt.Errorf("values.yaml key %s is not in values.schema.json", path)
			}
			if sub.Description == "" {
				return fmt.Errorf("values.schema.json: %s has no description", path)
			}
			if val.Kind == yaml.MappingNode && len(sub.Properties) > 0 {
				if err := walk(path, val, sub); err != nil {
					return err
				}
				continue
			}
			var v any
			if err := val.Decode(&v); err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			def, err := json.Marshal(v)
			if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			rows = append(rows, Row{Key: path, Type: typeName(sub), Default: string(def), Description: sub.Description})
		}
		return nil
	}
	if err := walk("", doc.Content[0], &root); err != nil {
		return nil, err
	}
	return rows, nil
}

func typeName(s *Schema) string {
	var t string
	switch x := s.Type.(type) {
	case string:
		t = x
	case []any:
		var parts []string
		for _, p := range x {
			parts = append(parts, fmt.Sprint(p))
		}
		t = strings.Join(parts, " or ")
	}
	if len(s.AnyOf) > 0 {
		var parts []string
		for _, a := range s.AnyOf {
			parts = append(parts, typeName(&a))
		}
		t = strings.Join(parts, " or ")
	}
	if len(s.Enum) > 0 {
		var vals []string
		for _, e := range s.Enum {
			b, _ := json.Marshal(e)
			vals = append(vals, string(b))
		}
		t = "one of " + strings.Join(vals, ", ")
	}
	return t
}

// README returns README.md with everything below Marker regenerated (the
// marker is appended when missing).
func README(chartDir string) ([]byte, error) {
	current, err := os.ReadFile(filepath.Join(chartDir, "README.md"))
	if err != nil {
		return nil, err
	}
	head, _, _ := strings.Cut(string(current), Marker)
	rows, err := Rows(chartDir)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString(strings.TrimRight(head, "\n") + "\n\n" + Marker + "\n\n## Values\n\n")
	b.WriteString("`values.schema.json` types every value: `helm lint`, `helm install` and `helm template` refuse a\n")
	b.WriteString("value of the wrong type, an unknown key or a missing required one, naming it.\n\n")
	b.WriteString("| Key | Type | Default | Description |\n|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| `%s` | %s | `%s` | %s |\n", r.Key, cell(r.Type), cell(r.Default), cell(r.Description))
	}
	ignored, err := Ignored(chartDir)
	if err != nil {
		return nil, err
	}
	if len(ignored) > 0 {
		b.WriteString("\n## kube-state-metrics values that do not apply\n\n")
		b.WriteString("A kube-state-metrics values file installs as it is: these keys are accepted, have no effect, and\n")
		b.WriteString("`NOTES.txt` names the ones that are set.\n\n| Key | Why |\n|---|---|\n")
		for _, r := range ignored {
			fmt.Fprintf(&b, "| `%s` | %s |\n", r.Key, cell(r.Description))
		}
	}
	return b.Bytes(), nil
}

// IgnoredPrefix starts the schema description of a kube-state-metrics chart
// value that the chart accepts and ignores (NOTES.txt names it when set).
const IgnoredPrefix = "Accepted for kube-state-metrics values files and ignored (named by NOTES.txt): "

// Ignored lists the values the schema describes as ignored, by key, with
// why (the description after IgnoredPrefix).
func Ignored(chartDir string) ([]Row, error) {
	data, err := os.ReadFile(filepath.Join(chartDir, "values.schema.json"))
	if err != nil {
		return nil, err
	}
	var root Schema
	if err := json.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("values.schema.json: %w", err)
	}
	var out []Row
	var walk func(prefix string, s *Schema)
	walk = func(prefix string, s *Schema) {
		for k, sub := range s.Properties {
			p := strings.TrimPrefix(prefix+"."+k, ".")
			if why, ok := strings.CutPrefix(sub.Description, IgnoredPrefix); ok {
				out = append(out, Row{Key: p, Description: why})
				continue
			}
			walk(p, sub)
		}
	}
	walk("", &root)
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
