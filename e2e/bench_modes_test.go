// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"

	"github.com/kuadrant/gateway-api-metrics-exporter/internal/fixture"
	"github.com/kuadrant/gateway-api-metrics-exporter/internal/testenv"
)

// BenchmarkModes measures every collection mode against the real
// kube-state-metrics binary on the real API server, one fresh process each,
// on the same objects and with the same CRS config (the legacy Gateway and
// HTTPRoute families), in the same run: 1k Gateways x 8 listeners and, in
// turn, each route count of BENCH_ROUTES (default "10000"; e.g.
// "10000,40000" for watch mode's growth, "100000" for the large run). For
// each mode and route count it reports the median of 5 uncompressed scrapes
// (to the body's last byte, read into a reused buffer),
// RSS after them, sync time (first complete body), and the API server's CPU
// seconds per scrape (its process_cpu_seconds_total). Run it alone:
//
//	go test -run '^$' -bench Modes -benchtime 1x -timeout 120m ./e2e
func BenchmarkModes(b *testing.B) {
	env := testenv.Current(b)
	ksmBin := ksmBinary(b)
	counts := []int{10000}
	if s := os.Getenv("BENCH_ROUTES"); s != "" {
		counts = nil
		for _, f := range strings.Split(s, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil {
				b.Fatalf("BENCH_ROUTES: %v", err)
			}
			counts = append(counts, n)
		}
	}
	modes := []string{"ksm", "list", "cache", "watch", "list+graph", "watch+graph"}
	if s := os.Getenv("BENCH_MODES"); s != "" {
		modes = strings.Split(s, ",")
	}
	ns := "bench"
	createGateways(b, env, ns, 1000)
	createPolicies(b, env, ns, 1000)
	ours := exporterBinary(b)
	legacy := legacySpec(b)
	withGraph := graphSpec(b, legacy)
	for b.Loop() {
		for _, routes := range counts {
			createBenchRoutes(b, env, ns, routes)
			rss := map[string]float64{}
			scrape := map[string]float64{}
			for _, mode := range modes {
				// Every side serves the same families: KSM's CRS config,
				// with the graph's families for "+graph". The "-default"
				// modes serve the embedded spec (what users run), without
				// the graph's families (--metric-denylist) or with them.
				args := []string{"--kubeconfig=" + env.Kubeconfig, "--namespaces=" + ns}
				graphOn := strings.HasSuffix(mode, "+graph")
				if strings.Contains(mode, "-default") {
					if !graphOn {
						args = append(args, "--metric-denylist="+graphDenylist())
					}
				} else if graphOn {
					args = append(args, "--custom-resource-state-config-file="+withGraph)
				} else {
					args = append(args, "--custom-resource-state-config-file="+legacy)
				}
				bin := ours
				switch mode {
				case "ksm":
					bin = ksmBin
					args = append(args, "--custom-resource-state-only")
				case "cache":
					args = append(args, "--use-apiserver-cache")
				}
				if strings.HasPrefix(mode, "watch") {
					args = append(args, "--collection=watch")
				}
				if bin == ours {
					// KSM has no deadline on a collection; ours is 10s
					// without Prometheus' header, which a list-mode scrape
					// at 40k routes may pass (its kinds are then down and
					// the body short).
					args = append(args, "--scrape-timeout=2m")
				}
				start := time.Now()
				p := startProcess(b, bin, args...)
				waitRoutes(b, p.url, routes, false)
				sync := time.Since(start)
				cpu0 := apiserverCPU(b, env)
				var took []time.Duration
				var size int64
				buf := make([]byte, 256<<10)
				for range 5 {
					t0 := time.Now()
					size = drain(b, p.url+"/metrics", buf)
					took = append(took, time.Since(t0))
				}
				cpu := (apiserverCPU(b, env) - cpu0) / 5
				// A figure of a body with a kind down measures nothing.
				for _, l := range strings.Split(string(fetch(b, p.url+"/metrics", false)), "\n") {
					if strings.HasPrefix(l, "gateway_metrics_up{") && strings.HasSuffix(l, " 0") {
						b.Errorf("%s at %d routes: %s", mode, routes, l)
					}
				}
				slices.Sort(took)
				at := fmt.Sprintf("@%dk", routes/1000)
				scrape[mode] = float64(took[2].Microseconds()) / 1000
				rss[mode] = p.status("VmRSS")
				b.ReportMetric(scrape[mode], mode+"-scrape-ms"+at)
				b.ReportMetric(float64(size)/1e6, mode+"-body-MB"+at)
				b.ReportMetric(rss[mode], mode+"-RSS-MB"+at)
				b.ReportMetric(p.status("VmHWM"), mode+"-peak-RSS-MB"+at)
				b.ReportMetric(sync.Seconds(), mode+"-sync-s"+at)
				b.ReportMetric(cpu, mode+"-apiserver-cpu-s/scrape"+at)
				_ = p.cmd.Process.Kill()
				_ = p.cmd.Wait()
			}
			at := fmt.Sprintf("@%dk", routes/1000)
			if k := rss["ksm"]; k > 0 {
				for _, mode := range modes {
					if mode != "ksm" {
						b.ReportMetric(rss[mode]/k, mode+"/ksm-RSS"+at)
						b.ReportMetric(scrape[mode]/scrape["ksm"], mode+"/ksm-scrape"+at)
					}
				}
			}
			// What the graph adds, against the same mode without it.
			for _, mode := range []string{"list", "watch", "list-default", "watch-default"} {
				if rss[mode] > 0 && rss[mode+"+graph"] > 0 {
					b.ReportMetric(rss[mode+"+graph"]/rss[mode], mode+"+graph/"+mode+"-RSS"+at)
					b.ReportMetric(scrape[mode+"+graph"]/scrape[mode], mode+"+graph/"+mode+"-scrape"+at)
				}
			}
		}
	}
}

