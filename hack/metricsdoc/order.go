// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/kuadrant/gateway-api-metrics-exporter/internal/markdown"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/spec"
)

// category is a section of METRICS.md: kinds a reader looks for together.
type category struct {
	title string
	kinds []*spec.Kind
}

// categories lists the kinds in a reader's order: from the class of a
// Gateway to its routes, then what attaches to them, then Kuadrant's own
// objects, the experimental kinds last. A kind of the spec not named here
// (a new one) goes to "Other kinds", in spec order.
var categories = []struct {
	title string
	kinds []string // group/kind
}{
	{"Gateway API", []string{
		"gateway.networking.k8s.io/GatewayClass", "gateway.networking.k8s.io/Gateway", "gateway.networking.k8s.io/ListenerSet",
		"gateway.networking.k8s.io/HTTPRoute", "gateway.networking.k8s.io/GRPCRoute", "gateway.networking.k8s.io/TLSRoute",
		"gateway.networking.k8s.io/TCPRoute", "gateway.networking.k8s.io/UDPRoute", "gateway.networking.k8s.io/ReferenceGrant",
	}},
	{"Policies", []string{
		"gateway.networking.k8s.io/BackendTLSPolicy",
		"kuadrant.io/AuthPolicy", "kuadrant.io/RateLimitPolicy", "kuadrant.io/TokenRateLimitPolicy",
		"kuadrant.io/DNSPolicy", "kuadrant.io/TLSPolicy",
		"extensions.kuadrant.io/OIDCPolicy", "extensions.kuadrant.io/PlanPolicy",
		"extensions.kuadrant.io/TelemetryPolicy", "extensions.kuadrant.io/ThreatPolicy",
	}},
	{"Kuadrant instance and DNS", []string{"kuadrant.io/Kuadrant", "kuadrant.io/DNSRecord", "kuadrant.io/DNSHealthCheckProbe"}},
	{"Gateway API experimental", []string{
		"gateway.networking.x-k8s.io/XBackendTrafficPolicy", "gateway.networking.x-k8s.io/XBackend", "gateway.networking.x-k8s.io/XMesh",
	}},
}

func readerOrder(plan *spec.Plan) []category {
	byKey := map[string][]*spec.Kind{}
	var order []string
	for _, k := range plan.Kinds {
		key := k.GVK.Group + "/" + k.GVK.Kind
		if _, ok := byKey[key]; !ok {
			order = append(order, key)
		}
		byKey[key] = append(byKey[key], k)
	}
	var out []category
	placed := map[string]bool{}
	for _, c := range categories {
		cat := category{title: c.title}
		for _, key := range c.kinds {
			cat.kinds = append(cat.kinds, byKey[key]...)
			placed[key] = true
		}
		if len(cat.kinds) > 0 {
			out = append(out, cat)
		}
	}
	other := category{title: "Other kinds"}
	for _, key := range order {
		if !placed[key] {
			other.kinds = append(other.kinds, byKey[key]...)
		}
	}
	if len(other.kinds) > 0 {
		out = append(out, other)
	}
	return out
}

var headingRE = regexp.MustCompile(`(?m)^(##|###) (.+)$`)

// withContents inserts, after the first paragraph of doc, a table of
// contents of its ## and ### headings (### as sub-items, on one line).
func withContents(doc string) string {
	var b strings.Builder
	b.WriteString("## Contents\n\n")
	var subs []string
	flush := func() {
		if len(subs) > 0 {
			b.WriteString("  - " + strings.Join(subs, " · ") + "\n")
			subs = nil
		}
	}
	for _, m := range headingRE.FindAllStringSubmatch(doc, -1) {
		link := fmt.Sprintf("[%s](#%s)", strings.Trim(m[2], "`"), markdown.Anchor(m[2]))
		if m[1] == "##" {
			flush()
			b.WriteString("- " + link + "\n")
		} else {
			subs = append(subs, link)
		}
	}
	flush()
	b.WriteString("\n")
	i := strings.Index(doc, "\n## ")
	if i < 0 {
		return doc + "\n" + b.String()
	}
	return doc[:i+1] + b.String() + doc[i+1:]
}
