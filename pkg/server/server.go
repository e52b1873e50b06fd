// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

// Package server serves /metrics and the exporter's endpoints over
// exporter-toolkit listeners (TLS and basic auth from --tls-config).
package server

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/exporter-toolkit/web"

	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/exposition"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/scrape"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/telemetry"
)

// Collector is what the /metrics handler needs.
type Collector interface {
	Collect(ctx context.Context) (*scrape.Result, error)
	Down(err error) *scrape.Result
	Ready() bool
}

// Config holds the HTTP-level settings.
type Config struct {
	Gzip bool // KSM's --enable-gzip-encoding
	// ScrapeTimeout bounds a collection when Prometheus does not send
	// X-Prometheus-Scrape-Timeout-Seconds.
	ScrapeTimeout time.Duration
	// MaxInFlight bounds concurrent /metrics requests; more get 503.
	MaxInFlight int
	Pprof       bool
	Version     string
	Livez       func(ctx context.Context) error
}

// MetricsHandler serves the exposition. The status is 200 whenever a body
// can be written: a kind that fails shows up as gateway_metrics_up 0.
func MetricsHandler(c Collector, cfg Config, tel *telemetry.Metrics, log *slog.Logger) http.Handler {
	limit := make(chan struct{}, max(cfg.MaxInFlight, 1))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case limit <- struct{}{}:
			defer func() { <-limit }()
		default:
			tel.Rejected.Inc()
			w.Header().Set("Retry-After", "1")
			http.Error(w, "too many concurrent scrapes", http.StatusServiceUnavailable)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), scrapeTimeout(r, cfg.ScrapeTimeout))
		defer cancel()
		res, err := c.Collect(ctx)
		outcome := "complete"
		if err != nil {
			res, outcome = c.Down(err), "timeout"
		}
		defer res.Release()
		for _, k := range res.Kinds {
			if !k.Up && !k.NotServed && outcome == "complete" {
				outcome = "partial"
			}
		}
		tel.Scrapes.WithLabelValues(outcome).Inc()

		format, contentType := exposition.Negotiate(r.Header)
		h := w.Header()
		h.Set("Content-Type", contentType)
		zip := cfg.Gzip && acceptsGzip(r)
		if zip {
			h.Set("Content-Encoding", "gzip")
		}
		if err := scrape.Write(w, res, format, resourceFilter(r), zip); err != nil {
			log.Debug("writing /metrics failed", "err", err)
		}
	})
}

// scrapeTimeout leaves a margin under Prometheus' own timeout, so that the
// answer (with unfinished kinds reported down) arrives before it gives up.
func scrapeTimeout(r *http.Request, def time.Duration) time.Duration {
	if v := r.Header.Get("X-Prometheus-Scrape-Timeout-Seconds"); v != "" {
		if s, err := strconv.ParseFloat(v, 64); err == nil && s > 0 {
			d := time.Duration(s * float64(time.Second))
			margin := min(d/10, 500*time.Millisecond)
			return d - margin
		}
	}
	return def
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		part = strings.TrimSpace(part)
		if part == "gzip" || strings.HasPrefix(part, "gzip;") {
			return true
		}
	}
	return false
}

// resourceFilter implements KSM's ?resources= and ?exclude_resources=, which
// name resources as "group/version, Resource=plural".
func resourceFilter(r *http.Request) func(string) bool {
	inc := parseResources(r.URL.Query()["resources"])
	exc := parseResources(r.URL.Query()["exclude_resources"])
	if inc == nil && exc == nil {
		return nil
	}
	return func(name string) bool {
		if inc != nil {
			if _, ok := inc[name]; !ok {
				return false
			}
		}
		if exc != nil {
			if _, ok := exc[name]; ok {
				return false
			}
		}
		return true
	}
}

