// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

// Package spec reads metric families declared in kube-state-metrics'
// CustomResourceStateMetrics format, plus this project's one extension
// (each.<type>.nested, with its aggregate), and compiles them into an
// immutable Plan. The project's own spec files (LoadOwn, LoadFS) may also
// mark a family optIn; a user's config (Load) cannot.
package spec

// The types mirror k8s.io/kube-state-metrics/v2/pkg/customresourcestate field
// for field, with the same YAML keys, so that a KSM config decodes to exactly
// what KSM v2.20.0 sees.

// Metrics is the document root: `kind: CustomResourceStateMetrics` + spec.
type Metrics struct {
	Spec MetricsSpec `yaml:"spec"`
}

type MetricsSpec struct {
	Resources []Resource `yaml:"resources"`
}

type Labels struct {
	CommonLabels   map[string]string   `yaml:"commonLabels"`
	LabelsFromPath map[string][]string `yaml:"labelsFromPath"`
}

type Resource struct {
	Labels           `yaml:",inline"`
	MetricNamePrefix *string          `yaml:"metricNamePrefix"`
	GroupVersionKind GroupVersionKind `yaml:"groupVersionKind"`
	ResourcePlural   string           `yaml:"resourcePlural"`
	Metrics          []Generator      `yaml:"metrics"`
	ErrorLogV        int32            `yaml:"errorLogV"`
}

type GroupVersionKind struct {
	Group   string `yaml:"group"`
	Version string `yaml:"version"`
	Kind    string `yaml:"kind"`
}

type Generator struct {
	Each      Metric `yaml:"each"`
	Labels    `yaml:",inline"`
	Name      string `yaml:"name"`
	Help      string `yaml:"help"`
	ErrorLogV int32  `yaml:"errorLogV"`
	// OptIn is read from the project's own spec files only (LoadOwn,
	// LoadFS): in a user's config the key is unknown, as it is to
	// kube-state-metrics, which has no opt-in custom-resource families.
	OptIn bool `yaml:"optIn"`
}

type Metric struct {
	Gauge    *MetricGauge    `yaml:"gauge"`
	StateSet *MetricStateSet `yaml:"stateSet"`
	Info     *MetricInfo     `yaml:"info"`
	Type     string          `yaml:"type"`
	// Graph is our extension: the family's samples come from the
	// attachment graph (pkg/graph), named by a Relation, not from paths.
	Graph string `yaml:"graph"`
}

type MetricMeta struct {
	LabelsFromPath map[string][]string `yaml:"labelsFromPath"`
	Path           []string            `yaml:"path"`
}

type MetricGauge struct {
	LabelFromKey string `yaml:"labelFromKey"`
	MetricMeta   `yaml:",inline"`
	ValueFrom    []string `yaml:"valueFrom"`
	NilIsZero    bool     `yaml:"nilIsZero"`
	// Nested is our extension: iterate a list inside each element of path.
	Nested *Nested `yaml:"nested"`
}

type MetricInfo struct {
	LabelFromKey string `yaml:"labelFromKey"`
	MetricMeta   `yaml:",inline"`
	Nested       *Nested `yaml:"nested"`
}

type MetricStateSet struct {
	MetricMeta `yaml:",inline"`
	List       []string `yaml:"list"`
	LabelName  string   `yaml:"labelName"`
	ValueFrom  []string `yaml:"valueFrom"`
}

// Nested iterates Path relative to each element that the enclosing path
// selected. Labels from both levels land on every sample; on a name clash the
// inner level wins. Gauge values come from ValueFrom of the innermost level.
//
// With LabelFromKey, Path must resolve to a map: each entry is visited in key
// order, its key becomes that label, and its value is iterated as a list (or
// taken as one element), so a map of lists (DNSPolicy status.recordConditions:
// root host -> conditions) yields one sample per key and list element.
type Nested struct {
	Path           []string            `yaml:"path"`
	LabelFromKey   string              `yaml:"labelFromKey"`
	LabelsFromPath map[string][]string `yaml:"labelsFromPath"`
	ValueFrom      []string            `yaml:"valueFrom"`
	NilIsZero      bool                `yaml:"nilIsZero"`
	// Aggregate ("min" or "max"), on the innermost level of a Gauge, folds
	// the values of that level's elements into one sample per element of
	// the enclosing level (or per object, when the enclosing path selects
	// one element): the lowest observedGeneration of a route parent's
	// conditions, for example.
	Aggregate string  `yaml:"aggregate"`
	Nested    *Nested `yaml:"nested"`
}
