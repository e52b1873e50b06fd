// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package watch

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/kuadrant/gateway-api-metrics-exporter/internal/fixture"
	metricsspec "github.com/kuadrant/gateway-api-metrics-exporter/metrics-spec"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/exposition"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/scrape"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/source"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/spec"
)

// memAPI lists objects built in memory, 500 a page, in key order (see
// objectKey) as etcd and the watch cache do, and its watches stay open without
// events: the steady state of a synced collector.
type memAPI struct {
	objs map[string]func(i int) map[string]any
}

func (m memAPI) ListAt(ctx context.Context, r source.Resource, _ source.ListOptions, fn func(items []any) error) (string, error) {
	n := routesN
	if r.Kind == "Gateway" {
		n = routesN / 10
	}
	all := make([]map[string]any, n)
	for i := range all {
		all[i] = m.objs[r.Kind](i)
	}
	slices.SortFunc(all, func(a, b map[string]any) int { return strings.Compare(objectKey(a), objectKey(b)) })
	var page []any
	for i, o := range all {
		page = append(page, o)
		if len(page) == 500 || i == n-1 {
			if err := fn(page); err != nil {
				return "", err
			}
			page = nil
		}
	}
	return "1", nil
}

// WatchList: the benchmarks measure the LIST path.
func (memAPI) WatchList(context.Context, source.Resource, source.ListOptions) (source.Events, error) {
	return nil, source.ErrWatchListUnsupported
}

func (memAPI) Watch(ctx context.Context, _ source.Resource, _ source.ListOptions, _ string) (source.Events, error) {
	return idle{ctx}, nil
}

type idle struct{ ctx context.Context }

func (i idle) Next() (source.Event, error) { <-i.ctx.Done(); return source.Event{}, i.ctx.Err() }
func (idle) Close() error                  { return nil }

var routesN = 10000

type served2 struct{}

func (served2) Discover(map[string]bool) (source.Served, error) {
	return source.Served{
		"gateway.networking.k8s.io/HTTPRoute": {{Group: "gateway.networking.k8s.io", Version: "v1", Kind: "HTTPRoute", Plural: "httproutes", Namespaced: true}},
		"gateway.networking.k8s.io/Gateway":   {{Group: "gateway.networking.k8s.io", Version: "v1", Kind: "Gateway", Plural: "gateways", Namespaced: true}},
	}, nil
}

// BenchmarkWatchScrape: the embedded spec over 10k HTTPRoutes (2 parents x 6
// conditions) and 1k Gateways x 8 listeners held by the watch collector; a
// scrape (uncompressed text), and the heap the collector keeps (after GC)
// per object.
func BenchmarkWatchScrape(b *testing.B) {
	plan, _, err := spec.LoadFS(metricsspec.FS)
	if err != nil {
		b.Fatal(err)
	}
	var kinds []*spec.Kind
	for _, k := range plan.Kinds {
		if k.GVK.Kind == "HTTPRoute" || k.GVK.Kind == "Gateway" {
			kinds = append(kinds, k)
		}
	}
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	api := memAPI{objs: map[string]func(int) map[string]any{
		"HTTPRoute": fixture.HTTPRoute,
		"Gateway":   func(i int) map[string]any { return fixture.Gateway(i, 8) },
	}}
	c := NewWithKinds(ctx, scrape.KindsFunc(func(context.Context) []*spec.Kind { return kinds }), served2{}, api, scrape.Options{}, nil,
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	c.Warm(ctx)
	var buf bytes.Buffer
	for {
		res, err := c.Collect(ctx)
		if err != nil {
			b.Fatal(err)
		}
		up := true
		for _, k := range res.Kinds {
			up = up && k.Up
		}
		res.Release()
		if up {
			break
		}
		runtime.Gosched()
	}
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	held := float64(after.HeapAlloc-before.HeapAlloc) / float64(routesN+routesN/10)
	b.ResetTimer()
	for b.Loop() {
		res, err := c.Collect(ctx)
		if err != nil {
			b.Fatal(err)
		}
		buf.Reset()
		if err := scrape.Write(&buf, res, exposition.Text, nil, false); err != nil {
			b.Fatal(err)
		}
		res.Release()
	}
	b.ReportMetric(float64(buf.Len())/1e6, "body-MB")
	b.ReportMetric(held, "held-B/object")
	packed := 0
	for _, w := range c.watches {
		for _, st := range w.stores {
			for _, g := range st.groups {
				packed += len(g.blob) + len(g.keys) + len(g.lens) + 4*len(g.ends)
			}
		}
	}
	b.ReportMetric(float64(packed)/float64(routesN+routesN/10), "blob-B/object")
	cancel()
	c.Wait()
}