// parseResources splits comma-separated names like KSM, except that a
// custom resource's name itself holds a comma ("group/version, Resource=x"):
// a piece starting with "Resource=" belongs to the piece before it. (KSM
// splits it apart, so the parameter cannot select a custom resource there.)
func parseResources(params []string) map[string]struct{} {
	if params == nil {
		return nil
	}
	m := map[string]struct{}{}
	for _, p := range params {
		var pieces []string
		for _, res := range strings.Split(p, ",") {
			res = strings.TrimSpace(res)
			if strings.HasPrefix(res, "Resource=") && len(pieces) > 0 {
				pieces[len(pieces)-1] += ", " + res
				continue
			}
			pieces = append(pieces, res)
		}
		for _, res := range pieces {
			if res != "" {
				m[res] = struct{}{}
			}
		}
	}
	return m
}

// MainMux is the metrics port: /metrics, /healthz, /livez and a landing page.
func MainMux(c Collector, cfg Config, tel *telemetry.Metrics, log *slog.Logger) (*http.ServeMux, error) {
	mux := http.NewServeMux()
	mux.Handle("/metrics", MetricsHandler(c, cfg, tel, log))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(http.StatusText(http.StatusOK)))
	})
	mux.HandleFunc("/livez", func(w http.ResponseWriter, r *http.Request) {
		if cfg.Livez != nil {
			ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
			defer cancel()
			if err := cfg.Livez(ctx); err != nil {
				http.Error(w, http.StatusText(http.StatusServiceUnavailable), http.StatusServiceUnavailable)
				return
			}
		}
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(http.StatusText(http.StatusOK)))
	})
	landing, err := web.NewLandingPage(web.LandingConfig{
		Name:        "gateway-api-metrics-exporter",
		Description: "Metrics for the state of Gateway API and Kuadrant resources",
		Version:     cfg.Version,
		Links: []web.LandingLinks{
			{Address: "/metrics", Text: "Metrics"},
			{Address: "/healthz", Text: "Healthz"},
			{Address: "/livez", Text: "Livez"},
		},
		// The toolkit's page links /debug/pprof/* unless told not to; this
		// port never serves them.
		Profiling: "false",
	})
	if err != nil {
		return nil, err
	}
	mux.Handle("/", exact("/", landing))
	return mux, nil
}

// TelemetryMux is the telemetry port: self metrics, /readyz (ready after the
// first successful discovery) and a landing page; pprof only when enabled.
func TelemetryMux(c Collector, cfg Config, tel *telemetry.Metrics) (*http.ServeMux, error) {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(tel.Registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		if !c.Ready() {
			http.Error(w, "not ready: no successful API discovery yet", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(http.StatusText(http.StatusOK)))
	})
	links := []web.LandingLinks{{Address: "/metrics", Text: "Metrics"}, {Address: "/readyz", Text: "Readyz"}}
	if cfg.Pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		links = append(links, web.LandingLinks{Address: "/debug/pprof/", Text: "Profiling"})
	}
	landing, err := web.NewLandingPage(web.LandingConfig{
		Name:        "gateway-api-metrics-exporter",
		Description: "Self-metrics for gateway-api-metrics-exporter",
		Version:     cfg.Version,
		Links:       links,
		// The toolkit's pprof links (heap, CPU profile) only where they are
		// served.
		Profiling: strconv.FormatBool(cfg.Pprof),
	})
	if err != nil {
		return nil, err
	}
	mux.Handle("/", exact("/", landing))
	return mux, nil
}

// exact serves h only at path, and 404 elsewhere, as KSM does.
func exact(path string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != path {
			http.NotFound(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// Serve runs an exporter-toolkit server on an already bound listener.
func Serve(l net.Listener, h http.Handler, tlsConfig string, t Timeouts, log *slog.Logger) (*http.Server, <-chan error) {
	srv := &http.Server{
		Handler:           h,
		ReadTimeout:       t.Read,
		WriteTimeout:      t.Write,
		IdleTimeout:       t.Idle,
		ReadHeaderTimeout: t.ReadHeader,
		MaxHeaderBytes:    t.MaxHeaderBytes,
	}
	errc := make(chan error, 1)
	go func() {
		errc <- web.Serve(l, srv, &web.FlagConfig{WebConfigFile: &tlsConfig}, log)
	}()
	return srv, errc
}

// Timeouts of one HTTP server.
type Timeouts struct {
	Read, Write, Idle, ReadHeader time.Duration
	MaxHeaderBytes                int
}
