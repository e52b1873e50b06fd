// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

// Failure semantics and HTTP behaviour: what the exporter answers when the API
// server is unreachable, when RBAC forbids a kind, when a CRD appears later,
// under concurrent scrapes, with gzip and OpenMetrics, and with KSM's
// ?resources= filter. The API server restart test is in zz_restart_test.go, so
// that it runs last.

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kuadrant/gateway-api-metrics-exporter/internal/harness"
	"github.com/kuadrant/gateway-api-metrics-exporter/internal/testenv"
	metricsspec "github.com/kuadrant/gateway-api-metrics-exporter/metrics-spec"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/spec"
)

// familyPrefix maps each default kind to the prefix of its families.
var familyPrefix = map[string]string{
	"GatewayClass": "gatewayapi_gatewayclass_", "Gateway": "gatewayapi_gateway_", "HTTPRoute": "gatewayapi_httproute_",
	"GRPCRoute": "gatewayapi_grpcroute_", "TLSRoute": "gatewayapi_tlsroute_", "TCPRoute": "gatewayapi_tcproute_",
	"UDPRoute": "gatewayapi_udproute_", "BackendTLSPolicy": "gatewayapi_backendtlspolicy_", "ListenerSet": "gatewayapi_listenerset_",
	"TLSPolicy": "gatewayapi_tlspolicy_", "DNSPolicy": "gatewayapi_dnspolicy_", "RateLimitPolicy": "gatewayapi_ratelimitpolicy_",
	"AuthPolicy": "gatewayapi_authpolicy_", "DNSRecord": "kuadrant_dnsrecord_", "DNSHealthCheckProbe": "kuadrant_dnshealthcheckprobe_",
	"ReferenceGrant": "gatewayapi_referencegrant_",
}

// closedPort returns a loopback port that nothing listens on.
func closedPort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

// TestAPIServerUnreachable: with a kubeconfig whose server refuses connections
// the exporter still starts; /metrics answers 200 with every kind down,
// /readyz is 503 until a discovery succeeds, /healthz is 200.
func TestAPIServerUnreachable(t *testing.T) {
	kc := writeKubeconfig(t, fmt.Sprintf("https://127.0.0.1:%d", closedPort(t)))
	x := startExporter(t, "--kubeconfig="+kc)

	r := x.scrape(t, "X-Prometheus-Scrape-Timeout-Seconds", "5")
	parseText(t, r.Body)
	lines := harness.SampleLines(r.Body)
	var want []string
	for _, k := range specKinds() {
		// Nothing was discovered, so the version is the one the spec names.
		want = append(want, upLine(k.Group, k.Kind, k.SpecVersion, "0"))
	}
	assertLines(t, "gateway_metrics_up", harness.WithPrefix(lines, "gateway_metrics_up"), want)
	if n := len(harness.WithPrefix(lines, "gateway_metrics_scrape_duration_seconds")); n != len(want) {
		t.Errorf("gateway_metrics_scrape_duration_seconds: %d lines, want %d", n, len(want))
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "gateway_metrics_") {
			t.Errorf("a kind family although nothing could be listed: %s", l)
		}
	}

	for _, c := range []struct {
		url  string
		want int
	}{
		{x.TelemetryURL + "/readyz", http.StatusServiceUnavailable},
		{x.MetricsURL + "/healthz", http.StatusOK},
		{x.MetricsURL + "/livez", http.StatusServiceUnavailable}, // proxies the API server's /livez
		{x.MetricsURL + "/", http.StatusOK},
		{x.TelemetryURL + "/", http.StatusOK},
		{x.MetricsURL + "/nothing-here", http.StatusNotFound},
	} {
		if got := x.get(t, c.url).Status; got != c.want {
			t.Errorf("GET %s: %d, want %d", c.url, got, c.want)
		}
	}
	// The exporter's own metrics report the failed scrape as partial.
	tel := string(x.get(t, x.TelemetryURL+"/metrics").Body)
	if !strings.Contains(tel, `gateway_metrics_scrapes_total{outcome="partial"} 1`) {
		t.Errorf("telemetry lacks gateway_metrics_scrapes_total{outcome=\"partial\"} 1:\n%s", grepLines(tel, "gateway_metrics_scrapes_total"))
	}
}

