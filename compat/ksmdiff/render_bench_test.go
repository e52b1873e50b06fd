// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package ksmdiff

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"github.com/kuadrant/gateway-api-metrics-exporter/internal/fixture"
	"github.com/kuadrant/gateway-api-metrics-exporter/internal/refdata"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/engine"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/exposition"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/objects"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/spec"
)

// writeListFile writes what `kubectl get httproutes,gateways -A -o json`
// prints for 10k routes and 1k Gateways of 8 listeners (about 50 MB), at the
// versions the old Kuadrant config names, one object at a time.
func writeListFile(b *testing.B, path string, routes, gateways int) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	w.WriteString(`{"apiVersion":"v1","items":[`)
	enc := func(i int, o map[string]any) {
		if i > 0 {
			w.WriteByte(',')
		}
		data, err := json.Marshal(o)
		if err != nil {
			b.Fatal(err)
		}
		w.Write(data)
	}
	for i := range routes {
		o := fixture.HTTPRoute(i)
		o["apiVersion"] = "gateway.networking.k8s.io/v1beta1"
		enc(i, o)
	}
	for i := range gateways {
		o := fixture.Gateway(i, 8)
		o["apiVersion"] = "gateway.networking.k8s.io/v1beta1"
		enc(routes+i, o)
	}
	w.WriteString(`],"kind":"List","metadata":{"resourceVersion":""}}`)
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
}

// renderChild renders a List file in this process, as `render` does (ours) or
// as a user of KSM's CRS library would (decode the file, add every object to
// the stores, write), and prints the wall time and the peak resident set.
func renderChild(t interface{ Fatal(...any) }, who, file string) {
	dir, err := refdata.Dir()
	if err != nil {
		t.Fatal(err)
	}
	config, err := os.ReadFile(filepath.Join(dir, "anchors/gateway-api-state-metrics/config/kuadrant/custom-resource-state.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	base := settle()
	start := time.Now()
	var n int
	switch who {
	case "ours":
		plan, _, err := spec.Load("config", config)
		if err != nil {
			t.Fatal(err)
		}
		if os.Getenv("GOGC") == "" {
			debug.SetGCPercent(engine.OfflineGCPercent) // as render does
		}
		off := engine.NewOffline(plan, nil)
		if err := off.AddFiles([]string{file}, runtime.GOMAXPROCS(0)); err != nil {
			t.Fatal(err)
		}
		cw := &countingWriter{}
		if err := off.WriteTo(cw, exposition.Text); err != nil {
			t.Fatal(err)
		}
		n = cw.n
	case "ksm":
		o, err := NewOracle(config)
		if err != nil {
			t.Fatal(err)
		}
		objs, err := objects.ReadAll(file)
		if err != nil {
			t.Fatal(err)
		}
		if err := o.Add(objs); err != nil {
			t.Fatal(err)
		}
		n = len(o.Write(textAccept))
	}
	fmt.Printf("MEMORY base=%.1f peak=%.1f seconds=%.3f bytes=%d\n", base, memStatus("VmHWM"), time.Since(start).Seconds(), n)
}

type countingWriter struct{ n int }

func (c *countingWriter) Write(p []byte) (int, error) { c.n += len(p); return len(p), nil }

// BenchmarkRenderFile compares `render` on a 10k-route, 1k-Gateway List file
// with KSM's CRS library on the same file and config (the old Kuadrant one),
// each in a fresh process: wall time and peak RSS above the process' start.
func BenchmarkRenderFile(b *testing.B) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		b.Skip("needs Linux /proc")
	}
	refdata.Require(b, "anchors/gateway-api-state-metrics/config/kuadrant")
	file := filepath.Join(b.TempDir(), "list.json")
	writeListFile(b, file, 10000, 1000)
	st, _ := os.Stat(file)
	ours, ksm := child(b, "render-ours:"+file), child(b, "render-ksm:"+file)
	for b.Loop() {
	}
	if ours["bytes"] != ksm["bytes"] {
		b.Fatalf("bodies differ in size: ours %v, KSM %v bytes", ours["bytes"], ksm["bytes"])
	}
	b.ReportMetric(float64(st.Size())/1e6, "file-MB")
	b.ReportMetric(ours["seconds"], "ours-s")
	b.ReportMetric(ksm["seconds"], "ksm-s")
	b.ReportMetric(ours["seconds"]/ksm["seconds"], "ours/ksm-time")
	// The children's CPU includes writing the file's fixture-free start-up
	// (test binary init), the same on both sides.
	b.ReportMetric(ours["cpu"]/ksm["cpu"], "ours/ksm-cpu")
	b.ReportMetric(ours["peak"]-ours["base"], "ours-peak-MB")
	b.ReportMetric(ksm["peak"]-ksm["base"], "ksm-peak-MB")
	b.ReportMetric((ours["peak"]-ours["base"])/(ksm["peak"]-ksm["base"]), "ours/ksm-peak")
}
