// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

// The tests that stop the API server run on a control plane of their own
// (restartEnv): stopping it cannot disturb the other tests, whatever their
// order.

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"

	"github.com/kuadrant/gateway-api-metrics-exporter/internal/harness"
	"github.com/kuadrant/gateway-api-metrics-exporter/internal/testenv"
)

// TestAPIServerRestart: while the API server is down a scrape still answers
// 200, with every kind down and none of their families; once it is back the next scrape is complete again, with
// the same lines as before, without restarting the exporter.
func TestAPIServerRestart(t *testing.T) {
	env := restartEnv(t)
	ns := nsFor(t)
	applySamples(t, env, ns)
	x := startExporter(t, "--kubeconfig="+env.Kubeconfig, "--namespaces="+ns)

	before := x.scrape(t)
	parseText(t, before.Body)
	beforeLines := harness.SampleLines(before.Body)
	assertAllUp(t, beforeLines)
	want := without(beforeLines, "gateway_metrics_scrape_duration_seconds")

	if err := env.StopAPIServer(); err != nil {
		t.Fatal(err)
	}
	stopped := true
	t.Cleanup(func() {
		if stopped { // leave the Env usable whatever happened
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			if err := env.RestartAPIServer(ctx); err != nil {
				t.Errorf("restart in cleanup: %v", err)
			}
		}
	})

	down := x.scrape(t, "X-Prometheus-Scrape-Timeout-Seconds", "3")
	parseText(t, down.Body)
	downLines := harness.SampleLines(down.Body)
	var wantDown []string
	for _, k := range defaultKinds {
		// Discovery fails too; the series keeps the version last read, so
		// the outage does not start a new series under another label.
		wantDown = append(wantDown, upLine(k.Group, k.Kind, k.ReadVersion, "0"))
	}
	for _, k := range uninstalledKinds {
		// Without discovery nobody can tell a missing CRD from an outage.
		wantDown = append(wantDown, upLine(k.Group, k.Kind, k.SpecVersion, "0"))
	}
	assertLines(t, "API server down: gateway_metrics_up", harness.WithPrefix(downLines, "gateway_metrics_up"), wantDown)
	for _, l := range downLines {
		if !strings.HasPrefix(l, "gateway_metrics_") {
			t.Errorf("API server down: a kind family is still served: %s", l)
		}
	}
	if st := x.get(t, x.MetricsURL+"/healthz").Status; st != http.StatusOK {
		t.Errorf("/healthz while the API server is down: %d, want 200", st)
	}

	// An exporter started while the API server is unreachable still starts,
	// serves every kind as down and is not ready...
	late := startExporter(t, "--kubeconfig="+env.Kubeconfig, "--namespaces="+ns)
	lateDown := harness.SampleLines(late.scrape(t, "X-Prometheus-Scrape-Timeout-Seconds", "3").Body)
	if n := len(harness.WithPrefix(lateDown, "gateway_metrics_up")); n != len(specKinds()) || len(harness.WithPrefix(lateDown, "gatewayapi_")) != 0 {
		t.Errorf("exporter started during the outage: %d up series, want %d, all 0:\n%s", n, len(specKinds()), strings.Join(lateDown, "\n"))
	}
	if st := late.get(t, late.TelemetryURL+"/readyz").Status; st != http.StatusServiceUnavailable {
		t.Errorf("/readyz of an exporter that never reached the API server: %d, want 503", st)
	}

	if err := env.RestartAPIServer(ctxFor(t)); err != nil {
		t.Fatal(err)
	}
	stopped = false

	// ...and recovers without a restart once the API server is back.
	lateUp := harness.SampleLines(late.scrape(t).Body)
	assertAllUp(t, lateUp)
	if st := late.get(t, late.TelemetryURL+"/readyz").Status; st != http.StatusOK {
		t.Errorf("/readyz after the API server came back: %d, want 200", st)
	}

	after := x.scrape(t)
	parseText(t, after.Body)
	afterLines := harness.SampleLines(after.Body)
	assertAllUp(t, afterLines)
	assertLines(t, "after the restart", without(afterLines, "gateway_metrics_scrape_duration_seconds"), want)
	if st := x.get(t, x.TelemetryURL+"/readyz").Status; st != http.StatusOK {
		t.Errorf("/readyz after the restart: %d, want 200", st)
	}
}

