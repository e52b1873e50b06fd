// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package ksmdiff

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/objects"
)

// Gen makes random objects shaped like Gateway API and Kuadrant resources, in
// which any field may be missing or hold an odd value: quotes, backslashes,
// newlines, unicode, invalid UTF-8, numbers as strings, quantities, maps and
// lists where a string is expected. Each object goes through JSON, so both
// engines see exactly what a client-go decoder would produce.
type Gen struct {
	r *rand.Rand
	n int
}

func NewGen(seed uint64) *Gen { return &Gen{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))} }

var oddStrings = []string{
	"plain", "", `a "quoted" \ value`, "line\nbreak", "tab\there", "ünïcödé ☃ 🚀", "invalid \xff utf8",
	"True", "False", "Unknown", "true", "TRUE", "yes", "No", "0.3", "250m", "1Gi", "45%", "50.5%", "1e3",
	"NaN", "Inf", "-Inf", "2023-08-21T22:53:08Z", "2024-05-16T16:17:38.123456Z", "-1", "007", "map[name:x]",
	"kuadrant.io/AuthPolicyAffected", "gateway.networking.k8s.io", strings.Repeat("long", 300), "a,b", "{x}",
}

func (g *Gen) str() string { return oddStrings[g.r.IntN(len(oddStrings))] }

// odd returns a value of any JSON type.
func (g *Gen) odd() any {
	switch g.r.IntN(12) {
	case 0:
		return g.r.IntN(2) == 0
	case 1:
		return g.r.Int64N(1<<40) - 1<<39
	case 2:
		return []float64{0.5, 1e21, 1e6, 80, 0.1, 1234567.5, -0.0001}[g.r.IntN(7)]
	case 3:
		return map[string]any{"name": g.str(), "n": g.r.IntN(5)}
	case 4:
		return []any{g.str(), g.r.IntN(3)}
	case 5:
		return nil
	}
	return g.str()
}

// maybe returns v, or (sometimes) nothing or an odd value instead.
func (g *Gen) maybe(v any) any {
	switch g.r.IntN(10) {
	case 0:
		return nil
	case 1:
		return g.odd()
	}
	return v
}

func (g *Gen) condStatus() any {
	return g.maybe([]string{"True", "False", "Unknown"}[g.r.IntN(3)])
}

// conditions makes a list with distinct types: two conditions of one type
// would be two samples of one series, which we write once on purpose.
func (g *Gen) conditions() any {
	types := []string{"Accepted", "Programmed", "ResolvedRefs", "kuadrant.io/AuthPolicyAffected", "Ready", g.str()}
	g.r.Shuffle(len(types), func(i, j int) { types[i], types[j] = types[j], types[i] })
	n := g.r.IntN(5)
	seen := map[string]bool{}
	var out []any
	for i := 0; i < n; i++ {
		if seen[types[i]] {
			continue
		}
		seen[types[i]] = true
		out = append(out, map[string]any{"type": types[i], "status": g.condStatus(), "reason": g.str(), "lastTransitionTime": "2024-05-16T16:17:38Z"})
	}
	return g.maybe(out)
}

// labels draws keys whose sanitised names are distinct: KSM resolves a clash
// between two such keys by random map order.
func (g *Gen) labels() any {
	keys := []string{"app.kubernetes.io/name", "team", "9lives", "ünï", "x_y", "kuadrant.io/gateway", "empty", "q"}
	m := map[string]any{}
	for _, k := range keys {
		if g.r.IntN(3) == 0 {
			m[k] = g.str()
		}
	}
	return g.maybe(m)
}

func (g *Gen) meta(namespaced bool) map[string]any {
	g.n++
	m := map[string]any{
		"name":              fmt.Sprintf("obj-%d", g.n),
		"uid":               fmt.Sprintf("uid-%d", g.n),
		"creationTimestamp": time.Unix(1.6e9+g.r.Int64N(1e8), 0).UTC().Format(time.RFC3339),
		"labels":            g.labels(),
	}
	if namespaced {
		m["namespace"] = []string{"default", "demo", "kuadrant-system"}[g.r.IntN(3)]
	}
	if g.r.IntN(5) == 0 {
		m["deletionTimestamp"] = g.maybe(time.Unix(1.7e9+g.r.Int64N(1e7), 0).UTC().Format(time.RFC3339))
	}
	return m
}

func (g *Gen) ref() map[string]any {
	return map[string]any{"group": g.maybe("gateway.networking.k8s.io"), "kind": g.maybe("Gateway"), "name": g.maybe(g.str()),
		"namespace": g.maybe("default"), "sectionName": g.maybe([]string{"http", "https"}[g.r.IntN(2)]), "port": g.maybe(int64(443))}
}

func (g *Gen) list(n int, f func(i int) any) any {
	var out []any
	for i := 0; i < n; i++ {
		out = append(out, f(i))
	}
	return g.maybe(out)
}