// writeKubeconfig writes a kubeconfig for server (TLS not verified, a token
// nobody knows) and returns its path.
func writeKubeconfig(t *testing.T, server string) string {
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kc, []byte(`apiVersion: v1
kind: Config
clusters:
- name: nowhere
  cluster:
    server: `+server+`
    insecure-skip-tls-verify: true
users:
- name: nobody
  user:
    token: not-a-token
contexts:
- name: nowhere
  context: {cluster: nowhere, user: nobody}
current-context: nowhere
`), 0o600); err != nil {
		t.Fatal(err)
	}
	return kc
}

// hangingServer accepts connections and never answers (a hung control plane,
// a black-holing network); it returns its https:// URL.
func hangingServer(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // hold it open, never read or write
			mu.Unlock()
		}
	}()
	t.Cleanup(func() { // runs after the exporter is stopped
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return "https://" + l.Addr().String()
}

// TestAPIServerUnresponsive: an API server that accepts connections and never
// answers (a hung control plane, a black-holing network) must not hold a
// scrape: with X-Prometheus-Scrape-Timeout-Seconds the answer is a 200 with
// every kind down. (A scrape held on the hung server would never answer; the
// test client's own timeout is only a liveness guard.)
func TestAPIServerUnresponsive(t *testing.T) {
	x := startExporter(t, "--kubeconfig="+writeKubeconfig(t, hangingServer(t)))

	for i := range 2 { // the second scrape starts while the first discovery still hangs
		r := x.scrape(t, "X-Prometheus-Scrape-Timeout-Seconds", "3")
		parseText(t, r.Body)
		lines := harness.SampleLines(r.Body)
		var want []string
		for _, k := range specKinds() {
			want = append(want, upLine(k.Group, k.Kind, k.SpecVersion, "0"))
		}
		assertLines(t, fmt.Sprintf("scrape %d: gateway_metrics_up", i), harness.WithPrefix(lines, "gateway_metrics_up"), want)
		for _, l := range lines {
			if !strings.HasPrefix(l, "gateway_metrics_") {
				t.Errorf("a kind family although nothing could be listed: %s", l)
			}
		}
	}
	if st := x.get(t, x.TelemetryURL+"/readyz").Status; st != http.StatusServiceUnavailable {
		t.Errorf("/readyz: %d, want 503", st)
	}
	if st := x.get(t, x.MetricsURL+"/healthz").Status; st != http.StatusOK {
		t.Errorf("/healthz: %d, want 200", st)
	}
}

func grepLines(body, substr string) string {
	var out []string
	for _, l := range strings.Split(body, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

const limitedRBAC = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: e2e-limited
rules:
- apiGroups: [gateway.networking.k8s.io]
  resources: [gatewayclasses, gateways, grpcroutes, tlsroutes, tcproutes, udproutes, backendtlspolicies, listenersets, referencegrants]
  verbs: [list, watch]
- apiGroups: [kuadrant.io]
  resources: [authpolicies, ratelimitpolicies, dnspolicies, tlspolicies, dnsrecords, dnshealthcheckprobes]
  verbs: [list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: e2e-limited
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: e2e-limited
subjects:
- apiGroup: rbac.authorization.k8s.io
  kind: User
  name: e2e-limited
`

// TestForbiddenKind: a user that may list every kind but httproutes gets
// gateway_metrics_up 0 for HTTPRoute only, and every other kind complete
// (the same lines an admin exporter serves), with status 200.
func TestForbiddenKind(t *testing.T) {
	env := testenv.Current(t)
	ns := nsFor(t)
	applySamples(t, env, ns)
	applyYAML(t, env, ns, limitedRBAC)
	kc, err := env.KubeconfigFor(limitedUser.Token)
	if err != nil {
		t.Fatal(err)
	}
	admin := startExporter(t, "--kubeconfig="+env.Kubeconfig, "--namespaces="+ns)
	limited := startExporter(t, "--kubeconfig="+kc, "--namespaces="+ns)

	var wantUp []string
	for _, k := range defaultKinds {
		v := "1"
		if k.Kind == "HTTPRoute" {
			v = "0"
		}
		wantUp = append(wantUp, upLine(k.Group, k.Kind, k.ReadVersion, v))
	}
	// The RBAC authorizer learns of the new binding through an informer: give
	// it a few seconds.
	var lines []string
	deadline := time.Now().Add(20 * time.Second)
	for {
		r := limited.scrape(t)
		parseText(t, r.Body)
		lines = harness.SampleLines(r.Body)
		if strings.Join(sorted(harness.WithPrefix(lines, "gateway_metrics_up")), "\n") == strings.Join(sorted(wantUp), "\n") || time.Now().After(deadline) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	assertLines(t, "gateway_metrics_up (limited user)", harness.WithPrefix(lines, "gateway_metrics_up"), wantUp)
	checkNoDuplicateSeries(t, lines)

	// The missing permission is logged once, naming the resource, however
	// many scrapes fail on it.
	if got := limited.logLines("RBAC forbids"); len(got) != 1 || !strings.Contains(got[0], "httproutes.gateway.networking.k8s.io") {
		t.Errorf("want one log line naming httproutes.gateway.networking.k8s.io, got %q", got)
	}
	adminBody := admin.scrape(t).Body
	adminLines := harness.SampleLines(adminBody)
	assertAllUp(t, adminLines)
	for _, k := range defaultKinds {
		got, want := harness.WithPrefix(lines, familyPrefix[k.Kind]), harness.WithPrefix(adminLines, familyPrefix[k.Kind])
		if k.Kind == "HTTPRoute" {
			if len(got) != 0 {
				t.Errorf("HTTPRoute families although listing them is forbidden:\n%s", strings.Join(got, "\n"))
			}
			if len(want) == 0 {
				t.Errorf("the admin exporter serves no HTTPRoute lines")
			}
			continue
		}
		if len(want) == 0 {
			t.Errorf("the admin exporter serves no %s lines", k.Kind)
		}
		// The graph cannot judge what targets or references an HTTPRoute
		// without HTTPRoutes: those samples go (below); the rest is the same.
		assertLines(t, k.Kind+" families (limited user vs admin)", withoutGraph(got), withoutGraph(want))
	}
	// The policies target demo-route, an HTTPRoute: the admin's exporter
	// says it exists, the limited one cannot tell, so says nothing.
	for _, f := range []string{"gatewayapi_authpolicy_target_resolved", "gatewayapi_ratelimitpolicy_target_resolved"} {
		if got, want := named(lines, f), named(adminLines, f); len(got) != 0 || len(want) != 1 || !strings.HasSuffix(want[0], " 1") {
			t.Errorf("%s: limited user serves %q (want none), admin %q (want one resolved target)", f, got, want)
		}
	}
}

const widgetSpec = `kind: CustomResourceStateMetrics
spec:
  resources:
    - groupVersionKind: {group: example.com, version: v1, kind: Widget}
      metricNamePrefix: example_widget
      labelsFromPath: {name: [metadata, name], namespace: [metadata, namespace]}
      metrics:
      - name: info
        help: "Widget information"
        each:
          type: Info
          info:
            labelsFromPath: {color: [spec, color]}
      - name: size
        help: "Widget size"
        each:
          type: Gauge
          gauge:
            path: [spec, size]
      - name: status
        help: "status condition"
        each:
          type: Gauge
          gauge:
            path: [status, conditions]
            labelsFromPath: {type: [type]}
            valueFrom: [status]
`

const widgetCRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  names: {kind: Widget, listKind: WidgetList, plural: widgets, singular: widget}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
`

const widget = `apiVersion: example.com/v1
kind: Widget
metadata:
  name: sprocket
spec:
  color: blue
  size: 3
status:
  conditions:
  - type: Ready
    status: "True"
  - type: Degraded
    status: "False"
`

// waitBody scrapes x until done accepts its sample lines; the bound is a
// liveness guard (watch mode rediscovers every 10s), not a pass criterion.
func waitBody(t *testing.T, x *exporter, what string, done func(lines []string) bool) []string {
	t.Helper()
	var lines []string
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(250 * time.Millisecond) {
		r := x.scrape(t)
		parseText(t, r.Body)
		if lines = harness.SampleLines(r.Body); done(lines) {
			return lines
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: never happened; last body:\n%s", what, strings.Join(lines, "\n"))
		}
	}
}

// TestCRDInstalledLater: a kind whose CRD is missing is not served, and shows
// up once the CRD is installed, without a restart; deleted at runtime, its
// series go away cleanly; re-created, it is served again with the new
// objects. As METRICS.md says, a kind whose CRD is not installed has no
// gateway_metrics_up series (a cluster without Kuadrant is not a failing
// one); 0 is for kinds that are served but fail. Both collection modes. (The
// CRDs of the default spec are installed for the whole package, so the test
// uses a spec of its own for example.com/Widget.)
func TestCRDInstalledLater(t *testing.T) {
	env := testenv.Current(t)
	ns := nsFor(t)
	dir := t.TempDir()
	specFile := filepath.Join(dir, "widget-spec.yaml")
	if err := os.WriteFile(specFile, []byte(widgetSpec), 0o644); err != nil {
		t.Fatal(err)
	}
	// Discovery off: this spec declares Widget only, so the cluster's policy
	// CRDs (BackendTLSPolicy has the GEP-713 label) would be discovered.
	modes := map[string]*exporter{}
	for _, mode := range []string{"list", "watch"} {
		modes[mode] = startExporter(t, "--kubeconfig="+env.Kubeconfig, "--namespaces="+ns, "--custom-resource-state-config-file="+specFile, "--collection="+mode, "--discover-policies=false")
	}

	for mode, x := range modes {
		r := x.scrape(t)
		parseText(t, r.Body)
		if lines := harness.SampleLines(r.Body); len(lines) != 0 {
			t.Errorf("%s mode, before the CRD: want no sample at all (no kind family, no gateway_metrics_up series), got:\n%s", mode, strings.Join(lines, "\n"))
		}
		// Discovery itself worked: the exporter is ready.
		waitBody(t, x, mode+" mode ready", func([]string) bool { return x.get(t, x.TelemetryURL+"/readyz").Status == http.StatusOK })
	}

	crdFile := filepath.Join(dir, "widget-crd.yaml")
	if err := os.WriteFile(crdFile, []byte(widgetCRD), 0o644); err != nil {
		t.Fatal(err)
	}
	install := func(size string) []string {
		if err := env.InstallCRDs(ctxFor(t), crdFile); err != nil {
			t.Fatal(err)
		}
		objs := applyYAML(t, env, ns, strings.Replace(widget, "size: 3", "size: "+size, 1))
		return expand(t, ns, objs, nil, []string{
			`example_widget_info{color="blue",customresource_group="example.com",customresource_kind="Widget",customresource_version="v1",name="sprocket",namespace="${NS}"} 1`,
			`example_widget_size{customresource_group="example.com",customresource_kind="Widget",customresource_version="v1",name="sprocket",namespace="${NS}"} ` + size,
			`example_widget_status{customresource_group="example.com",customresource_kind="Widget",customresource_version="v1",name="sprocket",namespace="${NS}",type="Degraded"} 0`,
			`example_widget_status{customresource_group="example.com",customresource_kind="Widget",customresource_version="v1",name="sprocket",namespace="${NS}",type="Ready"} 1`,
		})
	}
	served := func(want []string) {
		for mode, x := range modes {
			lines := waitBody(t, x, mode+" mode serves the Widget", func(lines []string) bool {
				return strings.Join(sorted(harness.WithPrefix(lines, "example_widget_")), "\n") == strings.Join(sorted(want), "\n")
			})
			assertLines(t, mode+" mode: gateway_metrics_up", harness.WithPrefix(lines, "gateway_metrics_up"), []string{upLine("example.com", "Widget", "v1", "1")})
			assertLines(t, mode+" mode: Widget families", harness.WithPrefix(lines, "example_widget_"), want)
		}
	}
	want := install("3")
	// In list mode the very next scrape has it.
	assertLines(t, "list mode, next scrape after the CRD", harness.WithPrefix(harness.SampleLines(modes["list"].scrape(t).Body), "example_widget_"), want)
	served(want)

	// Deleting the CRD at runtime: the kind's families and its up series go
	// away cleanly, no restart, no error series left behind.
	crds := env.Dynamic().Resource(schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"})
	if err := crds.Delete(ctxFor(t), "widgets.example.com", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	for mode, x := range modes {
		waitBody(t, x, mode+" mode drops the deleted kind", func(lines []string) bool {
			for _, l := range lines {
				// While the deletion goes on, a scrape may still list the
				// kind, or see it down; never a partial or unlabelled one.
				if strings.HasPrefix(l, "example_widget_size") && !strings.HasSuffix(l, " 3") {
					t.Errorf("%s mode during the deletion: %s", mode, l)
				}
			}
			return len(lines) == 0
		})
	}

	// Re-created with another object: served again, the new state only.
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(250 * time.Millisecond) {
		if _, err := crds.Get(ctxFor(t), "widgets.example.com", metav1.GetOptions{}); apierrors.IsNotFound(err) {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("the CRD is still there: %v", err)
		}
	}
	served(install("5"))
}

// listCounts reads gateway_metrics_list_total from the telemetry port,
// summed over results, by kind.
func listCounts(t *testing.T, x *exporter) map[string]float64 {
	t.Helper()
	fams := parseText(t, x.get(t, x.TelemetryURL+"/metrics").Body)
	out := map[string]float64{}
	f := fams["gateway_metrics_list_total"]
	if f == nil {
		t.Fatal("telemetry has no gateway_metrics_list_total")
	}
	for _, m := range f.GetMetric() {
		kind := ""
		for _, lp := range m.GetLabel() {
			if lp.GetName() == "kind" {
				kind = lp.GetValue()
			}
		}
		out[kind] += m.GetCounter().GetValue()
	}
	return out
}

// scrapesWaiting counts the scrapes of this process' exporters waiting for
// a collection in flight (list mode's Collect).
func scrapesWaiting() int {
	var b bytes.Buffer
	_ = pprof.Lookup("goroutine").WriteTo(&b, 2)
	n := 0
	for _, g := range strings.Split(b.String(), "\n\n") {
		if strings.Contains(g, "pkg/scrape.(*Collector).Collect(") {
			n++
		}
	}
	return n
}

// TestConcurrentScrapesCoalesce: 10 scrapes that arrive while a collection
// is in flight (its Gateway LIST held until all 10 wait for it) all get the
// same answer, from that one collection: one LIST per kind.
func TestConcurrentScrapesCoalesce(t *testing.T) {
	env := testenv.Current(t)
	ns := nsFor(t)
	applySamples(t, env, ns)
	var armed atomic.Bool
	release := make(chan struct{})
	url := holdingProxy(t, env, func(r *http.Request) bool {
		return armed.Load() && strings.HasSuffix(r.URL.Path, "/gateways")
	}, release)
	// The held collection must outlast the wait for all the scrapes.
	x := startExporter(t, "--kubeconfig="+writeKubeconfig(t, url), "--namespaces="+ns, "--scrape-timeout=50s")
	first := x.scrape(t)
	assertAllUp(t, harness.SampleLines(first.Body))
	// Scrape durations differ from one collection to the next.
	want := without(harness.SampleLines(first.Body), "gateway_metrics_scrape_duration_seconds")
	before := listCounts(t, x)

	armed.Store(true)
	const n = 10
	type result struct {
		status int
		body   []byte
		err    error
	}
	results := make([]result, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			resp, err := x.client.Get(x.MetricsURL + "/metrics")
			if err != nil {
				results[i].err = err
				return
			}
			defer resp.Body.Close()
			results[i].status = resp.StatusCode
			results[i].body, results[i].err = io.ReadAll(resp.Body)
		}()
	}
	close(start)
	for deadline := time.Now().Add(40 * time.Second); scrapesWaiting() < n; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) { // a liveness bound
			close(release)
			t.Fatalf("%d of %d scrapes wait for the collection in flight", scrapesWaiting(), n)
		}
	}
	close(release)
	wg.Wait()
	for i, r := range results {
		if r.err != nil || r.status != http.StatusOK {
			t.Errorf("scrape %d: status %d, err %v", i, r.status, r.err)
			continue
		}
		parseText(t, r.body)
		assertLines(t, fmt.Sprintf("scrape %d", i), without(harness.SampleLines(r.body), "gateway_metrics_scrape_duration_seconds"), want)
	}

	after := listCounts(t, x)
	for _, k := range defaultKinds {
		if d := after[k.Kind] - before[k.Kind]; d != 1 {
			t.Errorf("%s: %v LISTs for %d scrapes that arrived while one collection was in flight, want 1", k.Kind, d, n)
		}
	}
}

// TestGzipAndOpenMetrics: --enable-gzip-encoding gzips for clients that accept
// it; OpenMetrics is served when asked for, with info families typed info.
func TestGzipAndOpenMetrics(t *testing.T) {
	env := testenv.Current(t)
	ns := nsFor(t)
	applySamples(t, env, ns)
	x := startExporter(t, "--kubeconfig="+env.Kubeconfig, "--namespaces="+ns, "--enable-gzip-encoding")

	plain := x.scrape(t)
	if ce := plain.Header.Get("Content-Encoding"); ce != "" {
		t.Errorf("Content-Encoding %q without Accept-Encoding", ce)
	}
	// What KSM answers: expfmt.NewFormat(expfmt.TypeTextPlain), no escaping term.
	const textType = "text/plain; version=0.0.4; charset=utf-8"
	if ct := plain.Header.Get("Content-Type"); ct != textType {
		t.Errorf("Content-Type %q, want %q", ct, textType)
	}
	fams := parseText(t, plain.Body)
	want := without(harness.SampleLines(plain.Body), "gateway_metrics_scrape_duration_seconds")
	assertAllUp(t, harness.SampleLines(plain.Body))

	// gzip
	gz := x.scrape(t, "Accept-Encoding", "gzip")
	if ce := gz.Header.Get("Content-Encoding"); ce != "gzip" {
		t.Fatalf("Content-Encoding %q, want gzip", ce)
	}
	if ct := gz.Header.Get("Content-Type"); ct != textType {
		t.Errorf("gzip: Content-Type %q, want %q", ct, textType)
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz.Body))
	if err != nil {
		t.Fatalf("gzip body: %v", err)
	}
	unzipped, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("gunzip: %v", err)
	}
	if len(gz.Body) >= len(unzipped) {
		t.Errorf("gzip body (%d bytes) not smaller than the text (%d bytes)", len(gz.Body), len(unzipped))
	}
	parseText(t, unzipped)
	assertLines(t, "gzip body", without(harness.SampleLines(unzipped), "gateway_metrics_scrape_duration_seconds"), want)

	// OpenMetrics
	om := x.scrape(t, "Accept", "application/openmetrics-text;version=1.0.0")
	const omType = "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores"
	if ct := om.Header.Get("Content-Type"); ct != omType {
		t.Errorf("Content-Type %q, want %q", ct, omType)
	}
	if !bytes.HasSuffix(om.Body, []byte("\n# EOF\n")) {
		t.Errorf("OpenMetrics body does not end with # EOF: ...%q", om.Body[max(0, len(om.Body)-80):])
	}
	if bytes.Count(om.Body, []byte("# EOF")) != 1 {
		t.Errorf("OpenMetrics body has %d # EOF lines", bytes.Count(om.Body, []byte("# EOF")))
	}
	assertLines(t, "OpenMetrics samples", without(harness.SampleLines(om.Body), "gateway_metrics_scrape_duration_seconds"), want)
	assertHealthLast(t, harness.SampleLines(om.Body))

	// Every family keeps its spec type in OpenMetrics; the text format
	// writes info as gauge (as KSM does, so Prometheus' text parser accepts it).
	plan, _, err := spec.LoadFS(metricsspec.FS)
	if err != nil {
		t.Fatal(err)
	}
	omTypes, textTypes := typeLines(om.Body), typeLines(plain.Body)
	checked := 0
	for _, k := range plan.Kinds {
		for _, f := range k.Families {
			if _, served := fams[f.Name]; !served {
				continue // no sample for this family in the samples
			}
			checked++
			if got := omTypes[f.Name]; got != string(f.Type) {
				t.Errorf("OpenMetrics: # TYPE %s %s, want %s", f.Name, got, f.Type)
			}
			wantText := string(f.Type)
			if f.Type == spec.Info {
				wantText = "gauge"
			}
			if got := textTypes[f.Name]; got != wantText {
				t.Errorf("text: # TYPE %s %s, want %s", f.Name, got, wantText)
			}
		}
	}
	if omTypes["gatewayapi_gateway_info"] != "info" || omTypes["gateway_metrics_up"] != "gauge" {
		t.Errorf("OpenMetrics: gatewayapi_gateway_info %q, gateway_metrics_up %q; want info, gauge",
			omTypes["gatewayapi_gateway_info"], omTypes["gateway_metrics_up"])
	}
	t.Logf("checked the TYPE of %d families", checked)

	// The OpenMetrics 1.0 parser of prometheus/common accepts the body. It
	// rejects every info (and stateset) family as "unsupported metric type"
	// (client_model has no such type yet), so those are declared gauge for it;
	// the rest of the grammar (names, labels, values, # EOF) is checked as is.
	omForParser := infoTypeRE.ReplaceAll(om.Body, []byte("$1 gauge"))
	dec := expfmt.NewDecoder(bytes.NewReader(omForParser), expfmt.FmtOpenMetrics_1_0_0)
	var decoded []string
	for {
		var mf dto.MetricFamily
		err := dec.Decode(&mf)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("OpenMetrics decode after %d families: %v", len(decoded), err)
		}
		if len(mf.GetMetric()) > 0 {
			decoded = append(decoded, mf.GetName())
		}
	}
	// Every family with samples was decoded (families without samples only
	// have their HELP and TYPE lines, as in KSM).
	var withSamples []string
	seen := map[string]bool{}
	for _, l := range harness.SampleLines(om.Body) {
		if n := harness.MetricName(l); !seen[n] {
			seen[n] = true
			withSamples = append(withSamples, n)
		}
	}
	assertLines(t, "families decoded from OpenMetrics", decoded, withSamples)
}

