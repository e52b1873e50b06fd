// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package ksmdiff

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"

	"github.com/kuadrant/gateway-api-metrics-exporter/internal/fixture"
	metricsspec "github.com/kuadrant/gateway-api-metrics-exporter/metrics-spec"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/exposition"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/scrape"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/source"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/spec"
)

// Memory is measured in fresh child processes (this test binary, re-run with
// MEMORY_CHILD set), so that one measurement's heap cannot hide another's:
// VmHWM is the peak resident set of the whole process.

func memStatus(field string) float64 {
	data, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, field+":") {
			v, _ := strconv.ParseFloat(strings.Fields(l)[1], 64)
			return v / 1024
		}
	}
	return 0
}

// routePages builds the LIST pages 500 objects at a time, so that making the
// fixture does not itself need the memory being measured.
func routePages(n int) [][]byte {
	var pages [][]byte
	for start := 0; start < n; start += 500 {
		objs := make([]map[string]any, 0, 500)
		for i := start; i < min(start+500, n); i++ {
			objs = append(objs, fixture.HTTPRoute(i))
		}
		p := fixture.Pages("gateway.networking.k8s.io/v1", "HTTPRouteList", objs, 500)[0]
		if start+500 < n {
			p = bytes.Replace(p, []byte(`"metadata":{`), []byte(`"metadata":{"continue":"`+strconv.Itoa(len(pages)+1)+`",`), 1)
		}
		pages = append(pages, p)
	}
	return pages
}

// settle collects garbage, returns memory to the OS and resets the peak
// (VmHWM) to the current resident set: what follows is what is measured.
func settle() float64 {
	runtime.GC()
	debug.FreeOSMemory()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		panic(fmt.Sprintf("cannot reset VmHWM: %v", err))
	}
	return memStatus("VmRSS")
}

// TestMain runs the child side of BenchmarkMemory when asked to.
func TestMain(m *testing.M) {
	// KSM logs through klog on stderr; its lines would break benchstat's
	// parsing of benchmark output.
	klog.SetOutput(io.Discard)
	klog.LogToStderr(false)
	if mode := os.Getenv("MEMORY_CHILD"); mode != "" {
		if who, file, ok := strings.Cut(strings.TrimPrefix(mode, "render-"), ":"); ok && strings.HasPrefix(mode, "render-") {
			renderChild(failer{}, who, file)
			os.Exit(0)
		}
		memoryChild(failer{}, mode)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// failer stands in for a testing.T in the child process.
type failer struct{}

func (failer) Fatal(args ...any) { fmt.Println(args...); os.Exit(1) }

func memoryChild(t interface{ Fatal(...any) }, mode string) {
	what, nStr, _ := strings.Cut(mode, ":")
	n, _ := strconv.Atoi(nStr)
	pages := routePages(n)
	switch what {
	case "ours":
		srv := fixture.NewServer(map[string][][]byte{"/apis/gateway.networking.k8s.io/v1/httproutes": pages})
		plan, _, err := spec.LoadFS(metricsspec.FS)
		if err != nil {
			t.Fatal(err)
		}
		c, err := source.New(&rest.Config{Host: srv.URL})
		if err != nil {
			t.Fatal(err)
		}
		col := scrape.New(plan, routesOnly{c}, scrape.Options{}, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
		base := settle()
		res, err := col.Collect(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if err := scrape.Write(io.Discard, res, exposition.Text, nil, true); err != nil {
			t.Fatal(err)
		}
		fmt.Printf("MEMORY base=%.1f peak=%.1f\n", base, memStatus("VmHWM"))
	case "ksm":
		// What a KSM reflector does: decode every page as unstructured, then
		// render each object into the store, which keeps the bytes.
		config := legacyHTTPRouteSpec(t)
		o, err := NewOracle(config)
		if err != nil {
			t.Fatal(err)
		}
		base := settle()
		st := o.Store(0)
		for _, p := range pages {
			var list unstructured.UnstructuredList
			if err := list.UnmarshalJSON(p); err != nil {
				t.Fatal(err)
			}
			for i := range list.Items {
				list.Items[i].SetAPIVersion("gateway.networking.k8s.io/v1beta1")
				_ = st.Add(&list.Items[i])
			}
		}
		peak := memStatus("VmHWM")
		runtime.GC()
		debug.FreeOSMemory()
		fmt.Printf("MEMORY base=%.1f peak=%.1f steady=%.1f\n", base, peak, memStatus("VmRSS"))
		// The pages stay alive, as in the "ours" child, where the server
		// holds them: the baseline includes them on both sides.
		runtime.KeepAlive(pages)
		runtime.KeepAlive(st)
	}
}

type routesOnly struct{ *source.Client }

func (routesOnly) Discover(map[string]bool) (source.Served, error) {
	return source.Served{"gateway.networking.k8s.io/HTTPRoute": {{Group: "gateway.networking.k8s.io", Version: "v1", Kind: "HTTPRoute", Plural: "httproutes", Namespaced: true}}}, nil
}

func child(b *testing.B, mode string) map[string]float64 {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "MEMORY_CHILD="+mode)
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("%s: %v\n%s", mode, err, out)
	}
	m := map[string]float64{}
	for _, l := range strings.Split(string(out), "\n") {
		if rest, ok := strings.CutPrefix(l, "MEMORY "); ok {
			for _, kv := range strings.Fields(rest) {
				k, v, _ := strings.Cut(kv, "=")
				m[k], _ = strconv.ParseFloat(v, 64)
			}
		}
	}
	if len(m) == 0 {
		b.Fatalf("%s: no measurement in\n%s", mode, out)
	}
	// CPU seconds of the whole child, from the kernel: unlike wall time, it
	// does not grow when other processes share the machine.
	m["cpu"] = (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
	return m
}

// BenchmarkMemory reports peak RSS of one scrape (ours: every family, gzip
// body) at 10k and 40k HTTPRoutes, and KSM's steady RSS holding the legacy
// families of the same 10k routes. Each figure is the resident set above the
// child's baseline (the served pages and the test binary).
func BenchmarkMemory(b *testing.B) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		b.Skip("needs Linux /proc")
	}
	ours10, ours40, ksm10 := child(b, "ours:10000"), child(b, "ours:40000"), child(b, "ksm:10000")
	for b.Loop() {
	}
	o10, o40 := ours10["peak"]-ours10["base"], ours40["peak"]-ours40["base"]
	k10 := ksm10["steady"] - ksm10["base"]
	b.ReportMetric(o10, "ours-peak-MB-10k")
	b.ReportMetric(o40, "ours-peak-MB-40k")
	b.ReportMetric(k10, "ksm-steady-MB-10k")
	b.ReportMetric(ksm10["peak"]-ksm10["base"], "ksm-relist-peak-MB-10k")
	b.ReportMetric(o10/k10, "ours-peak/ksm-steady")
	b.ReportMetric(o40/o10, "ours-peak-40k/10k")
}
