// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"sort"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kuadrant/gateway-api-metrics-exporter/internal/harness"
	"github.com/kuadrant/gateway-api-metrics-exporter/internal/testenv"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/scrape"
)

// routeNames returns the sorted names of the HTTPRoutes a body serves.
func routeNames(body []byte) []string {
	var names []string
	for _, l := range harness.WithPrefix(harness.SampleLines(body), "gatewayapi_httproute_created") {
		names = append(names, nameLabel(l))
	}
	sort.Strings(names)
	return names
}

// TestSharding: --shard/--total-shards split objects by UID exactly as KSM
// does (jump hash of FNV-1a), and --pod/--pod-namespace read the shard from
// the pod's StatefulSet: ordinal from the pod name, total from spec.replicas.
func TestSharding(t *testing.T) {
	env := testenv.Current(t)
	ns := nsFor(t)
	createRoutes(t, env, ns, 40)
	all := startExporter(t, "--kubeconfig="+env.Kubeconfig, "--namespaces="+ns)
	allNames := routeNames(all.scrape(t).Body)
	if len(allNames) != 40 {
		t.Fatalf("unsharded: %d routes", len(allNames))
	}
	routes, err := env.Dynamic().Resource(schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "httproutes"}).Namespace(ns).List(ctxFor(t), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[int][]string{}
	for _, r := range routes.Items {
		s := scrape.ShardOf(string(r.GetUID()), 2)
		want[s] = append(want[s], r.GetName())
	}

	for shard := 0; shard < 2; shard++ {
		x := startExporter(t, "--kubeconfig="+env.Kubeconfig, "--namespaces="+ns, "--total-shards=2", "--shard="+string(rune('0'+shard)))
		got := routeNames(x.scrape(t).Body)
		sort.Strings(want[shard])
		if strings.Join(got, ",") != strings.Join(want[shard], ",") {
			t.Errorf("--shard=%d: got %v, want %v", shard, got, want[shard])
		}
	}

	// Auto-sharding: a StatefulSet with 2 replicas and its pod number 1.
	ctx := ctxFor(t)
	sts := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apps/v1", "kind": "StatefulSet",
		"metadata": map[string]any{"name": "exporter", "namespace": ns},
		"spec": map[string]any{"replicas": int64(2), "serviceName": "exporter",
			"selector": map[string]any{"matchLabels": map[string]any{"app": "exporter"}},
			"template": map[string]any{"metadata": map[string]any{"labels": map[string]any{"app": "exporter"}},
				"spec": map[string]any{"containers": []any{map[string]any{"name": "exporter", "image": "example.com/exporter"}}}}},
	}}
	created, err := env.Dynamic().Resource(schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "statefulsets"}).Namespace(ns).Create(ctx, sts, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The ServiceAccount admission plugin wants the default ServiceAccount,
	// which no controller creates here.
	sa := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": map[string]any{"name": "default", "namespace": ns}}}
	if _, err := env.Dynamic().Resource(schema.GroupVersionResource{Version: "v1", Resource: "serviceaccounts"}).Namespace(ns).Create(ctx, sa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Pod",
		"metadata": map[string]any{"name": "exporter-1", "namespace": ns, "labels": map[string]any{"app": "exporter"},
			"ownerReferences": []any{map[string]any{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "exporter", "uid": string(created.GetUID()), "controller": true}}},
		"spec": map[string]any{"containers": []any{map[string]any{"name": "exporter", "image": "example.com/exporter"}}},
	}}
	if _, err := env.Dynamic().Resource(schema.GroupVersionResource{Version: "v1", Resource: "pods"}).Namespace(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	auto := startExporter(t, "--kubeconfig="+env.Kubeconfig, "--namespaces="+ns, "--pod=exporter-1", "--pod-namespace="+ns)
	if got := routeNames(auto.scrape(t).Body); strings.Join(got, ",") != strings.Join(want[1], ",") {
		t.Errorf("--pod=exporter-1 of a 2-replica StatefulSet: got %v, want shard 1: %v", got, want[1])
	}
}
