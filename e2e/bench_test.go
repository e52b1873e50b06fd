// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gwclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"

	"github.com/kuadrant/gateway-api-metrics-exporter/internal/testenv"
)

// ksmBinary is the real kube-state-metrics v2.20.0 binary (make ksm-bin;
// KSM_BIN overrides); the benchmark is skipped without it.
func ksmBinary(b *testing.B) string {
	bin := os.Getenv("KSM_BIN")
	if bin == "" {
		bin = filepath.Join(testenv.CacheDir(), "ksm-v2.20.0", "kube-state-metrics")
	}
	if _, err := os.Stat(bin); err != nil {
		b.Skipf("kube-state-metrics binary not found (%v): run make ksm-bin", err)
	}
	return bin
}

// BenchmarkRealAPIServer runs the scrape path against the real kube-apiserver
// with 10k HTTPRoutes and 1k Gateways x 8 listeners, next to the real
// kube-state-metrics v2.20.0 binary (make ksm-bin; KSM_BIN overrides) reading
// the same objects with the legacy families. Every figure is a ratio taken in
// the same run:
//   - our full scrape (list mode, gzip) / a typed-clientset LIST of the same objects;
//   - our watch-mode scrape / KSM's scrape (both uncompressed, KSM's default);
//   - our peak RSS (a separate process, list mode) / KSM's steady RSS.
func BenchmarkRealAPIServer(b *testing.B) {
	env := testenv.Current(b)
	ksmBin := ksmBinary(b)
	ctx := context.Background()
	ns := "bench"
	const routes, gateways = 10000, 1000
	createRoutes(b, env, ns, routes)
	createGateways(b, env, ns, gateways)

	ours := startProcess(b, exporterBinary(b), "--kubeconfig="+env.Kubeconfig, "--namespaces="+ns, "--enable-gzip-encoding")
	watch := startExporter(b, "--kubeconfig="+env.Kubeconfig, "--namespaces="+ns, "--collection=watch")
	legacy := legacySpec(b)
	ksm := startProcess(b, ksmBin, "--kubeconfig="+env.Kubeconfig, "--namespaces="+ns, "--custom-resource-state-only",
		"--custom-resource-state-config-file="+legacy)
	waitRoutes(b, ksm.url, routes, false)
	waitRoutes(b, watch.MetricsURL, routes, false)
	waitRoutes(b, ours.url, routes, true)

	cs := gwclient.NewForConfigOrDie(env.Config)
	typedList := func() int {
		n := 0
		for _, list := range []func(cont string) (int, string){
			func(cont string) (int, string) {
				l, err := cs.GatewayV1().HTTPRoutes(ns).List(ctx, metav1.ListOptions{Limit: 500, Continue: cont})
				if err != nil {
					b.Fatal(err)
				}
				return len(l.Items), l.Continue
			},
			func(cont string) (int, string) {
				l, err := cs.GatewayV1().Gateways(ns).List(ctx, metav1.ListOptions{Limit: 500, Continue: cont})
				if err != nil {
					b.Fatal(err)
				}
				return len(l.Items), l.Continue
			},
		} {
			cont := ""
			for {
				k, next := list(cont)
				n += k
				if cont = next; cont == "" {
					break
				}
			}
		}
		return n
	}

	var oursT, listT, watchT, ksmT time.Duration
	for b.Loop() {
		t0 := time.Now()
		fetch(b, ours.url+"/metrics", true)
		oursT += time.Since(t0)
		t0 = time.Now()
		if n := typedList(); n != routes+gateways {
			b.Fatalf("typed list: %d objects", n)
		}
		listT += time.Since(t0)
		t0 = time.Now()
		fetch(b, watch.MetricsURL+"/metrics", false)
		watchT += time.Since(t0)
		t0 = time.Now()
		fetch(b, ksm.url+"/metrics", false)
		ksmT += time.Since(t0)
	}
	oursPeak, ksmSteady := ours.status("VmHWM"), ksm.status("VmRSS")
	n := float64(b.N)
	b.ReportMetric(float64(oursT.Milliseconds())/n, "ours-scrape-ms")
	b.ReportMetric(float64(listT.Milliseconds())/n, "typed-list-ms")
	b.ReportMetric(float64(oursT)/float64(listT), "scrape/typed-list")
	b.ReportMetric(float64(watchT.Milliseconds())/n, "watch-scrape-ms")
	b.ReportMetric(float64(ksmT.Milliseconds())/n, "ksm-scrape-ms")
	b.ReportMetric(float64(watchT)/float64(ksmT), "watch/ksm-scrape")
	b.ReportMetric(oursPeak, "ours-peak-RSS-MB")
	b.ReportMetric(ksmSteady, "ksm-steady-RSS-MB")
	b.ReportMetric(oursPeak/ksmSteady, "ours-peak/ksm-steady")
}

