// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package engine_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kuadrant/gateway-api-metrics-exporter/internal/fixture"
	metricsspec "github.com/kuadrant/gateway-api-metrics-exporter/metrics-spec"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/engine"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/exposition"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/objects"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/spec"
)

// offlineRun is what one way of rendering files gave: the body, the
// evaluation errors in the order they were reported, the error, the count of
// unmatched objects.
type offlineRun struct {
	body, errs string
	err        error
	unmatched  int
}

func runOffline(t *testing.T, plan *spec.Plan, paths []string, add func(*engine.Offline) error) offlineRun {
	t.Helper()
	var errs strings.Builder
	off := engine.NewOffline(plan, func(f *spec.Family, err error) { fmt.Fprintf(&errs, "%s: %v\n", f.Name, err) })
	var run offlineRun
	run.err = add(off)
	var buf bytes.Buffer
	if err := off.WriteTo(&buf, exposition.Text); err != nil {
		t.Fatal(err)
	}
	run.body, run.errs, run.unmatched = buf.String(), errs.String(), off.Unmatched
	return run
}

// parallelFiles writes a JSON List of routes and Gateways (some at another
// version, some whose values cannot be evaluated), a multi-document YAML file
// and an object of a kind no spec entry names.
func parallelFiles(t *testing.T, dir string, routes int) []string {
	t.Helper()
	var items []any
	for i := range routes {
		o := fixture.HTTPRoute(i)
		if i%3 == 0 {
			o["apiVersion"] = "gateway.networking.k8s.io/v1beta1"
		}
		items = append(items, o)
		if i%10 == 0 {
			g := fixture.Gateway(i, 3)
			if i%70 == 0 {
				// A listener's attachedRoutes that is not a number: an
				// evaluation error for this object only.
				g["status"].(map[string]any)["listeners"].([]any)[1].(map[string]any)["attachedRoutes"] = fmt.Sprintf("many-%d", i)
			}
			items = append(items, g)
		}
		if i == routes/2 {
			items = append(items, map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "c"}})
		}
	}
	list, err := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "List", "items": items})
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	yaml := `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: istio}
spec: {controllerName: istio.io/gateway-controller}
status:
  conditions:
  - {type: Accepted, status: "True"}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: from-yaml, namespace: team-1, creationTimestamp: "2026-11-02T00:00:00Z"}
spec:
  parentRefs: [{name: gw-0}]
`
	return []string{write("a-list.json", list), write("b-more.yaml", []byte(yaml))}
}

func sequential(paths []string) func(*engine.Offline) error {
	return func(off *engine.Offline) error { return objects.Stream(paths, off.AddJSON) }
}

func parallel(paths []string, workers int) func(*engine.Offline) error {
	return func(off *engine.Offline) error { return off.AddFiles(paths, workers) }
}

func sameRun(t *testing.T, what string, got, want offlineRun) {
	t.Helper()
	if got.body != want.body {
		t.Errorf("%s: body differs from the sequential one (%d bytes, want %d)", what, len(got.body), len(want.body))
	}
	if got.errs != want.errs {
		t.Errorf("%s: evaluation errors\n%s\nwant (sequential)\n%s", what, got.errs, want.errs)
	}
	if fmt.Sprint(got.err) != fmt.Sprint(want.err) {
		t.Errorf("%s: error %v, want (sequential) %v", what, got.err, want.err)
	}
	if got.unmatched != want.unmatched {
		t.Errorf("%s: %d unmatched, want (sequential) %d", what, got.unmatched, want.unmatched)
	}
}

