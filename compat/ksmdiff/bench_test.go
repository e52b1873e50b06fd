// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package ksmdiff

import (
	"cmp"
	"encoding/json"
	"io"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kuadrant/gateway-api-metrics-exporter/internal/fixture"
	metricsspec "github.com/kuadrant/gateway-api-metrics-exporter/metrics-spec"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/engine"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/exposition"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/objects"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/spec"
)

// legacyHTTPRouteSpec is metrics-spec/httproute.yaml without the families
// kube-state-metrics cannot express: the legacy families both engines render.
func legacyHTTPRouteSpec(b interface{ Fatal(...any) }) []byte {
	data, err := metricsspec.FS.ReadFile("httproute.yaml")
	if err != nil {
		b.Fatal(err)
	}
	s := string(data)
	if i := strings.Index(s, "      # new:"); i > 0 {
		s = s[:i]
	}
	return []byte(s)
}

func routes(n int) []map[string]any {
	objs := make([]map[string]any, n)
	for i := range objs {
		o := fixture.HTTPRoute(i)
		o["apiVersion"] = "gateway.networking.k8s.io/v1beta1"
		objs[i] = roundTrip(o)
	}
	return objs
}

// projectedRoutes are the same routes as the exporter's scrape path decodes
// them: only what the spec can observe, pages of 500 (strings interned per
// page). KSM gets what its informers get: the whole object.
func projectedRoutes(b *testing.B, config []byte, objs []map[string]any) []map[string]any {
	plan, _, err := spec.Load("httproute.yaml", config)
	if err != nil {
		b.Fatal(err)
	}
	f := engine.Projection(plan.Kinds[0])
	page := &objects.Fields{Children: map[string]*objects.Fields{"items": f}}
	var out []map[string]any
	for start := 0; start < len(objs); start += 500 {
		data, err := json.Marshal(map[string]any{"items": objs[start:min(start+500, len(objs))]})
		if err != nil {
			b.Fatal(err)
		}
		v, err := objects.DecodeProjected(data, page)
		if err != nil {
			b.Fatal(err)
		}
		for _, it := range v.(map[string]any)["items"].([]any) {
			out = append(out, it.(map[string]any))
		}
	}
	return out
}

const benchObjects = 10000

func oursRenderer(b *testing.B, config []byte) *engine.Renderer {
	plan, _, err := spec.Load("httproute.yaml", config)
	if err != nil {
		b.Fatal(err)
	}
	r := engine.NewRenderer(plan.Kinds[0], engine.GVK{Group: "gateway.networking.k8s.io", Version: "v1beta1", Kind: "HTTPRoute"}, nil)
	// Rendering alone, as MetricsStore.Add does it: the compression of large
	// families, which keeps a scrape's memory flat, is measured with the
	// scrape (pkg/scrape BenchmarkScrape, BenchmarkMemory).
	r.KeepRaw()
	return r
}

// BenchmarkLegacyRender renders the legacy HTTPRoute families of 10k routes
// (objects already decoded): ours appends bytes into reused per-family
// buffers; KSM's MetricsStore.Add builds metric objects and a byte blob per
// object. Compare with benchstat; BenchmarkLegacyRenderRatio reports the ratio.
func BenchmarkLegacyRender(b *testing.B) {
	config := legacyHTTPRouteSpec(b)
	objs := routes(benchObjects)
	b.Run("engine=ours", func(b *testing.B) {
		objs := projectedRoutes(b, config, objs)
		r := oursRenderer(b, config)
		b.ReportAllocs()
		for b.Loop() {
			r.Reset(engine.GVK{Group: "gateway.networking.k8s.io", Version: "v1beta1", Kind: "HTTPRoute"})
			for _, o := range objs {
				r.Add(o)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(objs)), "ns/obj")
	})
	b.Run("engine=ksm", func(b *testing.B) {
		us := make([]*unstructured.Unstructured, len(objs))
		for i, o := range objs {
			us[i] = &unstructured.Unstructured{Object: o}
		}
		b.ReportAllocs()
		for b.Loop() {
			o, err := NewOracle(config)
			if err != nil {
				b.Fatal(err)
			}
			st := o.Store(0)
			for _, u := range us {
				_ = st.Add(u)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(objs)), "ns/obj")
	})
}

