// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package scrape

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	gwclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"

	"github.com/kuadrant/gateway-api-metrics-exporter/internal/fixture"
	metricsspec "github.com/kuadrant/gateway-api-metrics-exporter/metrics-spec"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/exposition"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/source"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/spec"
)

// gzipBody: Prometheus asks for gzip, so the benchmarks answer with it.
var gzipBody = true

const (
	routesPath   = "/apis/gateway.networking.k8s.io/v1/httproutes"
	gatewaysPath = "/apis/gateway.networking.k8s.io/v1/gateways"
)

// benchServer serves n HTTPRoutes (2 parents x 6 conditions, 2 hostnames)
// and n/10 Gateways x 8 listeners as 500-object pages, gzip level 1.
func benchServer(b *testing.B, routes int) *fixture.Server {
	b.Helper()
	rs := make([]map[string]any, routes)
	for i := range rs {
		rs[i] = fixture.HTTPRoute(i)
	}
	gs := make([]map[string]any, routes/10)
	for i := range gs {
		gs[i] = fixture.Gateway(i, 8)
	}
	return fixture.NewServer(map[string][][]byte{
		routesPath:   fixture.Pages("gateway.networking.k8s.io/v1", "HTTPRouteList", rs, 500),
		gatewaysPath: fixture.Pages("gateway.networking.k8s.io/v1", "GatewayList", gs, 500),
	})
}

// staticLister serves discovery from memory (the fixture server has no
// discovery endpoint) and lists over real HTTP.
type staticLister struct{ *source.Client }

func (staticLister) Discover(map[string]bool) (source.Served, error) {
	return source.Served{
		"gateway.networking.k8s.io/HTTPRoute": {{Group: "gateway.networking.k8s.io", Version: "v1", Kind: "HTTPRoute", Plural: "httproutes", Namespaced: true}},
		"gateway.networking.k8s.io/Gateway":   {{Group: "gateway.networking.k8s.io", Version: "v1", Kind: "Gateway", Plural: "gateways", Namespaced: true}},
	}, nil
}

func benchCollector(b *testing.B, url string) *Collector {
	plan, _, err := spec.LoadFS(metricsspec.FS)
	if err != nil {
		b.Fatal(err)
	}
	c, err := source.New(&rest.Config{Host: url})
	if err != nil {
		b.Fatal(err)
	}
	return New(plan, staticLister{c}, Options{}, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

func scrapeOnce(b *testing.B, c *Collector, buf []byte) []byte {
	res, err := c.Collect(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	w := bytes.NewBuffer(buf[:0])
	if err := Write(w, res, exposition.Text, nil, gzipBody); err != nil {
		b.Fatal(err)
	}
	buf = w.Bytes()
	for _, k := range res.Kinds {
		if (k.Kind.GVK.Kind == "HTTPRoute" || k.Kind.GVK.Kind == "Gateway") && !k.Up {
			b.Fatalf("%s down: %v", k.Kind.GVK.Kind, k.Err)
		}
	}
	res.Release()
	return buf
}

// typedList is the baseline: what listing the same pages costs with the
// Gateway API typed clientset (client-go decoding), before any rendering.
func typedList(b *testing.B, cs *gwclient.Clientset) int {
	n := 0
	cont := ""
	for {
		l, err := cs.GatewayV1().HTTPRoutes("").List(context.Background(), metav1.ListOptions{Limit: 500, Continue: cont})
		if err != nil {
			b.Fatal(err)
		}
		n += len(l.Items)
		if cont = l.Continue; cont == "" {
			break
		}
	}
	cont = ""
	for {
		l, err := cs.GatewayV1().Gateways("").List(context.Background(), metav1.ListOptions{Limit: 500, Continue: cont})
		if err != nil {
			b.Fatal(err)
		}
		n += len(l.Items)
		if cont = l.Continue; cont == "" {
			break
		}
	}
	return n
}

// BenchmarkScrape: a full scrape (LIST pages, decode, render every family,
// write the body) of 10k HTTPRoutes + 1k Gateways x 8 listeners, against
// client-go's typed LIST of the same pages, interleaved in one loop; the
// ratio is reported as scrape/typed-list.
func BenchmarkScrape(b *testing.B) {
	srv := benchServer(b, 10000)
	defer srv.Close()
	c := benchCollector(b, srv.URL)
	cs := gwclient.NewForConfigOrDie(&rest.Config{Host: srv.URL, QPS: -1})
	var buf []byte
	var scrapeT, listT time.Duration
	for b.Loop() {
		t0 := time.Now()
		buf = scrapeOnce(b, c, buf)
		scrapeT += time.Since(t0)
		t0 = time.Now()
		if n := typedList(b, cs); n != 11000 {
			b.Fatalf("typed list saw %d objects", n)
		}
		listT += time.Since(t0)
	}
	b.ReportMetric(float64(scrapeT.Milliseconds())/float64(b.N), "scrape-ms")
	b.ReportMetric(float64(listT.Milliseconds())/float64(b.N), "typed-list-ms")
	b.ReportMetric(float64(scrapeT)/float64(listT), "scrape/typed-list")
	b.ReportMetric(float64(len(buf))/1e6, "gzip-body-MB")
}

// BenchmarkConcurrentScrapes: 10 scrapes at once against one, in wall time
// and in LIST requests.
func BenchmarkConcurrentScrapes(b *testing.B) {
	srv := benchServer(b, 10000)
	defer srv.Close()
	var lists atomic.Int64
	srv.Lists = func(string) { lists.Add(1) }
	c := benchCollector(b, srv.URL)
	var oneT, tenT time.Duration
	var oneL, tenL int64
	for b.Loop() {
		l0, t0 := lists.Load(), time.Now()
		scrapeOnce(b, c, nil)
		oneT += time.Since(t0)
		oneL += lists.Load() - l0
		l0, t0 = lists.Load(), time.Now()
		var wg sync.WaitGroup
		for range 10 {
			wg.Add(1)
			go func() { defer wg.Done(); scrapeOnce(b, c, nil) }()
		}
		wg.Wait()
		tenT += time.Since(t0)
		tenL += lists.Load() - l0
	}
	b.ReportMetric(float64(tenT)/float64(oneT), "10-scrapes/1-time")
	b.ReportMetric(float64(tenL)/float64(oneL), "10-scrapes/1-lists")
}
