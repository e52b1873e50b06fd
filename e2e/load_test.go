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

// TestSlowAPIServer: when one kind's LIST is slow, the scrape still returns
// within X-Prometheus-Scrape-Timeout-Seconds; the unfinished kind is down and
// every other kind complete.
func TestSlowAPIServer(t *testing.T) {
	env := testenv.Current(t)
	ns := nsFor(t)
	applySamples(t, env, ns)
	url := proxy(t, env, func(r *http.Request) time.Duration {
		if strings.HasSuffix(r.URL.Path, "/httproutes") {
			return 10 * time.Second
		}
		return 0
	})
	x := startExporter(t, "--kubeconfig="+writeKubeconfig(t, url), "--namespaces="+ns)
	r := x.scrape(t, "X-Prometheus-Scrape-Timeout-Seconds", "2")
	if r.Took > 3*time.Second {
		t.Errorf("scrape took %s, want < 3s with a 2s scrape timeout", r.Took)
	}
	lines := sampleLines(r.Body)
	parseText(t, r.Body)
	for _, k := range defaultKinds {
		want := "1"
		if k.Kind == "HTTPRoute" {
			want = "0"
		}
		if !contains(lines, upLine(k.Group, k.Kind, k.ReadVersion, want)) {
			t.Errorf("want %s", upLine(k.Group, k.Kind, k.ReadVersion, want))
		}
	}
	if len(withPrefix(lines, "gatewayapi_httproute_")) != 0 {
		t.Errorf("the unfinished kind must not be served half-listed")
	}
	if len(withPrefix(lines, "gatewayapi_gateway_")) == 0 {
		t.Errorf("the other kinds must be complete")
	}
}

func contains(lines []string, l string) bool {
	for _, x := range lines {
		if x == l {
			return true
		}
	}
	return false
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// TestSustainedConcurrentScrapes: 50 scrapers for 60s against 10k HTTPRoutes
// on the real API server (E2E_LOAD_OBJECTS, E2E_LOAD_SECONDS override): every
// scrape succeeds complete, LISTs are shared between scrapes, and once the load
// stops the exporter has no more goroutines or heap than before it.
func TestSustainedConcurrentScrapes(t *testing.T) {
	env := testenv.Current(t)
	ns := nsFor(t)
	n, secs := envInt("E2E_LOAD_OBJECTS", 10000), envInt("E2E_LOAD_SECONDS", 60)
	start := time.Now()
	createRoutes(t, env, ns, n)
	t.Logf("created %d HTTPRoutes in %s", n, time.Since(start).Round(time.Millisecond))

	x := startExporter(t, "--kubeconfig="+env.Kubeconfig, "--namespaces="+ns, "--enable-gzip-encoding")
	client := &http.Client{Timeout: 60 * time.Second} // asks for gzip, as Prometheus does
	scrape := func() (int, error) {
		resp, err := client.Get(x.MetricsURL + "/metrics")
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("status %d", resp.StatusCode)
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return 0, err
		}
		return strings.Count(string(body), "gatewayapi_httproute_created{"), nil
	}
	if got, err := scrape(); err != nil || got != n {
		t.Fatalf("warm-up scrape: %d routes, %v", got, err)
	}
	client.CloseIdleConnections()
	time.Sleep(500 * time.Millisecond)
	gBefore, heapBefore := stats()
	listsBefore := listCounts(t, x)["HTTPRoute"]

	var scrapes, failures atomic.Int64
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(secs)*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				got, err := scrape()
				scrapes.Add(1)
				if err != nil || got != n {
					failures.Add(1)
					t.Errorf("scrape: %d of %d routes, %v", got, n, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	lists := listCounts(t, x)["HTTPRoute"] - listsBefore
	client.CloseIdleConnections()
	time.Sleep(time.Second) // server goroutines of closed connections end
	gAfter, heapAfter := stats()
	t.Logf("%d scrapes in %ds by 50 scrapers, %d HTTPRoute list passes; goroutines %d -> %d; heap in use %.1f -> %.1f MiB",
		scrapes.Load(), secs, int(lists), gBefore, gAfter, heapBefore, heapAfter)
	if failures.Load() > 0 {
		t.Fatalf("%d scrapes failed", failures.Load())
	}
	if float64(scrapes.Load()) < 2*lists {
		t.Errorf("%d scrapes made %v list passes: concurrent scrapes should share LISTs", scrapes.Load(), lists)
	}
	if gAfter > gBefore+10 {
		t.Errorf("goroutines grew from %d to %d after the load stopped", gBefore, gAfter)
	}
	if heapAfter > heapBefore*1.5+16 {
		t.Errorf("heap in use grew from %.1f to %.1f MiB after the load stopped", heapBefore, heapAfter)
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