// BenchmarkLegacyRenderRatio interleaves both engines in one loop, so the
// ratio holds on a noisy shared machine where absolute times do not.
func BenchmarkLegacyRenderRatio(b *testing.B) {
	config := legacyHTTPRouteSpec(b)
	objs := routes(benchObjects)
	us := make([]*unstructured.Unstructured, len(objs))
	for i, o := range objs {
		us[i] = &unstructured.Unstructured{Object: o}
	}
	r := oursRenderer(b, config)
	mine := projectedRoutes(b, config, objs)
	var oursT, ksmT time.Duration
	var oursA, ksmA uint64
	var ms runtime.MemStats
	mallocs := func() uint64 { runtime.ReadMemStats(&ms); return ms.Mallocs }
	for b.Loop() {
		// Each side starts from a collected heap, so neither pays for the
		// other's garbage.
		runtime.GC()
		m0, t0 := mallocs(), time.Now()
		r.Reset(engine.GVK{Group: "gateway.networking.k8s.io", Version: "v1beta1", Kind: "HTTPRoute"})
		for _, o := range mine {
			r.Add(o)
		}
		oursT += time.Since(t0)
		oursA += mallocs() - m0

		o, err := NewOracle(config)
		if err != nil {
			b.Fatal(err)
		}
		st := o.Store(0)
		runtime.GC()
		m0, t0 = mallocs(), time.Now()
		for _, u := range us {
			_ = st.Add(u)
		}
		ksmT += time.Since(t0)
		ksmA += mallocs() - m0
	}
	n := float64(b.N * len(objs))
	b.ReportMetric(float64(oursT.Nanoseconds())/n, "ours-ns/obj")
	b.ReportMetric(float64(ksmT.Nanoseconds())/n, "ksm-ns/obj")
	b.ReportMetric(float64(oursA)/n, "ours-allocs/obj")
	b.ReportMetric(float64(ksmA)/n, "ksm-allocs/obj")
	b.ReportMetric(float64(ksmT)/float64(oursT), "ksm/ours-time")
	b.ReportMetric(float64(ksmA)/float64(max(oursA, 1)), "ksm/ours-allocs")
	if r.Objects() != len(objs) || r.Size() == 0 {
		b.Fatalf("rendered %d objects, %d bytes", r.Objects(), r.Size())
	}
}

// BenchmarkWatchScrapeRatio: in watch mode a scrape only copies pre-rendered
// bytes, as KSM's does. Both sides hold the legacy families of 10k routes and
// write an uncompressed body (KSM's default); ours also sorts the objects by
// namespace and name, as watch mode does on every scrape.
func BenchmarkWatchScrapeRatio(b *testing.B) {
	config := legacyHTTPRouteSpec(b)
	objs := routes(benchObjects)
	gvk := engine.GVK{Group: "gateway.networking.k8s.io", Version: "v1beta1", Kind: "HTTPRoute"}
	one := oursRenderer(b, config)
	type entry struct {
		ns, name string
		blob     []byte
		ends     []int32
	}
	var entries []*entry
	for _, o := range objs {
		blob, ends, _ := one.RenderOne(o)
		md := o["metadata"].(map[string]any)
		entries = append(entries, &entry{md["namespace"].(string), md["name"].(string), blob, ends})
	}
	out := oursRenderer(b, config)

	o, err := NewOracle(config)
	if err != nil {
		b.Fatal(err)
	}
	for _, obj := range objs {
		_ = o.Store(0).Add(&unstructured.Unstructured{Object: obj})
	}
	var oursT, ksmT time.Duration
	for b.Loop() {
		t0 := time.Now()
		sorted := slices.Clone(entries)
		slices.SortFunc(sorted, func(a, b *entry) int { return cmp.Or(cmp.Compare(a.ns, b.ns), cmp.Compare(a.name, b.name)) })
		out.Reset(gvk)
		for _, e := range sorted {
			out.AddRendered(e.blob, e.ends)
		}
		out.Finish()
		w := engine.NewBodyWriter(io.Discard, false)
		out.WriteTo(w, exposition.Text, map[string]struct{}{})
		_ = w.Close()
		oursT += time.Since(t0)

		t0 = time.Now()
		_ = o.Write(textAccept)
		ksmT += time.Since(t0)
	}
	b.ReportMetric(float64(oursT.Microseconds())/float64(b.N)/1000, "ours-ms")
	b.ReportMetric(float64(ksmT.Microseconds())/float64(b.N)/1000, "ksm-ms")
	b.ReportMetric(float64(oursT)/float64(ksmT), "ours/ksm-time")
}
