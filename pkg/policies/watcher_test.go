// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package policies

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/tools/cache"

	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/spec"
)

func crd(name, group, kind string, established bool) *unstructured.Unstructured {
	status := "False"
	if established {
		status = "True"
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"metadata": map[string]any{"name": name, "labels": map[string]any{Label: "Direct"}},
		"spec": map[string]any{"group": group, "scope": "Namespaced",
			"names":    map[string]any{"kind": kind, "plural": name[:len(name)-len(group)-1]},
			"versions": []any{map[string]any{"name": "v1", "served": true}}},
		"status": map[string]any{"conditions": []any{map[string]any{"type": "Established", "status": status}}},
	}}
}

func names(kinds []*spec.Kind) []string {
	var out []string
	for _, k := range kinds {
		out = append(out, k.GVK.Kind)
	}
	return out
}

// The store the reflector feeds: kinds follow CRD events, a CRD counts once
// established, unchanged kinds keep their identity, OnChange fires on change.
func TestWatcherFollowsCRDs(t *testing.T) {
	declared := &spec.Kind{GVK: spec.GroupVersionKind{Group: "gateway.networking.k8s.io", Version: "v1", Kind: "Gateway"}}
	w := NewWatcher(&spec.Plan{Kinds: []*spec.Kind{declared}}, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	changes := 0
	w.OnChange = func() { changes++ }
	s := (*crdStore)(w)

	// Before the first LIST, Kinds gives up after half the time ctx leaves
	// (or at once without a deadline) and serves the plan's kinds.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	for _, c := range []context.Context{ctx, context.Background()} {
		if got := names(w.Kinds(c)); len(got) != 1 || got[0] != "Gateway" {
			t.Fatalf("before sync: %v, want the plan's kinds", got)
		}
	}

	if err := s.Replace([]any{crd("apolicies.a.test", "a.test", "APolicy", true), crd("bpolicies.b.test", "b.test", "BPolicy", false)}, "1"); err != nil {
		t.Fatal(err)
	}
	kinds := w.Kinds(context.Background())
	if got := names(kinds); len(got) != 2 || got[1] != "APolicy" || kinds[0] != declared {
		t.Fatalf("after the first list: %v, want Gateway APolicy (BPolicy is not established)", got)
	}
	a := kinds[1]

	_ = s.Update(crd("bpolicies.b.test", "b.test", "BPolicy", true))
	kinds = w.Kinds(context.Background())
	if got := names(kinds); len(got) != 3 || got[2] != "BPolicy" || kinds[1] != a {
		t.Fatalf("after BPolicy is established: %v (APolicy kept: %v)", got, kinds[1] == a)
	}
	_ = s.Update(crd("bpolicies.b.test", "b.test", "BPolicy", true)) // no change
	_ = s.Delete(cache.DeletedFinalStateUnknown{Key: "apolicies.a.test", Obj: crd("apolicies.a.test", "a.test", "APolicy", true)})
	if got := names(w.Kinds(context.Background())); len(got) != 2 || got[1] != "BPolicy" {
		t.Fatalf("after APolicy's CRD is deleted: %v", got)
	}
	if changes != 3 {
		t.Errorf("OnChange called %d times, want 3 (first list, BPolicy established, APolicy deleted)", changes)
	}
}
