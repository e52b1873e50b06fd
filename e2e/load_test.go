// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"

	"github.com/kuadrant/gateway-api-metrics-exporter/internal/fixture"
	"github.com/kuadrant/gateway-api-metrics-exporter/internal/harness"
	"github.com/kuadrant/gateway-api-metrics-exporter/internal/testenv"
)

// proxy puts a loopback HTTP proxy in front of the real API server that
// delays the requests delay picks; it authenticates upstream as the admin.
func proxy(t *testing.T, env *testenv.Env, delay func(*http.Request) time.Duration) string {
	t.Helper()
	upstream, _ := url.Parse(env.URL)
	rt, err := rest.TransportFor(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(upstream)
			r.Out.Header.Del("Authorization") // the upstream transport adds the admin's
		},
		Transport: rt,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d := delay(r); d > 0 {
			select {
			case <-time.After(d):
			case <-r.Context().Done():
				return
			}
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestSlowAPIServer: when one kind's LIST never answers, every scrape answers
// 200 within its timeout (X-Prometheus-Scrape-Timeout-Seconds) with that kind
// down and none of its lines, and each other kind whole or down; the others
// are all up in some scrape (polled: on a busy machine a scrape of 2 s may
// not finish them all). Had the exporter waited for the LIST, the scrape
// would never have answered: the content shows the deadline was kept, no
// clock needed.
func TestSlowAPIServer(t *testing.T) {
	env := testenv.Current(t)
	ns := nsFor(t)
	applySamples(t, env, ns)
	ref := startExporter(t, "--kubeconfig="+env.Kubeconfig, "--namespaces="+ns)
	want := kindLines(ref.scrape(t).Body)
	url := proxy(t, env, func(r *http.Request) time.Duration {
		if strings.HasSuffix(r.URL.Path, "/httproutes") {
			return time.Hour // until the exporter gives up on it
		}
		return 0
	})
	x := startExporter(t, "--kubeconfig="+writeKubeconfig(t, url), "--namespaces="+ns)
	for deadline := time.Now().Add(60 * time.Second); ; {
		r := x.scrape(t, "X-Prometheus-Scrape-Timeout-Seconds", "2")
		lines := harness.SampleLines(r.Body)
		parseText(t, r.Body)
		assertKindsWholeOrDown(t, "HTTPRoute's LIST never answers", lines, want)
		_, up := kindsOf(lines)
		if up["HTTPRoute"] != "0" {
			t.Fatalf("HTTPRoute's LIST never answers, yet it is up %q", up["HTTPRoute"])
		}
		others := true
		for kind, v := range up {
			others = others && (kind == "HTTPRoute" || v == "1")
		}
		if others {
			return
		}
		if time.Now().After(deadline) { // a liveness bound
			t.Fatalf("never every other kind up: %v", up)
		}
	}
}

// TestAPIServerSlowerThanScrapeTimeout: every LIST is slower than the scrape
// timeout (discovery is not): each scrape answers 200 with every kind
// gateway_metrics_up 0 and no kind family; the abandoned LISTs leave no
// goroutines behind; once the API server is fast again the next scrape is
// complete, with the same lines as an exporter that never saw the slowness.
func TestAPIServerSlowerThanScrapeTimeout(t *testing.T) {
	env := testenv.Current(t)
	ns := nsFor(t)
	applySamples(t, env, ns)
	var slow atomic.Bool
	slow.Store(true)
	url := proxy(t, env, func(r *http.Request) time.Duration {
		if slow.Load() && r.URL.Query().Has("limit") { // a LIST, not discovery
			return time.Minute
		}
		return 0
	})
	ref := startExporter(t, "--kubeconfig="+env.Kubeconfig, "--namespaces="+ns)
	x := startExporter(t, "--kubeconfig="+writeKubeconfig(t, url), "--namespaces="+ns)
	x.scrape(t, "X-Prometheus-Scrape-Timeout-Seconds", "1") // warm the connections
	gBefore, _ := stats()
	for i := range 3 {
		r := x.scrape(t, "X-Prometheus-Scrape-Timeout-Seconds", "1")
		lines := harness.SampleLines(r.Body)
		parseText(t, r.Body)
		// Every kind down: at the versions discovery found, or, when even
		// discovery did not finish within the second (a busy machine), every
		// kind of the spec at the version it names.
		var discovered, undiscovered []string
		for _, k := range defaultKinds {
			discovered = append(discovered, upLine(k.Group, k.Kind, k.ReadVersion, "0"))
		}
		for _, k := range specKinds() {
			undiscovered = append(undiscovered, upLine(k.Group, k.Kind, k.SpecVersion, "0"))
		}
		want := discovered
		if up := harness.WithPrefix(lines, "gateway_metrics_up"); len(up) == len(undiscovered) {
			want = undiscovered
		}
		assertLines(t, fmt.Sprintf("scrape %d: gateway_metrics_up", i), harness.WithPrefix(lines, "gateway_metrics_up"), want)
		for _, l := range lines {
			if !strings.HasPrefix(l, "gateway_metrics_") {
				t.Errorf("scrape %d: a kind family although no LIST finished: %s", i, l)
			}
		}
	}
	// The abandoned LISTs end with their scrapes: goroutines come back to
	// where they were.
	waitNoLeak(t, "after the slow scrapes ended", gBefore, -1)

	// Fast again: the exporter recovers without a restart (polled: a LIST
	// abandoned by an earlier scrape may still hold a connection, and a busy
	// machine may need more than one scrape).
	slow.Store(false)
	lines := waitBody(t, x, "complete after the slowness", func(lines []string) bool {
		_, up := kindsOf(lines)
		return len(up) > 0 && !strings.Contains(strings.Join(mapValues(up), ""), "0")
	})
	assertAllUp(t, lines)
	assertLines(t, "after the slowness", without(lines, "gateway_metrics_scrape_duration_seconds"), kindLines(ref.scrape(t).Body))
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// httpRouteUp finds HTTPRoute's gateway_metrics_up value in a body.
var httpRouteUp = regexp.MustCompile(`(?m)^gateway_metrics_up\{group="gateway.networking.k8s.io",kind="HTTPRoute",version="[^"]+"\} ([01])$`)

// TestSustainedConcurrentScrapes: 50 scrapers for 60s against 10k HTTPRoutes
// on the real API server (E2E_LOAD_OBJECTS, E2E_LOAD_SECONDS override). Every
// scrape answers 200 and is either complete (HTTPRoute up 1 and all n routes)
// or, when the LIST could not finish before the scrape's deadline on a busy
// machine, reports HTTPRoute up 0 with none of its lines: never a partial
// list. LISTs are shared between scrapes, a complete scrape follows the load,
// and once the load stops the exporter has no more goroutines or heap than
// before it.
func TestSustainedConcurrentScrapes(t *testing.T) {
	env := testenv.Current(t)
	ns := nsFor(t)
	n, secs := envInt("E2E_LOAD_OBJECTS", 10000), envInt("E2E_LOAD_SECONDS", 60)
	start := time.Now()
	createRoutes(t, env, ns, n)
	t.Logf("created %d HTTPRoutes in %s", n, time.Since(start).Round(time.Millisecond))

	x := startExporter(t, "--kubeconfig="+env.Kubeconfig, "--namespaces="+ns, "--enable-gzip-encoding")
	client := &http.Client{Timeout: 60 * time.Second} // asks for gzip, as Prometheus does
	// scrape returns the routes served and HTTPRoute's up value, and checks
	// that the two agree.
	scrape := func() (routes int, up string, err error) {
		resp, err := client.Get(x.MetricsURL + "/metrics")
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return 0, "", fmt.Errorf("status %d", resp.StatusCode)
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return 0, "", err
		}
		routes = strings.Count(string(body), "gatewayapi_httproute_created{")
		m := httpRouteUp.FindSubmatch(body)
		if m == nil {
			return routes, "", fmt.Errorf("no gateway_metrics_up series for HTTPRoute")
		}
		up = string(m[1])
		if (up == "1" && routes != n) || (up == "0" && routes != 0) {
			return routes, up, fmt.Errorf("HTTPRoute up %s with %d of %d routes: neither complete nor reported down", up, routes, n)
		}
		return routes, up, nil
	}
	// complete scrapes until one has every route (a liveness bound, not a
	// pass criterion: a busy machine may need a few attempts).
	complete := func(what string) {
		t.Helper()
		for deadline := time.Now().Add(3 * time.Minute); ; {
			got, up, err := scrape()
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			if up == "1" {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: no complete scrape (last: up %s, %d routes)", what, up, got)
			}
		}
	}
	complete("warm-up")
	client.CloseIdleConnections()
	gBefore, heapBefore := stats()
	listsBefore := listCounts(t, x)["HTTPRoute"]

	var scrapes, down, failures atomic.Int64
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(secs)*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				_, up, err := scrape()
				scrapes.Add(1)
				if up == "0" {
					down.Add(1)
				}
				if err != nil {
					failures.Add(1)
					t.Errorf("scrape: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	lists := listCounts(t, x)["HTTPRoute"] - listsBefore
	complete("after the load")
	client.CloseIdleConnections()
	t.Logf("%d scrapes in %ds by 50 scrapers (%d reported HTTPRoute down: LIST unfinished at the deadline), %d HTTPRoute list passes",
		scrapes.Load(), secs, down.Load(), int(lists))
	if failures.Load() > 0 {
		t.Fatalf("%d scrapes failed", failures.Load())
	}
	if float64(scrapes.Load()) < 2*lists {
		t.Errorf("%d scrapes made %v list passes: concurrent scrapes should share LISTs", scrapes.Load(), lists)
	}
	waitNoLeak(t, "after the load stopped", gBefore, heapBefore)
}

// waitNoLeak polls until the goroutines are back within 10 of gBefore and
// the heap in use within half (plus 16 MiB) of heapBefore (unless
// negative), or fails: connections close, and their server goroutines end,
// asynchronously. The bound is a liveness guard, not a performance
// expectation.
func waitNoLeak(t *testing.T, what string, gBefore int, heapBefore float64) {
	t.Helper()
	var g int
	var heap float64
	ok := func() bool { return g <= gBefore+10 && (heapBefore < 0 || heap <= heapBefore*1.5+16) }
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if g, heap = stats(); ok() || time.Now().After(deadline) {
			break
		}
	}
	t.Logf("%s: goroutines %d -> %d, heap in use %.1f -> %.1f MiB", what, gBefore, g, heapBefore, heap)
	if !ok() {
		t.Errorf("%s: goroutines grew from %d to %d, heap in use from %.1f to %.1f MiB", what, gBefore, g, heapBefore, heap)
	}
}

func stats() (goroutines int, heapMiB float64) {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return runtime.NumGoroutine(), float64(ms.HeapInuse) / (1 << 20)
}

// createRoutes creates n HTTPRoutes (the benchmark fixture's shape, without
// status) with 8 workers.
func createRoutes(t testing.TB, env *testenv.Env, ns string, n int) {
	t.Helper()
	createRoutesWith(t, env, ns, n, nil)
}

// createRoutesWith is createRoutes with edit applied to each route before it
// is created.
func createRoutesWith(t testing.TB, env *testenv.Env, ns string, n int, edit func(route map[string]any)) {
	t.Helper()
	if err := env.EnsureNamespace(ctxFor(t), ns); err != nil {
		t.Fatal(err)
	}
	routes := env.Dynamic().Resource(schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "httproutes"}).Namespace(ns)
	next := atomic.Int64{}
	var wg sync.WaitGroup
	var failed atomic.Value
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n || failed.Load() != nil {
					return
				}
				o := fixture.HTTPRoute(i)
				delete(o, "status")
				md := o["metadata"].(map[string]any)
				delete(md, "uid")
				delete(md, "resourceVersion")
				delete(md, "creationTimestamp")
				md["namespace"] = ns
				if edit != nil {
					edit(o)
				}
				if _, err := routes.Create(ctxFor(t), &unstructured.Unstructured{Object: o}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
					failed.Store(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := failed.Load(); err != nil {
		t.Fatalf("creating routes: %v", err)
	}
}
