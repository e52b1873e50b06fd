// Package telemetry is the exporter's own metrics, served on the telemetry
// port with client_golang (never on the /metrics hot path).
package telemetry

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"

	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/source"
)

// Metrics implements scrape.Observer.
type Metrics struct {
	Registry   *prometheus.Registry
	lists      *prometheus.CounterVec
	listTime   *prometheus.HistogramVec
	duplicates *prometheus.CounterVec
	evalErrors *prometheus.CounterVec
	Scrapes    *prometheus.CounterVec
	Rejected   prometheus.Counter
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
		duplicates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_metrics_duplicate_series_dropped_total", Help: "Samples dropped because another element of the same object produced the same series.",
		}, []string{"kind"}),
		evalErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_metrics_evaluation_errors_total", Help: "Family evaluations that failed for an object (a value that is not a number, a path that does not resolve).",
		}, []string{"family"}),
		Scrapes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_metrics_scrapes_total", Help: "Requests to /metrics, by outcome.",
		}, []string{"outcome"}),
		Rejected: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gateway_metrics_scrapes_rejected_total", Help: "Requests to /metrics refused because too many were in flight.",
		}),
	}
	r.MustRegister(m.lists, m.listTime, m.duplicates, m.evalErrors, m.Scrapes, m.Rejected,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		versioncollector.NewCollector("gateway_metrics"))
	return m
}

func (m *Metrics) ListDone(r source.Resource, result string, d time.Duration) {
	m.lists.WithLabelValues(r.Group, r.Version, r.Kind, result).Inc()
	m.listTime.WithLabelValues(r.Group, r.Version, r.Kind).Observe(d.Seconds())
}

func (m *Metrics) Duplicates(kind string, n int) { m.duplicates.WithLabelValues(kind).Add(float64(n)) }

func (m *Metrics) EvalError(family string) { m.evalErrors.WithLabelValues(family).Inc() }