// Rendering files on several workers gives the bytes, the evaluation errors
// (in order) and the unmatched count of rendering them one object at a time.
func TestAddFilesMatchesSequential(t *testing.T) {
	plan, _, err := spec.LoadFS(metricsspec.FS)
	if err != nil {
		t.Fatal(err)
	}
	paths := parallelFiles(t, t.TempDir(), 1500)
	want := runOffline(t, plan, paths, sequential(paths))
	if want.err != nil {
		t.Fatal(want.err)
	}
	// What the sequential run must show for the comparison to mean something.
	for _, s := range []string{
		`gatewayapi_httproute_created{customresource_group="gateway.networking.k8s.io",customresource_kind="HTTPRoute",customresource_version="v1beta1",name="route-01497",namespace="team-47"} 1.7934912e+09`,
		`gatewayapi_httproute_created{customresource_group="gateway.networking.k8s.io",customresource_kind="HTTPRoute",customresource_version="v1",name="from-yaml",namespace="team-1"} 1.7935776e+09`,
		`gatewayapi_gatewayclass_info{`,
	} {
		if !strings.Contains(want.body, s) {
			t.Fatalf("sequential body lacks %s", s)
		}
	}
	if strings.Count(want.errs, "many-") != 1500/70+1 || want.unmatched != 1 {
		t.Fatalf("sequential run: %d unmatched, errors:\n%s", want.unmatched, want.errs)
	}
	for _, workers := range []int{1, 2, 3, 8} {
		sameRun(t, fmt.Sprintf("%d workers", workers), runOffline(t, plan, paths, parallel(paths, workers)), want)
	}
	// The directory holding both files: walked in the same order.
	dir := []string{filepath.Dir(paths[0])}
	sameRun(t, "a directory", runOffline(t, plan, dir, parallel(dir, 2)), want)
	// Families held in many raw segments, then (past the budget) compressed
	// from the middle of the input on: the same body, either way of adding.
	func() {
		defer engine.SetChunk(4 << 10)()
		sameRun(t, "segments", runOffline(t, plan, paths, parallel(paths, 2)), want)
		sameRun(t, "segments, sequential", runOffline(t, plan, paths, sequential(paths)), want)
		defer engine.SetRawBudget(len(want.body) / 3)()
		sameRun(t, "segments then compressed", runOffline(t, plan, paths, parallel(paths, 2)), want)
		sameRun(t, "segments then compressed, sequential", runOffline(t, plan, paths, sequential(paths)), want)
	}()
	// One object per batch: the most hand-overs between goroutines.
	defer engine.SetBatchBytes(1)()
	sameRun(t, "batches of one object", runOffline(t, plan, paths, parallel(paths, 4)), want)
}

// An object that cannot be decoded stops the input where it stands, with the
// sequential error; the objects before it were rendered, as sequentially.
func TestAddFilesStopsAtTheFirstBadObject(t *testing.T) {
	plan, _, err := spec.LoadFS(metricsspec.FS)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	paths := parallelFiles(t, dir, 600)
	data, err := os.ReadFile(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string][]byte{
		// route-00300's name is read by every family: decoding fails.
		"bad value": bytes.Replace(data, []byte(`"name":"route-00300"`), []byte(`"name":route-00300`), 1),
		// The file ends in the middle of an object: the reader fails.
		"truncated": data[:len(data)/2],
		// Not an object where the apiVersion and kind are read.
		"bad head": bytes.Replace(data, []byte(`{"apiVersion":"gateway.networking.k8s.io/v1beta1","kind":"HTTPRoute","metadata":{"annotations":{"example.com/owner":"platform","example.com/ticket":"OPS-300"}`),
			[]byte(`{"apiVersion" "gateway.networking.k8s.io/v1beta1","kind":"HTTPRoute","metadata":{"annotations":{"example.com/owner":"platform","example.com/ticket":"OPS-300"}`), 1),
	}
	for name, bad := range cases {
		t.Run(name, func(t *testing.T) {
			if bytes.Equal(bad, data) {
				t.Fatal("the case changed nothing")
			}
			if err := os.WriteFile(paths[0], bad, 0o600); err != nil {
				t.Fatal(err)
			}
			want := runOffline(t, plan, paths, sequential(paths))
			if want.err == nil || !strings.HasPrefix(want.err.Error(), paths[0]+": ") {
				t.Fatalf("sequential error %v, want one naming %s", want.err, paths[0])
			}
			for _, workers := range []int{1, 2, 8} {
				sameRun(t, fmt.Sprintf("%d workers", workers), runOffline(t, plan, paths, parallel(paths, workers)), want)
			}
			defer engine.SetBatchBytes(1)()
			sameRun(t, "batches of one object", runOffline(t, plan, paths, parallel(paths, 4)), want)
		})
	}
	t.Run("missing file", func(t *testing.T) {
		missing := []string{paths[1], filepath.Join(dir, "nope.json")}
		want := runOffline(t, plan, missing, sequential(missing))
		got := runOffline(t, plan, missing, parallel(missing, 2))
		if want.err == nil {
			t.Fatal("no error for a missing file")
		}
		sameRun(t, "2 workers", got, want)
	})
}
