// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package nowatchlist

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kuadrant/gateway-api-metrics-exporter/internal/harness"
	"github.com/kuadrant/gateway-api-metrics-exporter/internal/testenv"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/source"
)

var httproutes = schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "httproutes"}

// TestWatchModeFallsBackToList: this API server answers a watch-list with 422
// Invalid, which source reports as ErrWatchListUnsupported; watch mode then
// syncs each kind with paginated LISTs (and says so once per resource), and
// serves list mode's body before and after an update and a delete.
func TestWatchModeFallsBackToList(t *testing.T) {
	env := testenv.Current(t)
	ns := testenv.Namespace(t, "nwl")
	y := strings.ReplaceAll(string(testenv.Samples()), "namespace: "+testenv.SamplesNamespace+"\n", "namespace: "+ns+"\n")
	objs := env.ApplyYAML(t, ns, strings.ReplaceAll(y, "demo-class", ns+"-class"))
	ctx := testenv.Context(t)

	c, err := source.New(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	r := source.Resource{Group: httproutes.Group, Version: httproutes.Version, Kind: "HTTPRoute", Plural: httproutes.Resource, Namespaced: true}
	if ev, err := c.WatchList(ctx, r, source.ListOptions{Namespace: ns}); !errors.Is(err, source.ErrWatchListUnsupported) || !apierrors.IsInvalid(err) {
		if ev != nil {
			ev.Close()
		}
		t.Fatalf("watch-list with the WatchList gate off: %v; want 422 Invalid, ErrWatchListUnsupported", err)
	}

	list := start(t, "--kubeconfig="+env.Kubeconfig, "--namespaces="+ns)
	watch := start(t, "--kubeconfig="+env.Kubeconfig, "--namespaces="+ns, "--collection=watch")
	lines := waitSame(t, "initial state", list, watch)
	if n := len(withPrefix(lines, "gatewayapi_httproute_")); n == 0 {
		t.Fatalf("no httproute lines: the samples did not load")
	}
	for _, l := range withPrefix(lines, "gateway_metrics_up{") {
		if !strings.HasSuffix(l, " 1") {
			t.Errorf("down in watch mode: %s", l)
		}
	}
	fell := watch.LogLines("does not serve streaming lists")
	if !slices.ContainsFunc(fell, func(l string) bool { return strings.Contains(l, "resource=httproutes.gateway.networking.k8s.io") }) {
		t.Errorf("watch mode did not say it fell back to LISTs for httproutes; it said %q", fell)
	}

	routes := env.Dynamic().Resource(httproutes).Namespace(ns)
	var route string
	for _, o := range objs {
		if o.GetKind() == "HTTPRoute" {
			route = o.GetName()
		}
	}
	o, err := routes.Get(ctx, route, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	o.SetLabels(map[string]string{"changed": "yes"})
	if _, err := routes.Update(ctx, o, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := routes.Delete(ctx, route, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if after := waitSame(t, "after an update and a delete", list, watch); len(withPrefix(after, "gatewayapi_httproute_")) != 0 {
		t.Errorf("the deleted route still has lines")
	}
	if n := len(watch.LogLines("does not serve streaming lists")); n != len(fell) {
		t.Errorf("watch mode reported the fallback %d times, then %d: once per resource is all", len(fell), n)
	}
}

func start(t *testing.T, args ...string) *harness.Exporter {
	return harness.Start(t, "exporter", append(slices.Clone(harness.LoopbackArgs), args...)...)
}

// kindLines are the sample lines of a scrape, without the per-scrape
// durations.
func kindLines(t *testing.T, x *harness.Exporter) []string {
	t.Helper()
	b := x.Get(t, "/metrics")
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") && !strings.HasPrefix(l, "gateway_metrics_scrape_duration_seconds") {
			out = append(out, l)
		}
	}
	return out
}

// waitSame polls until watch mode serves list mode's lines, in the same
// order, or fails; the bound is a liveness guard.
func waitSame(t *testing.T, what string, list, watch *harness.Exporter) []string {
	t.Helper()
	var want, got []string
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		want, got = kindLines(t, list), kindLines(t, watch)
		if slices.Equal(got, want) {
			return got
		}
	}
	t.Fatalf("%s: watch mode serves\n%s\nlist mode serves\n%s", what, strings.Join(got, "\n"), strings.Join(want, "\n"))
	return nil
}

func withPrefix(lines []string, prefix string) []string {
	var out []string
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return out
}