func createGateways(b *testing.B, env *testenv.Env, ns string, n int) {
	ctx := context.Background()
	if err := env.EnsureNamespace(ctx, ns); err != nil {
		b.Fatal(err)
	}
	gws := env.Dynamic().Resource(schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "gateways"}).Namespace(ns)
	for i := 0; i < n; i++ {
		o := fixture.Gateway(i, 8)
		delete(o, "status")
		md := o["metadata"].(map[string]any)
		delete(md, "uid")
		delete(md, "resourceVersion")
		delete(md, "creationTimestamp")
		md["namespace"] = ns
		if _, err := gws.Create(ctx, &unstructured.Unstructured{Object: o}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			b.Fatal(err)
		}
	}
}

// createPolicies makes a RateLimitPolicy on every second of n Gateways.
func createPolicies(b *testing.B, env *testenv.Env, ns string, n int) {
	ctx := context.Background()
	rlps := env.Dynamic().Resource(schema.GroupVersionResource{Group: "kuadrant.io", Version: "v1", Resource: "ratelimitpolicies"}).Namespace(ns)
	for i := 0; i < n; i += 2 {
		o := fixture.Policy("RateLimitPolicy", i)
		delete(o, "status")
		md := o["metadata"].(map[string]any)
		delete(md, "uid")
		delete(md, "resourceVersion")
		delete(md, "creationTimestamp")
		md["namespace"] = ns
		if _, err := rlps.Create(ctx, &unstructured.Unstructured{Object: o}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			b.Fatal(err)
		}
	}
}

// graphDenylist is a --metric-denylist of every graph family.
func graphDenylist() string {
	var names []string
	for name := range graphFamilies {
		names = append(names, name)
	}
	slices.Sort(names)
	return "^(" + strings.Join(names, "|") + ")$"
}

// createBenchRoutes makes n fixture HTTPRoutes in ns whose parentRefs name
// the Gateways of ns (createGateways), so that the graph judges them.
func createBenchRoutes(b *testing.B, env *testenv.Env, ns string, n int) {
	createRoutesWith(b, env, ns, n, func(o map[string]any) {
		for _, p := range o["spec"].(map[string]any)["parentRefs"].([]any) {
			p.(map[string]any)["namespace"] = ns
		}
	})
}

// graphSpec is the legacy config plus the attachment graph's families of
// the embedded spec for HTTPRoute and Gateway, and RateLimitPolicy and
// AuthPolicy read for the graph (their target_resolved only).
func graphSpec(b *testing.B, legacy string) string {
	data, err := os.ReadFile(legacy)
	if err != nil {
		b.Fatal(err)
	}
	s := string(data)
	graphOf := func(file string) string {
		d, err := os.ReadFile(filepath.Join("..", "metrics-spec", file))
		if err != nil {
			b.Fatal(err)
		}
		g := string(d)
		i := strings.Index(g, "      # new: the attachment graph")
		if i < 0 {
			b.Fatalf("%s has no graph families", file)
		}
		g = g[i:]
		if j := strings.Index(g, "\n    - groupVersionKind"); j > 0 {
			g = g[:j+1]
		}
		return g
	}
	// The legacy config is Gateway's resource, then HTTPRoute's.
	at := strings.Index(s, "    - groupVersionKind: {group: gateway.networking.k8s.io, version: v1beta1, kind: HTTPRoute}")
	if at < 0 {
		b.Fatal("legacy config: no HTTPRoute resource")
	}
	s = strings.TrimRight(s[:at], "\n") + "\n" + graphOf("gateway.yaml") + s[at:]
	s = strings.TrimRight(s, "\n") + "\n" + graphOf("httproute.yaml")
	for _, kind := range []string{"RateLimitPolicy", "AuthPolicy"} {
		s += "    - groupVersionKind: {group: kuadrant.io, version: v1, kind: " + kind + "}\n" +
			"      metricNamePrefix: gatewayapi_" + strings.ToLower(kind) + "\n" +
			"      labelsFromPath: {name: [metadata, name], namespace: [metadata, namespace]}\n" +
			"      metrics:\n" +
			"      - name: target_resolved\n        help: \"Whether each target of the policy exists\"\n        each: {type: Gauge, graph: TargetResolved}\n"
	}
	p := filepath.Join(b.TempDir(), "graph.yaml")
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		b.Fatal(err)
	}
	return p
}

// apiserverCPU is the API server's process_cpu_seconds_total.
func apiserverCPU(b *testing.B, env *testenv.Env) float64 {
	m, err := discovery.NewDiscoveryClientForConfigOrDie(env.Config).RESTClient().Get().AbsPath("/metrics").DoRaw(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(m))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if l := sc.Text(); strings.HasPrefix(l, "process_cpu_seconds_total ") {
			v, _ := strconv.ParseFloat(strings.TrimPrefix(l, "process_cpu_seconds_total "), 64)
			return v
		}
	}
	b.Fatal("the API server reports no process_cpu_seconds_total")
	return 0
}
