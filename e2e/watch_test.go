package e2e

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kuadrant/gateway-api-metrics-exporter/internal/testenv"
)

// kindLines is a body's sample lines without the per-scrape durations, which
// differ between any two scrapes.
func kindLines(body []byte) []string {
	return without(sampleLines(body), "gateway_metrics_scrape_duration_seconds")
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
	assertAllUp(t, sampleLines(watch.scrape(t).Body))
	if n := len(withPrefix(lines, "gatewayapi_")); n < 100 {
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
	if len(withPrefix(after, "gatewayapi_httproute_")) != 0 {
		t.Errorf("the deleted route still has lines")
	}
	changed := false
	for _, l := range withPrefix(after, "gatewayapi_gateway_status_listeners_conditions") {
		if strings.HasSuffix(l, " 0") {
			changed = true
		}
	}
	if !changed {
		t.Errorf("the listener condition set to False does not show")
	}
}