func (g *Gen) listeners(withSpec bool) (spec, status any) {
	n := 1 + g.r.IntN(4)
	spec = g.list(n, func(i int) any {
		l := map[string]any{"name": fmt.Sprintf("l%d", i), "port": g.maybe(int64(80 + i)), "protocol": g.maybe("HTTPS"),
			"hostname": g.maybe(g.str()), "tls": map[string]any{"mode": g.maybe("Terminate")},
			"allowedRoutes": map[string]any{"namespaces": map[string]any{"from": g.maybe("Same")}}}
		return l
	})
	status = g.list(n, func(i int) any {
		return map[string]any{"name": fmt.Sprintf("l%d", i), "attachedRoutes": g.maybe(int64(g.r.IntN(9))), "conditions": g.conditions()}
	})
	return
}

// Object makes one object of the given apiVersion and kind.
func (g *Gen) Object(apiVersion, kind string) map[string]any {
	o := map[string]any{"apiVersion": apiVersion, "kind": kind}
	spec, status := map[string]any{}, map[string]any{}
	o["spec"], o["status"] = spec, status
	status["conditions"] = g.conditions()
	switch kind {
	case "Gateway", "ListenerSet":
		o["metadata"] = g.meta(true)
		spec["gatewayClassName"] = g.maybe(g.str())
		spec["listeners"], status["listeners"] = g.listeners(true)
		status["addresses"] = g.list(g.r.IntN(3), func(i int) any {
			return map[string]any{"type": g.maybe([]string{"IPAddress", "Hostname"}[i%2]), "value": g.maybe(g.str())}
		})
		spec["parentRef"] = g.maybe(g.ref())
	case "GatewayClass":
		o["metadata"] = g.meta(false)
		spec["controllerName"] = g.maybe(g.str())
		if g.r.IntN(2) == 0 {
			status["supportedFeatures"] = g.list(g.r.IntN(4), func(i int) any { return g.str() })
		} else {
			status["supportedFeatures"] = g.list(g.r.IntN(4), func(i int) any { return map[string]any{"name": g.str()} })
		}
	case "HTTPRoute", "GRPCRoute", "TLSRoute", "TCPRoute", "UDPRoute":
		o["metadata"] = g.meta(true)
		spec["hostnames"] = g.list(g.r.IntN(3), func(i int) any { return g.maybe(g.str()) })
		spec["parentRefs"] = g.list(g.r.IntN(3), func(i int) any { return g.ref() })
		status["parents"] = g.list(g.r.IntN(4), func(i int) any {
			return map[string]any{"parentRef": g.ref(), "controllerName": g.maybe(g.str()), "conditions": g.conditions()}
		})
	case "BackendTLSPolicy", "AuthPolicy", "RateLimitPolicy", "DNSPolicy", "TLSPolicy":
		o["metadata"] = g.meta(true)
		spec["targetRef"] = g.maybe(g.ref())
		spec["targetRefs"] = g.list(g.r.IntN(3), func(i int) any { return g.ref() })
		status["ancestors"] = g.list(g.r.IntN(3), func(i int) any {
			return map[string]any{"ancestorRef": g.ref(), "controllerName": g.maybe(g.str()), "conditions": g.conditions()}
		})
	case "DNSRecord":
		o["metadata"] = g.meta(true)
		spec["rootHost"] = g.maybe(g.str())
		status["domainOwners"] = g.list(g.r.IntN(3), func(i int) any { return g.maybe(g.str()) })
	case "DNSHealthCheckProbe":
		o["metadata"] = g.meta(true)
		status["healthy"] = g.maybe(g.r.IntN(2) == 0)
	default:
		o["metadata"] = g.meta(true)
		for i := 0; i < 6; i++ {
			spec[fmt.Sprintf("f%d", i)] = g.odd()
		}
		spec["map"] = map[string]any{"a": g.odd(), "b": g.odd(), "c.d": g.str(), "n": g.r.IntN(9), "phase": g.maybe(g.str())}
		spec["items"] = g.list(g.r.IntN(4), func(i int) any {
			return map[string]any{"k": fmt.Sprint(i), "v": g.odd(), "phase": g.maybe([]string{"Running", "Failed", "Pending"}[g.r.IntN(3)]), "on": g.r.IntN(2) == 0}
		})
		status["phase"] = g.maybe([]string{"Running", "Failed", "Pending"}[g.r.IntN(3)])
	}
	return roundTrip(o)
}

// roundTrip passes o through JSON as an API server response would.
func roundTrip(o map[string]any) map[string]any {
	data, err := json.Marshal(o)
	if err != nil {
		panic(err)
	}
	v, err := objects.DecodeJSON(data)
	if err != nil {
		panic(err)
	}
	return v.(map[string]any)
}
