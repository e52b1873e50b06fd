// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

// Package telemetry is the exporter's own metrics, served on the telemetry
// port with client_golang (never on the /metrics hot path).
package telemetry

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"

	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/scrape"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/source"
)

// Metrics implements scrape.Observer.
type Metrics struct {
	Registry *prometheus.Registry
	lists    *prometheus.CounterVec
	listTime *prometheus.HistogramVec
	families *families
	Scrapes  *prometheus.CounterVec
	Rejected prometheus.Counter
}

// New registers the exporter's metrics, the Go and process collectors and
// gateway_metrics_build_info (from github.com/prometheus/common/version, set
// at build time; see the Makefile's LDFLAGS).
func New() *Metrics {
	r := prometheus.NewRegistry()
	m := &Metrics{
		Registry: r,
		lists: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_metrics_list_total", Help: "Paginated LISTs of a kind, by result (success or error).",
		}, []string{"group", "version", "kind", "result"}),
		listTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "gateway_metrics_list_duration_seconds", Help: "Time to list and render all pages of a kind.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
		}, []string{"group", "version", "kind"}),
		families: newFamilies(),
		Scrapes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_metrics_scrapes_total", Help: "Requests to /metrics, by outcome.",
		}, []string{"outcome"}),
		Rejected: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gateway_metrics_scrapes_rejected_total", Help: "Requests to /metrics refused because too many were in flight.",
		}),
	}
	r.MustRegister(m.lists, m.listTime, m.families, m.Scrapes, m.Rejected,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		versioncollector.NewCollector("gateway_metrics"))
	return m
}

func (m *Metrics) ListDone(r source.Resource, result string, d time.Duration) {
	m.lists.WithLabelValues(r.Group, r.Version, r.Kind, result).Inc()
	m.listTime.WithLabelValues(r.Group, r.Version, r.Kind).Observe(d.Seconds())
}

// Families keeps the families' state for the next scrape of the telemetry
// port.
func (m *Metrics) Families(states []scrape.FamilyState) { m.families.states.Store(&states) }

// families serves the state of every family as the last /metrics collection
// held it (list mode: the objects listed; watch mode: the stores), the same
// meaning in both modes: gauges, not counters, so that a value says what is
// true now whatever the scrape rate or the number of changes.
type families struct {
	states                                     atomic.Pointer[[]scrape.FamilyState]
	series, bytes, duplicates, errors, overLim *prometheus.Desc
}

func newFamilies() *families {
	return &families{
		series: prometheus.NewDesc("gateway_metrics_family_series",
			"Samples of the family in the last /metrics collection (list mode) or in the watch stores at the last scrape (watch mode), all kinds of the family together; served unless gateway_metrics_family_over_limit is 1.",
			[]string{"family"}, nil),
		bytes: prometheus.NewDesc("gateway_metrics_family_bytes",
			"Bytes of the family's samples in the text format (without HELP and TYPE), as gateway_metrics_family_series counts them.",
			[]string{"family"}, nil),
		duplicates: prometheus.NewDesc("gateway_metrics_family_duplicates",
			"Samples of the family not served because another element of the same object produced the same series, in the objects gateway_metrics_family_series counts.",
			[]string{"family"}, nil),
		errors: prometheus.NewDesc("gateway_metrics_family_evaluation_errors",
			"Evaluations of the family that failed for an object (a value that is not a number, a path that does not resolve), in the objects gateway_metrics_family_series counts.",
			[]string{"family"}, nil),
		overLim: prometheus.NewDesc("gateway_metrics_family_over_limit",
			"1 while the family is withheld from /metrics for being over limit (--max-series-per-family, or --max-series: the body's largest families go first), 0 once it is served again; only families that crossed the limit since the exporter started have a series.",
			[]string{"family", "limit"}, nil),
	}
}

func (f *families) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{f.series, f.bytes, f.duplicates, f.errors, f.overLim} {
		ch <- d
	}
}

func (f *families) Collect(ch chan<- prometheus.Metric) {
	p := f.states.Load()
	if p == nil {
		return
	}
	for _, st := range *p {
		ch <- prometheus.MustNewConstMetric(f.series, prometheus.GaugeValue, float64(st.Series), st.Name)
		ch <- prometheus.MustNewConstMetric(f.bytes, prometheus.GaugeValue, float64(st.Bytes), st.Name)
		ch <- prometheus.MustNewConstMetric(f.duplicates, prometheus.GaugeValue, float64(st.Duplicates), st.Name)
		ch <- prometheus.MustNewConstMetric(f.errors, prometheus.GaugeValue, float64(st.Errors), st.Name)
		for _, limit := range st.Crossed {
			v := 0.0
			if st.Withheld == limit {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(f.overLim, prometheus.GaugeValue, v, st.Name, limit)
		}
	}
}
