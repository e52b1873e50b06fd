// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"slices"
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
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/objects"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/source"
)

// waitIdentical polls until every exporter serves the same sample lines as
// the first, in the same order (the bodies are then byte-identical but for
// the per-scrape durations), or fails with the first difference.
func waitIdentical(t *testing.T, what string, xs map[string]*exporter, ref string) []string {
	t.Helper()
	var want []string
	diff := ""
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		want = kindLines(xs[ref].scrape(t).Body)
		diff = ""
		for name, x := range xs {
			if name == ref {
				continue
			}
			if got := kindLines(x.scrape(t).Body); strings.Join(got, "\n") != strings.Join(want, "\n") {
				diff = name
				if strings.Join(sorted(got), "\n") == strings.Join(sorted(want), "\n") {
					t.Fatalf("%s: %s serves %s's lines in another order", what, name, ref)
				}
				break
			}
		}
		if diff == "" {
			return want
		}
		time.Sleep(200 * time.Millisecond)
	}
	assertLines(t, what+": "+diff+" vs "+ref, kindLines(xs[diff].scrape(t).Body), want)
	return want
}

// TestEveryModeServesTheSameBody: list mode (a paginated LIST per scrape),
// --use-apiserver-cache (the same, paged from the watch cache) and
// --collection=watch (pre-rendered, compressed bytes kept from a projected
// list and watch) serve the same lines in the same order for the same
// objects, after creates, status updates and deletes alike.
func TestEveryModeServesTheSameBody(t *testing.T) {
	env := testenv.Current(t)
	ns := nsFor(t)
	objs := applySamples(t, env, ns)
	xs := map[string]*exporter{
		"list":  startExporter(t, "--kubeconfig="+env.Kubeconfig, "--namespaces="+ns),
		"cache": startExporter(t, "--kubeconfig="+env.Kubeconfig, "--namespaces="+ns, "--use-apiserver-cache"),
		"watch": startExporter(t, "--kubeconfig="+env.Kubeconfig, "--namespaces="+ns, "--collection=watch"),
	}
	lines := waitIdentical(t, "initial state", xs, "list")
	for _, x := range xs {
		assertAllUp(t, harness.SampleLines(x.scrape(t).Body))
	}
	if n := len(harness.WithPrefix(lines, "gatewayapi_")); n < 100 {
		t.Fatalf("only %d kind lines: the samples did not load", n)
	}

	// More routes than one page of the cache read would hold is not needed
	// here (TestCacheReadIsPaged); what matters is that every change shows.
	ctx := ctxFor(t)
	dyn := env.Dynamic()
	var routeName, gwName string
	for _, o := range objs {
		switch o.GetKind() {
		case "HTTPRoute":
			routeName = o.GetName()
		case "Gateway":
			gwName = o.GetName()
		}
	}
	gws := dyn.Resource(schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "gateways"}).Namespace(ns)
	g, err := gws.Get(ctx, gwName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	g.SetLabels(map[string]string{"changed": "yes"})
	if _, err := gws.Update(ctx, g, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	routes := dyn.Resource(schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "httproutes"}).Namespace(ns)
	if err := routes.Delete(ctx, routeName, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	after := waitIdentical(t, "after an update and a delete", xs, "list")
	if len(harness.WithPrefix(after, "gatewayapi_httproute_")) != 0 {
		t.Errorf("the deleted route still has lines")
	}
}

// TestEveryModeServesTheSameOrder: with namespaces of which one prefixes the
// other (app, app-system), every mode serves the objects in one order: in
// all-namespaces mode the API server's (etcd's <namespace>/<name> key order,
// in which "app-system/" comes before "app/"), and with --namespaces given
// in any order, the namespaces sorted and each in the API server's order.
func TestEveryModeServesTheSameOrder(t *testing.T) {
	env := testenv.Current(t)
	app := nsFor(t)
	system := app + "-system"
	applySamples(t, env, app)
	applySamples(t, env, system)
	for _, scope := range [][]string{nil, {"--namespaces=" + system + "," + app}} {
		xs := map[string]*exporter{}
		for _, mode := range [][]string{{"list"}, {"cache", "--use-apiserver-cache"}, {"watch", "--collection=watch"}} {
			xs[mode[0]] = startExporter(t, append(append([]string{"--kubeconfig=" + env.Kubeconfig}, scope...), mode[1:]...)...)
		}
		lines := waitIdentical(t, fmt.Sprintf("namespaces %q", scope), xs, "list")
		for _, x := range xs {
			assertAllUp(t, harness.SampleLines(x.scrape(t).Body))
		}
		// The lines of the two namespaces, in the order served: the test
		// is about their relative order, so both must be there.
		var order []string
		for _, l := range harness.WithPrefix(lines, "gatewayapi_gateway_info") {
			switch {
			case strings.Contains(l, `namespace="`+app+`"`):
				order = append(order, app)
			case strings.Contains(l, `namespace="`+system+`"`):
				order = append(order, system)
			}
		}
		want := []string{system, app} // etcd's order: "-" sorts before "/"
		if scope != nil {
			want = []string{app, system} // sorted namespaces
		}
		if !slices.Equal(order, want) {
			t.Errorf("namespaces %q: Gateways served in namespace order %v, want %v", scope, order, want)
		}
	}
}

// TestCacheReadIsPaged: kube-apiserver answers resourceVersion=0 with the
// whole kind at once whatever the limit (so KSM's --use-apiserver-cache
// holds one unbounded response); the exporter's cache read
// (resourceVersion=1, resourceVersionMatch=NotOlderThan) is served from the
// watch cache page by page.
func TestCacheReadIsPaged(t *testing.T) {
	env := testenv.Current(t)
	ns := nsFor(t)
	const n, page = 25, 10
	createRoutes(t, env, ns, n)
	ctx := ctxFor(t)
	gvr := schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "httproutes"}

	// What the API server does with resourceVersion=0: no pages. The watch
	// cache may lag the creates (resourceVersion=0 allows any version), so
	// wait until it holds them all; every read below then sees them too.
	var l *unstructured.UnstructuredList
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var err error
		if l, err = env.Dynamic().Resource(gvr).Namespace(ns).List(ctx, metav1.ListOptions{ResourceVersion: "0", Limit: page}); err != nil {
			t.Fatal(err)
		}
		if len(l.Items) == n || time.Now().After(deadline) {
			break
		}
	}
	if len(l.Items) != n || l.GetContinue() != "" {
		t.Errorf("resourceVersion=0&limit=%d: %d items, continue %q; want all %d at once (if the API server now pages it, the workaround can go)", page, len(l.Items), l.GetContinue(), n)
	}

	c, err := source.New(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	c.UseCache, c.PageSize = true, page
	cache0, etcd0 := listReturned(t, env, "httproutes")
	r := source.Resource{Group: gvr.Group, Version: gvr.Version, Kind: "HTTPRoute", Plural: gvr.Resource, Namespaced: true}
	var names []string
	var sizes []int
	pages, err := c.List(ctx, r, source.ListOptions{Namespace: ns, Fields: nameOnly()}, func(items []any) error {
		sizes = append(sizes, len(items))
		for _, it := range items {
			names = append(names, it.(map[string]any)["metadata"].(map[string]any)["name"].(string))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if pages != 3 || fmt.Sprint(sizes) != "[10 10 5]" || len(names) != n {
		t.Errorf("cache read: %d pages of %v, %d objects; want 3 pages of [10 10 5], %d objects", pages, sizes, len(names), n)
	}
	// Every page came from the watch cache, none from etcd.
	cache1, etcd1 := listReturned(t, env, "httproutes")
	if cache1-cache0 != n || etcd1 != etcd0 {
		t.Errorf("the read returned %v httproutes from the watch cache and %v from etcd, want %d and 0", cache1-cache0, etcd1-etcd0, n)
	}
}

func nameOnly() *objects.Fields {
	f := &objects.Fields{}
	f.Child("metadata").Child("name").All = true
	return f
}

// listReturned is the API server's count of objects of a resource that LISTs
// returned, from its watch cache and from etcd.
func listReturned(t *testing.T, env *testenv.Env, resource string) (cache, etcd float64) {
	t.Helper()
	m, err := discovery.NewDiscoveryClientForConfigOrDie(env.Config).RESTClient().Get().AbsPath("/metrics").DoRaw(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(m))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if !strings.HasPrefix(l, "apiserver_storage_list_returned_objects_total{") || !strings.Contains(l, `resource="`+resource+`"`) {
			continue
		}
		v, _ := strconv.ParseFloat(l[strings.LastIndexByte(l, ' ')+1:], 64)
		switch {
		case strings.Contains(l, `storage="watchcache"`):
			cache += v
		case strings.Contains(l, `storage="etcd"`):
			etcd += v
		}
	}
	return cache, etcd
}