// legacySpec is the embedded spec's Gateway and HTTPRoute files without the
// families KSM cannot express, as one CRS config.
func legacySpec(b *testing.B) string {
	var docs []string
	for _, f := range []string{"gateway.yaml", "httproute.yaml"} {
		data, err := os.ReadFile(filepath.Join("..", "metrics-spec", f))
		if err != nil {
			b.Fatal(err)
		}
		s := string(data)
		if i := strings.Index(s, "      # new:"); i > 0 {
			s = s[:i]
		}
		if len(docs) > 0 {
			s = s[strings.Index(s, "    - groupVersionKind"):]
		}
		docs = append(docs, s)
	}
	p := filepath.Join(b.TempDir(), "legacy.yaml")
	if err := os.WriteFile(p, []byte(strings.Join(docs, "")), 0o600); err != nil {
		b.Fatal(err)
	}
	return p
}

func fetch(b *testing.B, url string, gzip bool) []byte {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	tr := &http.Transport{DisableCompression: !gzip}
	resp, err := (&http.Client{Transport: tr, Timeout: 2 * time.Minute}).Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		b.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return body
}

// drain reads a scrape's body into one reused buffer and returns its size: a
// timed scrape measures the exporter up to its last byte, not the client
// growing a buffer for the whole body (which would weigh the most on the
// fastest side).
func drain(b *testing.B, url string, buf []byte) int64 {
	resp, err := (&http.Client{Transport: &http.Transport{DisableCompression: true}, Timeout: 2 * time.Minute}).Get(url)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var n int64
	for {
		k, err := resp.Body.Read(buf)
		n += int64(k)
		if err == io.EOF {
			break
		}
		if err != nil {
			b.Fatalf("GET %s: %v", url, err)
		}
	}
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("GET %s: %d", url, resp.StatusCode)
	}
	return n
}

func waitRoutes(b *testing.B, url string, n int, gzip bool) {
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		body := string(fetch(b, url+"/metrics", gzip))
		if strings.Count(body, "gatewayapi_httproute_created{") == n {
			return
		}
		time.Sleep(time.Second)
	}
	b.Fatalf("%s never showed %d routes", url, n)
}

// process is an exporter (ours or KSM) run as its own process, so that its
// memory is its own.
type process struct {
	cmd *exec.Cmd
	url string
}

func (p *process) status(field string) float64 {
	data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, field+":") {
			v, _ := strconv.ParseFloat(strings.Fields(l)[1], 64)
			return v / 1024
		}
	}
	return 0
}

func freePort(b *testing.B) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

func startProcess(b *testing.B, bin string, args ...string) *process {
	port, tport := freePort(b), freePort(b)
	args = append(args, "--host=127.0.0.1", "--port="+port, "--telemetry-host=127.0.0.1", "--telemetry-port="+tport)
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	p := &process{cmd: cmd, url: "http://127.0.0.1:" + port}
	for i := 0; i < 100; i++ {
		if resp, err := http.Get(p.url + "/healthz"); err == nil {
			resp.Body.Close()
			return p
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.Fatalf("%s did not start", bin)
	return nil
}

func exporterBinary(b *testing.B) string {
	bin := filepath.Join(b.TempDir(), "gateway-api-metrics-exporter")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/gateway-api-metrics-exporter").CombinedOutput(); err != nil {
		b.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}