var infoTypeRE = regexp.MustCompile(`(?m)^(# TYPE \S+) info$`)

// typeLines maps family names to their # TYPE.
func typeLines(body []byte) map[string]string {
	out := map[string]string{}
	for _, l := range strings.Split(string(body), "\n") {
		if f := strings.Fields(l); len(f) == 4 && f[0] == "#" && f[1] == "TYPE" {
			out[f[2]] = f[3]
		}
	}
	return out
}

// TestResourcesQueryParam: KSM's ?resources= keeps only the named resources'
// families (gateway_metrics_up and _scrape_duration_seconds stay whole), and
// ?exclude_resources= drops them. A custom resource is named as KSM names its
// writer: "group/version, Resource=plural" (README.md).
func TestResourcesQueryParam(t *testing.T) {
	env := testenv.Current(t)
	ns := nsFor(t)
	applySamples(t, env, ns)
	x := startExporter(t, "--kubeconfig="+env.Kubeconfig, "--namespaces="+ns)
	all := harness.SampleLines(x.scrape(t).Body)
	gateways := harness.WithPrefix(all, "gatewayapi_gateway_")
	if len(gateways) == 0 {
		t.Fatal("no gatewayapi_gateway_ lines without a filter")
	}
	health := func(lines []string) []string {
		return without(without(lines, "gateway_metrics_up"), "gateway_metrics_scrape_duration_seconds")
	}

	const res = "gateway.networking.k8s.io/v1beta1, Resource=gateways"
	inc := x.get(t, x.MetricsURL+"/metrics?resources="+url.QueryEscape(res))
	exc := x.get(t, x.MetricsURL+"/metrics?exclude_resources="+url.QueryEscape(res))
	for _, r := range []response{inc, exc} {
		if r.Status != http.StatusOK {
			t.Fatalf("status %d", r.Status)
		}
		parseText(t, r.Body)
		assertAllUp(t, harness.SampleLines(r.Body)) // the health families are never filtered
	}
	incLines, excLines := health(harness.SampleLines(inc.Body)), health(harness.SampleLines(exc.Body))
	for _, l := range incLines {
		if !strings.HasPrefix(l, "gatewayapi_gateway_") {
			t.Errorf("?resources=gateways serves %s", l)
		}
	}
	assertLines(t, "?resources=gateways", incLines, gateways)
	assertLines(t, "?exclude_resources=gateways", excLines, health(removeAll(all, gateways)))
}

// removeAll returns lines without those in drop.
func removeAll(lines, drop []string) []string {
	d := map[string]bool{}
	for _, l := range drop {
		d[l] = true
	}
	var out []string
	for _, l := range lines {
		if !d[l] {
			out = append(out, l)
		}
	}
	return out
}
