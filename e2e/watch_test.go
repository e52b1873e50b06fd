// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"

	"github.com/kuadrant/gateway-api-metrics-exporter/internal/harness"
	"github.com/kuadrant/gateway-api-metrics-exporter/internal/testenv"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/source"
)

// kindLines is a body's sample lines without the per-scrape durations, which
// differ between any two scrapes.
func kindLines(body []byte) []string {
	return without(harness.SampleLines(body), "gateway_metrics_scrape_duration_seconds")
}

// waitSame polls the watch-mode exporter until its lines equal the list-mode
// exporter's (reflectors are eventually consistent, and back off up to 10s
// after failures), or fails; the bound is a liveness guard.
func waitSame(t *testing.T, what string, list, watch *exporter) []string {
	t.Helper()
	var want, got []string
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		want = kindLines(list.scrape(t).Body)
		got = kindLines(watch.scrape(t).Body)
		if strings.Join(sorted(got), "\n") == strings.Join(sorted(want), "\n") {
			return got
		}
		time.Sleep(200 * time.Millisecond)
	}
	assertLines(t, what, got, want)
	return got
}

// TestWatchModeMatchesListMode: --collection=watch serves pre-rendered bytes
// kept by reflectors; for the same state it must serve what a LIST per scrape
// serves, after creates, status updates and deletes alike.
func TestWatchModeMatchesListMode(t *testing.T) {
	env := testenv.Current(t)
	ns := nsFor(t)
	objs := applySamples(t, env, ns)
	list := startExporter(t, "--kubeconfig="+env.Kubeconfig, "--namespaces="+ns)
	watch := startExporter(t, "--kubeconfig="+env.Kubeconfig, "--namespaces="+ns, "--collection=watch")

	lines := waitSame(t, "initial state", list, watch)
	assertAllUp(t, harness.SampleLines(watch.scrape(t).Body))
	if n := len(harness.WithPrefix(lines, "gatewayapi_")); n < 100 {
		t.Fatalf("only %d kind lines: the samples did not load", n)
	}

	// Flip a Gateway listener condition through the status subresource and
	// delete a route: watch mode must follow.
	ctx := ctxFor(t)
	dyn := env.Dynamic()
	gw := dyn.Resource(schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "gateways"}).Namespace(ns)
	var gwName, routeName string
	for _, o := range objs {
		switch o.GetKind() {
		case "Gateway":
			gwName = o.GetName()
		case "HTTPRoute":
			routeName = o.GetName()
		}
	}
	g, err := gw.Get(ctx, gwName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	listeners, _, _ := unstructured.NestedSlice(g.Object, "status", "listeners")
	conds := listeners[0].(map[string]any)["conditions"].([]any)
	conds[0].(map[string]any)["status"] = "False"
	if err := unstructured.SetNestedSlice(g.Object, listeners, "status", "listeners"); err != nil {
		t.Fatal(err)
	}
	if _, err := gw.UpdateStatus(ctx, g, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	routes := dyn.Resource(schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "httproutes"}).Namespace(ns)
	if err := routes.Delete(ctx, routeName, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	after := waitSame(t, "after an update and a delete", list, watch)
	if len(harness.WithPrefix(after, "gatewayapi_httproute_")) != 0 {
		t.Errorf("the deleted route still has lines")
	}
	changed := false
	for _, l := range harness.WithPrefix(after, "gatewayapi_gateway_status_listeners_conditions") {
		if strings.HasSuffix(l, " 0") {
			changed = true
		}
	}
	if !changed {
		t.Errorf("the listener condition set to False does not show")
	}
}

// TestWatchModeSyncsWithWatchList: kube-apiserver v1.37 serves streaming
// lists (the WatchList feature, on by default) for CRDs, as source.WatchList
// reads them, and watch mode syncs every kind with one instead of a LIST: the
// API server counts a watch-list
// of httproutes and no LIST of them while the watch-mode exporter syncs (the
// tests of this package run one at a time, and nothing else reads
// httproutes). What it serves then is list mode's body, before and after an
// update and a delete.
func TestWatchModeSyncsWithWatchList(t *testing.T) {
	env := testenv.Current(t)
	ns := nsFor(t)
	objs := applySamples(t, env, ns)
	// What the API server streams: the scope's objects as ADDED events, then
	// the end bookmark with the version to go on from; an empty scope gets the
	// bookmark alone.
	c, err := source.New(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	routes := 0
	for _, o := range objs {
		if o.GetKind() == "HTTPRoute" {
			routes++
		}
	}
	r := source.Resource{Group: "gateway.networking.k8s.io", Version: "v1", Kind: "HTTPRoute", Plural: "httproutes", Namespaced: true}
	for scope, want := range map[string]int{ns: routes, ns + "-empty": 0} {
		ev, err := c.WatchList(ctxFor(t), r, source.ListOptions{Namespace: scope, Fields: nameOnly()})
		if err != nil {
			t.Fatalf("watch-list of httproutes: %v", err)
		}
		added := 0
		for {
			e, err := ev.Next()
			if err != nil {
				t.Fatalf("watch-list of httproutes in %s, after %d ADDED events: %v", scope, added, err)
			}
			if e.InitialEventsEnd {
				if e.Type != "BOOKMARK" || e.ResourceVersion == "" {
					t.Errorf("end of the initial events: %+v, want a BOOKMARK with a resourceVersion", e)
				}
				break
			}
			added++
		}
		ev.Close()
		if added != want {
			t.Errorf("watch-list of httproutes in %s: %d ADDED events before the end bookmark, want %d", scope, added, want)
		}
	}

	before := apiServerCounts(t, env, "httproutes")
	watch := startExporter(t, "--kubeconfig="+env.Kubeconfig, "--namespaces="+ns, "--collection=watch")
	// The bound is a liveness guard.
	for start := time.Now(); health(harness.SampleLines(watch.scrape(t).Body), "gateway_metrics_up")["gateway.networking.k8s.io/HTTPRoute"].Value != "1"; time.Sleep(100 * time.Millisecond) {
		if time.Since(start) > 60*time.Second {
			t.Fatal("watch mode never synced httproutes")
		}
	}
	after := apiServerCounts(t, env, "httproutes")
	t.Logf("httproutes: %+v before the watch-mode exporter synced, %+v after", before, after)
	if after.watchLists-before.watchLists < 1 || after.lists != before.lists {
		t.Errorf("while watch mode synced httproutes the API server served %v watch-lists and %v LISTs of them; want at least one watch-list and no LIST",
			after.watchLists-before.watchLists, after.lists-before.lists)
	}
	if l := watch.logLines("does not serve streaming lists"); len(l) != 0 {
		t.Errorf("watch mode fell back to LISTs: %v", l)
	}

	list := startExporter(t, "--kubeconfig="+env.Kubeconfig, "--namespaces="+ns)
	waitSame(t, "initial state", list, watch)
	assertAllUp(t, harness.SampleLines(watch.scrape(t).Body))
	ctx := ctxFor(t)
	dyn := env.Dynamic()
	for _, o := range objs {
		if o.GetKind() != "HTTPRoute" {
			continue
		}
		routes := dyn.Resource(schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "httproutes"}).Namespace(ns)
		r, err := routes.Get(ctx, o.GetName(), metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		r.SetLabels(map[string]string{"changed": "yes"})
		if _, err := routes.Update(ctx, r, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		waitSame(t, "after an update", list, watch)
		if err := routes.Delete(ctx, o.GetName(), metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		break
	}
	if after := waitSame(t, "after a delete", list, watch); len(harness.WithPrefix(after, "gatewayapi_httproute_")) != 0 {
		t.Errorf("the deleted route still has lines")
	}
}

// requestCounts are the API server's counts of requests for one resource.
type requestCounts struct{ watchLists, lists float64 }

// apiServerCounts reads, from the API server's /metrics, how many watch-lists
// of a resource it completed (apiserver_watch_list_duration_seconds, observed
// when the initial events end) and how many LISTs of it it answered.
func apiServerCounts(t *testing.T, env *testenv.Env, resource string) requestCounts {
	t.Helper()
	m, err := discovery.NewDiscoveryClientForConfigOrDie(env.Config).RESTClient().Get().AbsPath("/metrics").DoRaw(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var c requestCounts
	for _, l := range strings.Split(string(m), "\n") {
		if !strings.Contains(l, `resource="`+resource+`"`) {
			continue
		}
		v, _ := strconv.ParseFloat(l[strings.LastIndexByte(l, ' ')+1:], 64)
		switch {
		case strings.HasPrefix(l, "apiserver_watch_list_duration_seconds_count{"):
			c.watchLists += v
		case strings.HasPrefix(l, "apiserver_request_total{") && strings.Contains(l, `verb="LIST"`):
			c.lists += v
		}
	}
	return c
}
