// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"fmt"
	"sort"
	"strings"

	"github.com/kuadrant/gateway-api-metrics-exporter/internal/fixture"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/engine"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/exposition"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/spec"
)

// Sizes of the benchmark fixture the graph's cost is measured on.
const (
	costRoutes   = 10000
	costGateways = 1000
)

// graphCost renders the benchmark fixture (10k HTTPRoutes with 2 parentRefs
// and 3 backendRefs, 1k Gateways with 8 listeners, a RateLimitPolicy on
// every second Gateway and an AuthPolicy on every fourth) and says how many
// series each graph family adds per route, Gateway or policy.
func graphCost(plan *spec.Plan) (string, error) {
	o := engine.NewOffline(plan, nil)
	policies := map[string]int{} // by family prefix
	for i := range costGateways {
		o.Add(fixture.Gateway(i, 8))
		if i%2 == 0 {
			o.Add(fixture.Policy("RateLimitPolicy", i))
			policies["gatewayapi_ratelimitpolicy_"]++
		}
		if i%4 == 0 {
			o.Add(fixture.Policy("AuthPolicy", i))
			policies["gatewayapi_authpolicy_"]++
		}
	}
	for i := range costRoutes {
		o.Add(fixture.HTTPRoute(i))
	}
	var body bytes.Buffer
	if err := o.WriteTo(&body, exposition.Text); err != nil {
		return "", err
	}
	graphFamilies, optIn := map[string]bool{}, map[string]bool{}
	for _, k := range plan.Kinds {
		for _, f := range k.Families {
			if f.Graph != spec.NoRelation {
				graphFamilies[f.Name] = true
				optIn[f.Name] = f.OptIn
			}
		}
	}
	count := map[string]int{}
	for _, l := range strings.Split(body.String(), "\n") {
		if i := strings.IndexByte(l, '{'); i > 0 && graphFamilies[l[:i]] {
			count[l[:i]]++
		}
	}
	names := make([]string, 0, len(count))
	for n := range count {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	fmt.Fprintf(&b, "On the benchmark fixture (%dk HTTPRoutes, each with 2 parentRefs to listeners of one of %dk Gateways and 3 backendRefs; Gateways with 8 listeners and a certificateRef each; a RateLimitPolicy on every second Gateway and an AuthPolicy on every fourth; rendered by `make generate`), the graph families serve:\n\n", costRoutes/1000, costGateways/1000)
	b.WriteString("| family | series | per |\n|---|---|---|\n")
	perRoute, optInPerRoute := 0, 0
	for _, n := range names {
		per, of := "route", costRoutes
		switch {
		case strings.HasPrefix(n, "gatewayapi_gateway_"):
			per, of = "Gateway", costGateways
		case strings.HasSuffix(n, "_target_resolved"):
			per, of = "policy", policies[strings.TrimSuffix(n, "target_resolved")]
		case optIn[n]:
			optInPerRoute += count[n]
		default:
			perRoute += count[n]
		}
		mark := ""
		if optIn[n] {
			mark = " (opt-in)"
		}
		fmt.Fprintf(&b, "| `%s`%s | %d | %.2f per %s |\n", n, mark, count[n], float64(count[n])/float64(of), per)
	}
	fmt.Fprintf(&b, "\nBy default the graph adds %.2f series per route (and %.2f more with the opt-in `backend_ref_info`, one per backendRef) and one per listener certificateRef of each Gateway. Prometheus keeps every series in memory (a few KiB each): `--metric-denylist` drops any graph family, `--metric-opt-in-list` adds the opt-in one.", float64(perRoute)/costRoutes, float64(optInPerRoute)/costRoutes)
	return b.String(), nil
}
