// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"strings"
	"testing"

	"github.com/kuadrant/gateway-api-metrics-exporter/internal/markdown"
)

// Every family of the embedded spec has an example rendered from the demo
// objects, but those no healthy object can have (a deletion timestamp), which
// say why.
func TestEveryFamilyHasAnExample(t *testing.T) {
	doc, err := generate()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(doc), "\n") {
		if strings.Contains(l, "no sample for the demo objects") {
			t.Errorf("METRICS.md: %s", l)
		}
	}
}

// The table of contents links every section, each kind once, in a reader's
// order.
func TestContents(t *testing.T) {
	doc, err := generate()
	if err != nil {
		t.Fatal(err)
	}
	s := string(doc)
	start := strings.Index(s, "## Contents\n")
	end := strings.Index(s[start+1:], "\n## ")
	if start < 0 || end < 0 {
		t.Fatal("no table of contents")
	}
	toc := s[start : start+1+end]
	anchors := map[string]int{}
	for _, m := range headingRE.FindAllStringSubmatch(s, -1) {
		if m[2] == "Contents" {
			continue
		}
		a := markdown.Anchor(m[2])
		anchors[a]++
		if !strings.Contains(toc, "(#"+a+")") {
			t.Errorf("the contents lack %q (#%s)", m[2], a)
		}
	}
	for a, n := range anchors {
		if n > 1 {
			t.Errorf("%d headings share the anchor #%s", n, a)
		}
	}
	order := []string{"[GatewayClass]", "[Gateway]", "[ListenerSet]", "[HTTPRoute]", "[ReferenceGrant]", "[BackendTLSPolicy]",
		"[AuthPolicy]", "[Kuadrant]", "[DNSRecord]", "[XBackendTrafficPolicy]", "[XMesh]"}
	last := -1
	for _, k := range order {
		i := strings.Index(toc, k)
		if i < 0 || i < last {
			t.Errorf("contents: %s missing or out of order (%v):\n%s", k, order, toc)
		}
		last = i
	}
}
