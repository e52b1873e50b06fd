// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package engine_test

import (
	"strings"
	"testing"

	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/engine"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/graph"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/objects"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/spec"
)

// Graph families are counted as the others, whichever way they are
// rendered: a route's parent_attachment has one sample per parentRef,
// counted by RenderObject; when the graph changes, ReplaceGraph counts the
// graph families anew and keeps the issues of the other families (here a
// duplicate hostname, written by hand into the route).
func TestGraphFamiliesCounted(t *testing.T) {
	plan := defaultPlan(t)
	var kind *spec.Kind
	for _, k := range plan.Kinds {
		if k.GVK.Kind == "HTTPRoute" {
			kind = k
		}
	}
	objs, err := objects.Parse([]byte(`apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: ns, creationTimestamp: "2024-05-16T16:17:38Z", generation: 1}
spec:
  hostnames: [a.example.com, a.example.com]
  parentRefs: [{name: gw, sectionName: http}, {name: gw, sectionName: https}]
`))
	if err != nil {
		t.Fatal(err)
	}
	index := map[string]int{}
	for i, f := range kind.Families {
		index[f.Name] = i
	}
	attachment, hostnames := index["gatewayapi_httproute_parent_attachment"], index["gatewayapi_httproute_hostname_info"]
	g := graph.New(func(string) bool { return true }, true)
	gk := graph.GK{Group: "gateway.networking.k8s.io", Kind: "HTTPRoute"}
	g.SetKind(gk, graph.Served, true)
	g.SetKind(graph.GK{Group: "gateway.networking.k8s.io", Kind: "Gateway"}, graph.Served, true)
	n := g.Put(gk, objs[0])
	r := engine.NewRenderer(kind, engine.GVK{Group: "gateway.networking.k8s.io", Version: "v1", Kind: "HTTPRoute"}, nil)
	blob, ends, issues := r.RenderObject(objs[0], n, g)
	lines := func(i int) int {
		start := int32(0)
		if i > 0 {
			start = ends[i-1]
		}
		return strings.Count(string(blob[start:ends[i]]), "\n")
	}
	if got := r.Stats()[attachment].Series; got != 2 || lines(attachment) != 2 {
		t.Errorf("parent_attachment: %d counted, %d lines, want 2 (one per parentRef)", got, lines(attachment))
	}
	wantIssue := engine.Issue{Family: int32(hostnames), Duplicates: 1}
	if len(issues) != 1 || issues[0] != wantIssue {
		for _, is := range issues {
			t.Logf("issue in %s: %+v", kind.Families[is.Family].Name, is)
		}
		t.Fatalf("issues %+v, want %+v", issues, wantIssue)
	}
	blob, ends, issues = r.ReplaceGraph(blob, ends, issues, n, g)
	if got := r.Stats()[attachment].Series; got != 2 || lines(attachment) != 2 {
		t.Errorf("parent_attachment rendered again: %d counted, %d lines, want 2", got, lines(attachment))
	}
	if len(issues) != 1 || issues[0] != wantIssue {
		t.Errorf("issues after ReplaceGraph %+v, want the hostname duplicate kept: %+v", issues, wantIssue)
	}
}
