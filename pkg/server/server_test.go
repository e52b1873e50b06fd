// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package server

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"golang.org/x/crypto/bcrypt"

	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/engine"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/scrape"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/source"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/spec"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/telemetry"
)

// A one-family spec for GatewayClasses, so that the expected lines can be
// written by hand.
const testSpec = `kind: CustomResourceStateMetrics
spec:
  resources:
  - groupVersionKind: {group: gateway.networking.k8s.io, version: v1, kind: GatewayClass}
    metricNamePrefix: gatewayapi_gatewayclass
    labelsFromPath: {name: [metadata, name]}
    metrics:
    - name: info
      help: GatewayClass information
      each:
        type: Info
        info:
          labelsFromPath: {controller_name: [spec, controllerName]}
`

const (
	// KSM sorts the labels, and types an Info family gauge in the text format.
	infoLine = `gatewayapi_gatewayclass_info{controller_name="example.com/gw",customresource_group="gateway.networking.k8s.io",customresource_kind="GatewayClass",customresource_version="v1",name="eg"} 1`
	upLine   = `gateway_metrics_up{group="gateway.networking.k8s.io",kind="GatewayClass",version="v1"} `
)

var gatewayClasses = source.Resource{Group: "gateway.networking.k8s.io", Version: "v1", Kind: "GatewayClass", Plural: "gatewayclasses"}

// fakeCollector serves one GatewayClass, or fails; it counts releases, so a
// test can check that every result handed out is released exactly once.
type fakeCollector struct {
	t        *testing.T
	kind     *spec.Kind
	err      error         // Collect fails with it
	up       bool          // the kind's gateway_metrics_up
	block    chan struct{} // when set, Collect waits for it to close
	entered  chan struct{} // when set, Collect signals it started
	ready    atomic.Bool
	handed   atomic.Int32
	released atomic.Int32
	deadline time.Duration // time left on the context Collect got
}

func newFake(t *testing.T) *fakeCollector {
	plan, _, err := spec.Load("test", []byte(testSpec))
	if err != nil {
		t.Fatal(err)
	}
	return &fakeCollector{t: t, kind: plan.Kinds[0], up: true}
}

func (f *fakeCollector) result(kr scrape.KindResult) *scrape.Result {
	f.handed.Add(1)
	return scrape.NewResult([]scrape.KindResult{kr}, func() { f.released.Add(1) })
}

func (f *fakeCollector) Collect(ctx context.Context) (*scrape.Result, error) {
	if d, ok := ctx.Deadline(); ok {
		f.deadline = time.Until(d)
	}
	if f.entered != nil {
		f.entered <- struct{}{}
	}
	if f.block != nil {
		<-f.block
	}
	if f.err != nil {
		return nil, f.err
	}
	kr := scrape.KindResult{Kind: f.kind, Resource: gatewayClasses, Up: f.up}
	if f.up {
		r := engine.NewRenderer(f.kind, engine.GVK{Group: gatewayClasses.Group, Version: "v1", Kind: "GatewayClass"}, nil)
		r.Add(map[string]any{
			"apiVersion": "gateway.networking.k8s.io/v1", "kind": "GatewayClass",
			"metadata": map[string]any{"name": "eg"},
			"spec":     map[string]any{"controllerName": "example.com/gw"},
		})
		r.Finish()
		kr.Renderer = r
	}
	return f.result(kr), nil
}

func (f *fakeCollector) Down(err error) *scrape.Result {
	return f.result(scrape.KindResult{Kind: f.kind, Resource: gatewayClasses, Err: err})
}

