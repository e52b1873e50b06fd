// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

// Package ksmdiff drives kube-state-metrics' own custom-resource-state code as
// a reference oracle, and compares its output with ours family by family.
package ksmdiff

import (
	"bytes"
	"fmt"
	"sort"
	"strings"

	"github.com/prometheus/common/expfmt"
	yaml "go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/kube-state-metrics/v2/pkg/customresourcestate"
	"k8s.io/kube-state-metrics/v2/pkg/metric"
	generator "k8s.io/kube-state-metrics/v2/pkg/metric_generator"
	metricsstore "k8s.io/kube-state-metrics/v2/pkg/metrics_store"
)

// Oracle holds one KSM store per configured resource, as KSM builds them
// (customresourcestate.FromConfig cannot be called from outside KSM).
type Oracle struct {
	resources []customresourcestate.Resource
	stores    []*metricsstore.MetricsStore
	names     []string
}

// NewOracle compiles a CRS config with KSM's code.
func NewOracle(config []byte) (*Oracle, error) {
	var m customresourcestate.Metrics
	if err := yaml.NewDecoder(bytes.NewReader(config)).Decode(&m); err != nil {
		return nil, err
	}
	o := &Oracle{}
	for _, r := range m.Spec.Resources {
		for j := range r.Metrics {
			r.Metrics[j].Each.Type = metric.Type(strings.ToLower(string(r.Metrics[j].Each.Type)))
		}
		f, err := customresourcestate.NewCustomResourceMetrics(r)
		if err != nil {
			return nil, fmt.Errorf("KSM rejects %s: %w", r.GroupVersionKind, err)
		}
		gens := f.MetricFamilyGenerators()
		o.resources = append(o.resources, r)
		o.stores = append(o.stores, metricsstore.NewMetricsStore(generator.ExtractMetricFamilyHeaders(gens), generator.ComposeMetricGenFuncs(gens)))
		gv := r.GroupVersionKind.Group + "/" + r.GroupVersionKind.Version
		o.names = append(o.names, gv+", Resource="+f.Name())
	}
	return o, nil
}

// Add hands objects to the store of every resource whose group, version and
// kind they carry. Objects need distinct UIDs (the store is keyed by UID);
// missing ones are made up.
func (o *Oracle) Add(objs []map[string]any) error {
	for i, obj := range objs {
		u := &unstructured.Unstructured{Object: obj}
		if u.GetUID() == "" {
			u = u.DeepCopy()
			u.SetUID(types.UID(fmt.Sprintf("ksmdiff-%d", i)))
		}
		gvk := u.GroupVersionKind()
		for j, r := range o.resources {
			if r.GroupVersionKind.Group == gvk.Group && r.GroupVersionKind.Version == gvk.Version && r.GroupVersionKind.Kind == gvk.Kind {
				if err := o.stores[j].Add(u); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// Write renders what KSM's /metrics handler would serve for the given Accept
// header.
func (o *Oracle) Write(accept string) []byte {
	// KSM v2.20.0 calls expfmt.NegotiateIncludingOpenMetrics, which is this.
	format := expfmt.NegotiateAccept(map[string][]string{"Accept": {accept}}, expfmt.DefaultOpenMetricsAcceptedFormats()...)
	if format.FormatType() != expfmt.TypeOpenMetrics {
		format = expfmt.NewFormat(expfmt.TypeTextPlain)
	}
	idx := make([]int, len(o.stores))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return o.names[idx[a]] < o.names[idx[b]] })
	var writers metricsstore.MetricsWriterList
	for _, i := range idx {
		writers = append(writers, metricsstore.NewMetricsWriter(o.names[i], o.stores[i]))
	}
	var buf bytes.Buffer
	for _, w := range metricsstore.SanitizeHeaders(format, writers) {
		_ = w.WriteAll(&buf)
	}
	if format.FormatType() == expfmt.TypeOpenMetrics {
		buf.WriteString("# EOF\n")
	}
	return buf.Bytes()
}

// Store exposes the KSM store of resource i, for benchmarks.
func (o *Oracle) Store(i int) *metricsstore.MetricsStore { return o.stores[i] }