// stopAPIServer stops the shared API server and returns a func that starts
// it again (also run at cleanup, so that the Env stays usable).
func stopAPIServer(t *testing.T, env *testenv.Env) (restart func()) {
	t.Helper()
	if err := env.StopAPIServer(); err != nil {
		// Open watches can keep kube-apiserver from stopping on SIGTERM in
		// time; it is then killed, which is an outage all the same.
		t.Logf("stopping the API server: %v", err)
	}
	var once sync.Once
	restart = func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			if err := env.RestartAPIServer(ctx); err != nil {
				t.Fatalf("restarting the API server: %v", err)
			}
		})
	}
	t.Cleanup(restart)
	return restart
}

// holdingProxy is a loopback proxy to the API server that holds the requests
// hold picks until release is closed, and drops the client's connection when
// the upstream fails (as a restarting API server does).
func holdingProxy(t *testing.T, env *testenv.Env, hold func(*http.Request) bool, release <-chan struct{}) string {
	t.Helper()
	upstream, _ := url.Parse(env.URL)
	rt, err := rest.TransportFor(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(upstream)
			r.Out.Header.Del("Authorization")
		},
		Transport:    rt,
		ErrorHandler: func(http.ResponseWriter, *http.Request, error) { panic(http.ErrAbortHandler) },
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hold(r) {
			<-release
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// kindsOf groups a body's kind lines by the kind whose family prefix they
// carry, and reads each kind's gateway_metrics_up.
func kindsOf(lines []string) (families map[string][]string, up map[string]string) {
	families, up = map[string][]string{}, map[string]string{}
	for _, k := range defaultKinds {
		families[k.Kind] = harness.WithPrefix(lines, familyPrefix[k.Kind])
		for _, l := range harness.WithPrefix(lines, "gateway_metrics_up") {
			if strings.Contains(l, `kind="`+k.Kind+`"`) {
				up[k.Kind] = l[strings.LastIndexByte(l, ' ')+1:]
			}
		}
	}
	return families, up
}

// assertKindsWholeOrDown: every kind is either up with exactly the lines of
// want, or down with none. The attachment graph's families say what they
// can judge from the kinds that are up: they are compared whole only when
// every kind is.
func assertKindsWholeOrDown(t *testing.T, what string, lines, want []string) {
	t.Helper()
	got, up := kindsOf(lines)
	wantFam, _ := kindsOf(want)
	if slices.ContainsFunc(defaultKinds, func(k kindInfo) bool { return up[k.Kind] != "1" }) {
		for k := range got {
			got[k], wantFam[k] = withoutGraph(got[k]), withoutGraph(wantFam[k])
		}
	}
	for _, k := range defaultKinds {
		switch up[k.Kind] {
		case "1":
			assertLines(t, what+": "+k.Kind+" (up)", got[k.Kind], wantFam[k.Kind])
		case "0":
			if len(got[k.Kind]) != 0 {
				t.Errorf("%s: %s is down yet serves %d lines", what, k.Kind, len(got[k.Kind]))
			}
		default:
			t.Errorf("%s: no gateway_metrics_up for %s", what, k.Kind)
		}
	}
}

// TestAPIServerRestartDuringScrape: the API server goes away while a scrape's
// HTTPRoute LIST is in flight. That scrape answers 200 with HTTPRoute down and
// none of its lines, and every other kind either whole or down; after the
// restart the next scrape is complete with the same lines as before, and no
// goroutine was left behind.
func TestAPIServerRestartDuringScrape(t *testing.T) {
	env := restartEnv(t)
	ns := nsFor(t)
	applySamples(t, env, ns)
	var armed atomic.Bool
	arrived, release := make(chan struct{}), make(chan struct{})
	var arrivedOnce sync.Once
	url := holdingProxy(t, env, func(r *http.Request) bool {
		if armed.Load() && strings.HasSuffix(r.URL.Path, "/httproutes") {
			arrivedOnce.Do(func() { close(arrived) })
			return true
		}
		return false
	}, release)
	x := startExporter(t, "--kubeconfig="+writeKubeconfig(t, url), "--namespaces="+ns)
	before := x.scrape(t)
	assertAllUp(t, harness.SampleLines(before.Body))
	want := kindLines(before.Body)
	gBefore, _ := stats()

	armed.Store(true)
	scraped := make(chan response, 1)
	go func() { scraped <- x.scrape(t, "X-Prometheus-Scrape-Timeout-Seconds", "60") }()
	<-arrived
	restart := stopAPIServer(t, env)
	close(release)
	during := <-scraped
	parseText(t, during.Body)
	lines := harness.SampleLines(during.Body)
	if _, up := kindsOf(lines); up["HTTPRoute"] != "0" {
		t.Errorf("HTTPRoute's LIST was cut by the restart, yet it is not down:\n%s", strings.Join(harness.WithPrefix(lines, "gateway_metrics_up"), "\n"))
	}
	assertKindsWholeOrDown(t, "during the restart", lines, want)

	armed.Store(false)
	restart()
	after := x.scrape(t)
	assertAllUp(t, harness.SampleLines(after.Body))
	assertLines(t, "after the restart", kindLines(after.Body), want)
	waitNoLeak(t, "over the restart", gBefore, -1)
}

// TestWatchModeAPIServerRestart: in watch mode, when the API server goes
// away the reflectors cannot watch, and each kind turns down (none of its
// lines) rather than serving state that may be stale; every body meanwhile
// has each kind whole or down. After the restart the reflectors resume
// (relisting when their resourceVersion is gone), and changes made after
// it show: the watch exporter serves what a list exporter serves.
func TestWatchModeAPIServerRestart(t *testing.T) {
	env := restartEnv(t)
	ns := nsFor(t)
	objs := applySamples(t, env, ns)
	list := startExporter(t, "--kubeconfig="+env.Kubeconfig, "--namespaces="+ns)
	watch := startExporter(t, "--kubeconfig="+env.Kubeconfig, "--namespaces="+ns, "--collection=watch")
	want := waitSame(t, "before the restart", list, watch)
	assertAllUp(t, harness.SampleLines(watch.scrape(t).Body))

	restart := stopAPIServer(t, env)
	allDown := false
	for deadline := time.Now().Add(60 * time.Second); !allDown && time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		lines := harness.SampleLines(watch.scrape(t, "X-Prometheus-Scrape-Timeout-Seconds", "3").Body)
		assertKindsWholeOrDown(t, "API server down", lines, want)
		_, up := kindsOf(lines)
		allDown = true
		for _, v := range up {
			allDown = allDown && v == "0"
		}
	}
	if !allDown {
		t.Errorf("with the API server down, watch mode still reports kinds up")
	}

	restart()
	ctx := ctxFor(t)
	routes := env.Dynamic().Resource(schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "httproutes"}).Namespace(ns)
	for _, o := range objs {
		if o.GetKind() == "HTTPRoute" {
			if err := routes.Delete(ctx, o.GetName(), metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	after := waitSame(t, "after the restart and a delete", list, watch)
	assertAllUp(t, harness.SampleLines(watch.scrape(t).Body))
	if len(harness.WithPrefix(after, "gatewayapi_httproute_")) != 0 {
		t.Errorf("the route deleted after the restart is still served")
	}
	if len(harness.WithPrefix(after, "gatewayapi_gateway_")) == 0 {
		t.Errorf("the Gateway is lost after the restart")
	}
}
