// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kuadrant/gateway-api-metrics-exporter/internal/harness"
	"github.com/kuadrant/gateway-api-metrics-exporter/internal/testenv"
)

var nsLabel = regexp.MustCompile(`[{,]namespace="([^"]*)"`)

// ours keeps the lines about the test's namespaces: namespaced objects in
// them, and their GatewayClasses (cluster-scoped, named <ns>-class).
func ours(lines []string, namespaces []string) map[string][]string {
	out := map[string][]string{}
	for _, l := range lines {
		if m := nsLabel.FindStringSubmatch(l); m != nil && !strings.HasPrefix(l, "gatewayapi_gatewayclass_") {
			if slices.Contains(namespaces, m[1]) {
				out[m[1]] = append(out[m[1]], l)
			}
			continue
		}
		if strings.HasPrefix(l, "gatewayapi_gatewayclass_") {
			for _, ns := range namespaces {
				if nameLabel(l) == ns+"-class" {
					out["cluster:"+ns] = append(out["cluster:"+ns], l)
				}
			}
		}
	}
	return out
}

// TestNamespaceSelection: --namespaces and --namespaces-denylist as in KSM,
// in both collection modes: the allowlist limits namespaced kinds, the
// denylist removes namespaces (inside the allowlist when both are given),
// and cluster-scoped kinds (GatewayClass) are never filtered by namespace.
// Every kind is up, and each namespace that is served is served whole (the
// same lines as an exporter limited to that one namespace).
func TestNamespaceSelection(t *testing.T) {
	env := testenv.Current(t)
	base := nsFor(t)
	a, b, c := base+"-a", base+"-b", base+"-c"
	all := []string{a, b, c}
	for _, ns := range all {
		applySamples(t, env, ns)
	}
	// What one namespace alone looks like (list mode, allowlist of one).
	whole := map[string][]string{}
	for _, ns := range all {
		x := startExporter(t, "--kubeconfig="+env.Kubeconfig, "--namespaces="+ns)
		body := x.scrape(t).Body
		assertAllUp(t, harness.SampleLines(body))
		o := ours(kindLines(body), all)
		whole[ns] = o[ns]
		for _, other := range all {
			// Each of these exporters serves every GatewayClass.
			whole["cluster:"+other] = o["cluster:"+other]
		}
		if len(whole[ns]) < 50 {
			t.Fatalf("namespace %s alone: only %d lines; the samples did not load", ns, len(whole[ns]))
		}
	}

	for _, tc := range []struct {
		name  string
		flags []string
		want  []string // namespaces served
	}{
		{"allowlist", []string{"--namespaces=" + a + "," + b}, []string{a, b}},
		{"denylist", []string{"--namespaces-denylist=" + b}, []string{a, c}},
		{"both", []string{"--namespaces=" + a + "," + b, "--namespaces-denylist=" + b}, []string{a}},
	} {
		for _, mode := range []string{"list", "watch"} {
			t.Run(tc.name+"/"+mode, func(t *testing.T) {
				x := startExporter(t, append([]string{"--kubeconfig=" + env.Kubeconfig, "--collection=" + mode}, tc.flags...)...)
				var got map[string][]string
				var lines, raw []string
				// Watch mode fills its stores asynchronously: wait for every
				// kind to be up (a liveness bound, not a pass criterion).
				for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
					body := x.scrape(t).Body
					raw, lines = harness.SampleLines(body), kindLines(body)
					got = ours(lines, all)
					ups := harness.WithPrefix(lines, "gateway_metrics_up")
					allUp := len(ups) == len(defaultKinds) && !slices.ContainsFunc(ups, func(l string) bool { return strings.HasSuffix(l, " 0") })
					if allUp || time.Now().After(deadline) {
						break
					}
				}
				assertAllUp(t, raw)
				for _, ns := range all {
					if slices.Contains(tc.want, ns) {
						assertLines(t, "namespace "+ns, got[ns], whole[ns])
					} else if len(got[ns]) > 0 {
						t.Errorf("namespace %s is excluded, yet %d of its lines are served, e.g. %s", ns, len(got[ns]), got[ns][0])
					}
					// Cluster-scoped: every GatewayClass, whatever the namespace flags.
					if len(got["cluster:"+ns]) == 0 {
						t.Errorf("GatewayClass %s-class (cluster-scoped) not served", ns)
					}
					assertLines(t, "GatewayClass "+ns+"-class", got["cluster:"+ns], whole["cluster:"+ns])
				}
			})
		}
	}
}
