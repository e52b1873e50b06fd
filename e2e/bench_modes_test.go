package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
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
	modes := []string{"ksm", "list", "cache", "watch"}
	if s := os.Getenv("BENCH_MODES"); s != "" {
		modes = strings.Split(s, ",")
	}
	ns := "bench"
	createGateways(b, env, ns, 1000)
	ours := exporterBinary(b)
	legacy := legacySpec(b)
	for b.Loop() {
		for _, routes := range counts {
			createRoutes(b, env, ns, routes)
			rss := map[string]float64{}
			scrape := map[string]float64{}
			for _, mode := range modes {
				// Every side serves the same families: KSM's CRS config.
				args := []string{"--kubeconfig=" + env.Kubeconfig, "--namespaces=" + ns, "--custom-resource-state-config-file=" + legacy}
				bin := ours
				switch mode {
				case "ksm":
					bin = ksmBin
					args = append(args, "--custom-resource-state-only")
				case "cache":
					args = append(args, "--use-apiserver-cache")
				case "watch":
					args = append(args, "--collection=watch")
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
			if k := rss["ksm"]; k > 0 {
				at := fmt.Sprintf("@%dk", routes/1000)
				for _, mode := range modes[1:] {
					b.ReportMetric(rss[mode]/k, mode+"/ksm-RSS"+at)
					b.ReportMetric(scrape[mode]/scrape["ksm"], mode+"/ksm-scrape"+at)
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