func (f *fakeCollector) Ready() bool { return f.ready.Load() }

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func get(t *testing.T, h http.Handler, target string, header http.Header) *http.Response {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func hasLine(body, line string) bool {
	return strings.Contains("\n"+body, "\n"+line+"\n")
}

func TestMetricsServesTheCollection(t *testing.T) {
	f := newFake(t)
	tel := telemetry.New()
	h := MetricsHandler(f, Config{ScrapeTimeout: 7 * time.Second, MaxInFlight: 4}, tel, quietLog())
	resp := get(t, h, "/metrics", nil)
	b := body(t, resp)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Errorf("status %d, Content-Type %q; want 200 and the text format", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, want := range []string{"# HELP gatewayapi_gatewayclass_info GatewayClass information", "# TYPE gatewayapi_gatewayclass_info gauge", infoLine, upLine + "1"} {
		if !hasLine(b, want) {
			t.Errorf("body lacks the line %s:\n%s", want, b)
		}
	}
	if got := testutil.ToFloat64(tel.Scrapes.WithLabelValues("complete")); got != 1 {
		t.Errorf(`gateway_metrics_scrapes_total{outcome="complete"} = %v, want 1`, got)
	}
	if f.handed.Load() != 1 || f.released.Load() != 1 {
		t.Errorf("%d results handed out, %d released; want 1 and 1", f.handed.Load(), f.released.Load())
	}
	// Without X-Prometheus-Scrape-Timeout-Seconds, --scrape-timeout bounds it.
	if f.deadline <= 0 || f.deadline > 7*time.Second {
		t.Errorf("Collect got %v left on its context, want at most the 7s of ScrapeTimeout", f.deadline)
	}
}

// A collection that does not finish is answered with every kind down, status
// 200, as a scrape that got an answer.
func TestMetricsCollectionFailed(t *testing.T) {
	f := newFake(t)
	f.err = context.DeadlineExceeded
	tel := telemetry.New()
	resp := get(t, MetricsHandler(f, Config{ScrapeTimeout: time.Second}, tel, quietLog()), "/metrics", nil)
	b := body(t, resp)
	if resp.StatusCode != http.StatusOK || !hasLine(b, upLine+"0") || strings.Contains(b, "gatewayapi_gatewayclass_info") {
		t.Errorf("status %d; want 200, %s0 and no family:\n%s", resp.StatusCode, upLine, b)
	}
	if got := testutil.ToFloat64(tel.Scrapes.WithLabelValues("timeout")); got != 1 {
		t.Errorf(`gateway_metrics_scrapes_total{outcome="timeout"} = %v, want 1`, got)
	}
	if f.handed.Load() != 1 || f.released.Load() != 1 {
		t.Errorf("%d results handed out, %d released; want 1 and 1", f.handed.Load(), f.released.Load())
	}
}

func TestMetricsPartialCollection(t *testing.T) {
	f := newFake(t)
	f.up = false
	tel := telemetry.New()
	b := body(t, get(t, MetricsHandler(f, Config{ScrapeTimeout: time.Second}, tel, quietLog()), "/metrics", nil))
	if !hasLine(b, upLine+"0") {
		t.Errorf("want %s0:\n%s", upLine, b)
	}
	if got := testutil.ToFloat64(tel.Scrapes.WithLabelValues("partial")); got != 1 {
		t.Errorf(`gateway_metrics_scrapes_total{outcome="partial"} = %v, want 1`, got)
	}
}

// Past MaxInFlight concurrent requests, more get 503 with Retry-After; the
// ones in flight are served.
func TestMetricsConcurrencyLimit(t *testing.T) {
	f := newFake(t)
	f.block, f.entered = make(chan struct{}), make(chan struct{}, 1)
	tel := telemetry.New()
	h := MetricsHandler(f, Config{ScrapeTimeout: time.Minute, MaxInFlight: 1}, tel, quietLog())
	first := make(chan *http.Response)
	go func() { first <- get(t, h, "/metrics", nil) }()
	<-f.entered // the first request holds the only slot

	resp := get(t, h, "/metrics", nil)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "1" {
		t.Errorf("second request: status %d, Retry-After %q; want 503 and 1", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if got := testutil.ToFloat64(tel.Rejected); got != 1 {
		t.Errorf("gateway_metrics_scrapes_rejected_total = %v, want 1", got)
	}
	close(f.block)
	if r := <-first; r.StatusCode != http.StatusOK || !hasLine(body(t, r), infoLine) {
		t.Errorf("first request: status %d, want 200 with the collection", r.StatusCode)
	}
	// The slot is free again.
	if r := get(t, h, "/metrics", nil); r.StatusCode != http.StatusOK {
		t.Errorf("third request: status %d, want 200", r.StatusCode)
	}
	<-f.entered
}

func TestScrapeTimeout(t *testing.T) {
	cases := []struct {
		header string
		want   time.Duration
	}{
		{"", 10 * time.Second},
		{"10", 9500 * time.Millisecond}, // margin capped at 500ms
		{"2", 1800 * time.Millisecond},  // a tenth
		{"0.5", 450 * time.Millisecond},
		{"0", 10 * time.Second},
		{"-3", 10 * time.Second},
		{"soon", 10 * time.Second},
	}
	for _, c := range cases {
		r := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		if c.header != "" {
			r.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", c.header)
		}
		if got := scrapeTimeout(r, 10*time.Second); got != c.want {
			t.Errorf("X-Prometheus-Scrape-Timeout-Seconds %q: %v, want %v", c.header, got, c.want)
		}
	}
}

func TestGzip(t *testing.T) {
	f := newFake(t)
	plain := body(t, get(t, MetricsHandler(f, Config{ScrapeTimeout: time.Second}, telemetry.New(), quietLog()), "/metrics", nil))

	asks := http.Header{"Accept-Encoding": {"deflate, gzip;q=1.0"}}
	resp := get(t, MetricsHandler(f, Config{ScrapeTimeout: time.Second, Gzip: true}, telemetry.New(), quietLog()), "/metrics", asks)
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("--enable-gzip-encoding and Accept-Encoding gzip: Content-Encoding %q", resp.Header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	unzipped, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if string(unzipped) != plain {
		t.Errorf("gunzipped body differs from the plain one:\n%s\n---\n%s", unzipped, plain)
	}

	// Not enabled: never compressed, whatever the client accepts.
	resp = get(t, MetricsHandler(f, Config{ScrapeTimeout: time.Second}, telemetry.New(), quietLog()), "/metrics", asks)
	if resp.Header.Get("Content-Encoding") != "" || body(t, resp) != plain {
		t.Errorf("gzip not enabled: Content-Encoding %q", resp.Header.Get("Content-Encoding"))
	}

	for accept, want := range map[string]bool{"gzip": true, " br , gzip ": true, "gzip;q=0.5": true, "gzipx": false, "br": false, "": false} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Accept-Encoding", accept)
		if acceptsGzip(r) != want {
			t.Errorf("Accept-Encoding %q: acceptsGzip = %v, want %v", accept, !want, want)
		}
	}
}

func TestOpenMetrics(t *testing.T) {
	f := newFake(t)
	resp := get(t, MetricsHandler(f, Config{ScrapeTimeout: time.Second}, telemetry.New(), quietLog()), "/metrics",
		http.Header{"Accept": {"application/openmetrics-text;version=1.0.0"}})
	b := body(t, resp)
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/openmetrics-text; version=1.0.0") || !strings.HasSuffix(b, "# EOF\n") {
		t.Errorf("Content-Type %q; want OpenMetrics and a body ending in # EOF:\n%s", resp.Header.Get("Content-Type"), b)
	}
}

// ?resources= and ?exclude_resources= select kinds by KSM's resource name;
// the exporter's health families stay.
func TestResourcesQuery(t *testing.T) {
	f := newFake(t)
	h := MetricsHandler(f, Config{ScrapeTimeout: time.Second}, telemetry.New(), quietLog())
	name := "gateway.networking.k8s.io/v1, Resource=gatewayclasses"
	cases := []struct {
		query    string
		withInfo bool
	}{
		{"", true},
		{"?resources=" + name, true},
		{"?resources=" + name + ",gateway.networking.k8s.io/v1, Resource=gateways", true},
		{"?resources=gateway.networking.k8s.io/v1, Resource=gateways", false},
		{"?exclude_resources=" + name, false},
		{"?resources=" + name + "&exclude_resources=" + name, false},
	}
	for _, c := range cases {
		u := "/metrics" + strings.ReplaceAll(c.query, " ", "%20")
		b := body(t, get(t, h, u, nil))
		if hasLine(b, infoLine) != c.withInfo || !hasLine(b, upLine+"1") {
			t.Errorf("%s: info line present %v, want %v; %s1 always:\n%s", c.query, !c.withInfo, c.withInfo, upLine, b)
		}
	}
}

func TestParseResources(t *testing.T) {
	got := parseResources([]string{"gateway.networking.k8s.io/v1, Resource=gateways,pods", " configmaps ,,", "kuadrant.io/v1,Resource=authpolicies"})
	want := []string{"gateway.networking.k8s.io/v1, Resource=gateways", "pods", "configmaps", "kuadrant.io/v1, Resource=authpolicies"}
	if len(got) != len(want) {
		t.Errorf("parseResources = %v, want %v", got, want)
	}
	for _, w := range want {
		if _, ok := got[w]; !ok {
			t.Errorf("parseResources lacks %q: %v", w, got)
		}
	}
	if parseResources(nil) != nil {
		t.Error("no parameter must mean no filter")
	}
}

func TestMainMux(t *testing.T) {
	f := newFake(t)
	var livezErr error
	mux, err := MainMux(f, Config{ScrapeTimeout: time.Second, Version: "v9.9.9", Livez: func(context.Context) error { return livezErr }}, telemetry.New(), quietLog())
	if err != nil {
		t.Fatal(err)
	}
	check := func(path string, status int, contains string) {
		t.Helper()
		resp := get(t, mux, path, nil)
		if b := body(t, resp); resp.StatusCode != status || !strings.Contains(b, contains) {
			t.Errorf("%s: status %d, want %d with %q in:\n%s", path, resp.StatusCode, status, contains, b)
		}
	}
	check("/healthz", 200, "OK")
	check("/livez", 200, "OK")
	livezErr = errors.New("API server unhealthy")
	check("/livez", 503, "Service Unavailable")
	check("/", 200, "v9.9.9")
	check("/metrics", 200, infoLine)
	check("/nothing-here", 404, "404 page not found")
	check("/debug/pprof/", 404, "404 page not found")
}

func TestTelemetryMux(t *testing.T) {
	f := newFake(t)
	tel := telemetry.New()
	tel.Scrapes.WithLabelValues("complete").Add(3)
	mux, err := TelemetryMux(f, Config{}, tel)
	if err != nil {
		t.Fatal(err)
	}
	if resp := get(t, mux, "/readyz", nil); resp.StatusCode != 503 {
		t.Errorf("/readyz before discovery: %d, want 503", resp.StatusCode)
	}
	f.ready.Store(true)
	if resp := get(t, mux, "/readyz", nil); resp.StatusCode != 200 {
		t.Errorf("/readyz after discovery: %d, want 200", resp.StatusCode)
	}
	if b := body(t, get(t, mux, "/metrics", nil)); !hasLine(b, `gateway_metrics_scrapes_total{outcome="complete"} 3`) {
		t.Errorf("self metrics lack the scrape counter:\n%s", b)
	}
	if resp := get(t, mux, "/debug/pprof/", nil); resp.StatusCode != 404 {
		t.Errorf("pprof not enabled: /debug/pprof/ %d, want 404", resp.StatusCode)
	}
	mux, err = TelemetryMux(f, Config{Pprof: true}, tel)
	if err != nil {
		t.Fatal(err)
	}
	if resp := get(t, mux, "/debug/pprof/", nil); resp.StatusCode != 200 {
		t.Errorf("--enable-pprof: /debug/pprof/ %d, want 200", resp.StatusCode)
	}
}

var hrefRE = regexp.MustCompile(`href="([^"]+)"`)

// landingLinks returns every link of the landing page at / of mux.
func landingLinks(t *testing.T, mux http.Handler) []string {
	t.Helper()
	resp := get(t, mux, "/", nil)
	b := body(t, resp)
	if resp.StatusCode != 200 {
		t.Fatalf("/: status %d", resp.StatusCode)
	}
	var links []string
	for _, m := range hrefRE.FindAllStringSubmatch(b, -1) {
		links = append(links, m[1])
	}
	if len(links) == 0 {
		t.Fatalf("the landing page has no links:\n%s", b)
	}
	return links
}

// checkLinksServed follows every link of mux's landing page: each must be
// routed to a handler of its own (not the landing page's catch-all, which
// answers 404 off "/") and answer 200.
func checkLinksServed(t *testing.T, name string, mux *http.ServeMux) []string {
	t.Helper()
	links := landingLinks(t, mux)
	for _, l := range links {
		if strings.Contains(l, "://") {
			continue // an external link (pprof.me)
		}
		u, err := url.Parse(l)
		if err != nil {
			t.Errorf("%s: landing page link %q: %v", name, l, err)
			continue
		}
		if !strings.HasPrefix(u.Path, "/") {
			u.Path = "/" + u.Path
		}
		req := httptest.NewRequest(http.MethodGet, u.String(), nil)
		if _, pattern := mux.Handler(req); pattern == "" || (pattern == "/" && u.Path != "/") {
			t.Errorf("%s: the landing page links %s, which no handler serves", name, l)
			continue
		}
		// A CPU profile runs for as long as it is asked: the handler is the
		// same for one second.
		q := u.Query()
		if q.Has("seconds") {
			q.Set("seconds", "1")
			u.RawQuery = q.Encode()
		}
		if resp := get(t, mux, u.String(), nil); resp.StatusCode != 200 {
			t.Errorf("%s: the landing page links %s, which answers %d", name, l, resp.StatusCode)
		}
	}
	return links
}

func hasPprofLink(links []string) bool {
	return slices.ContainsFunc(links, func(l string) bool { return strings.Contains(l, "debug/pprof") })
}

// TestLandingPagesLinkOnlyWhatIsServed: every link of both landing pages
// answers, and /debug/pprof/* is linked exactly when --enable-pprof serves it
// (on the telemetry port; never on the metrics port).
func TestLandingPagesLinkOnlyWhatIsServed(t *testing.T) {
	f := newFake(t)
	f.ready.Store(true)
	for _, pprofOn := range []bool{false, true} {
		cfg := Config{ScrapeTimeout: time.Second, Version: "v9.9.9", Pprof: pprofOn}
		main, err := MainMux(f, cfg, telemetry.New(), quietLog())
		if err != nil {
			t.Fatal(err)
		}
		if links := checkLinksServed(t, fmt.Sprintf("metrics port (pprof %v)", pprofOn), main); hasPprofLink(links) {
			t.Errorf("metrics port (pprof %v): links pprof, which only the telemetry port serves: %v", pprofOn, links)
		}
		tel, err := TelemetryMux(f, cfg, telemetry.New())
		if err != nil {
			t.Fatal(err)
		}
		links := checkLinksServed(t, fmt.Sprintf("telemetry port (pprof %v)", pprofOn), tel)
		if hasPprofLink(links) != pprofOn {
			t.Errorf("telemetry port with pprof %v: links %v", pprofOn, links)
		}
	}
}

// Serve applies the web config (basic auth here), the timeouts and the
// header limit, and stops on Shutdown.
func TestServe(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	webConfig := filepath.Join(t.TempDir(), "web.yaml")
	if err := os.WriteFile(webConfig, []byte("basic_auth_users:\n  prometheus: "+string(hash)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("served")) })
	to := Timeouts{Read: 11 * time.Second, Write: 12 * time.Second, Idle: 13 * time.Second, ReadHeader: 14 * time.Second, MaxHeaderBytes: 4 << 10}
	srv, errc := Serve(l, ok, webConfig, to, quietLog())
	if srv.ReadTimeout != to.Read || srv.WriteTimeout != to.Write || srv.IdleTimeout != to.Idle || srv.ReadHeaderTimeout != to.ReadHeader || srv.MaxHeaderBytes != to.MaxHeaderBytes {
		t.Errorf("server timeouts %v %v %v %v %d, want %+v", srv.ReadTimeout, srv.WriteTimeout, srv.IdleTimeout, srv.ReadHeaderTimeout, srv.MaxHeaderBytes, to)
	}
	url := "http://" + l.Addr().String() + "/"
	do := func(user, pass string, header string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		if header != "" {
			req.Header.Set("X-Big", header)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := do("", "", ""); code != http.StatusUnauthorized {
		t.Errorf("no credentials: %d, want 401", code)
	}
	if code, _ := do("prometheus", "wrong", ""); code != http.StatusUnauthorized {
		t.Errorf("wrong password: %d, want 401", code)
	}
	if code, b := do("prometheus", "s3cret", ""); code != http.StatusOK || b != "served" {
		t.Errorf("right password: %d %q, want 200 served", code, b)
	}
	// net/http allows MaxHeaderBytes plus 4 KiB of slack.
	if code, _ := do("prometheus", "s3cret", string(bytes.Repeat([]byte("x"), 16<<10))); code != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("16 KiB header with a 4 KiB limit: %d, want 431", code)
	}
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		t.Errorf("Serve ended with %v, want http.ErrServerClosed", err)
	}
}
