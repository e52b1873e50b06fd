// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/kuadrant/gateway-api-metrics-exporter/internal/testenv"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/objects"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/policies"
)

// BenchmarkPolicyCRDs measures the exporter's memory on an API server of its
// own holding 300 CRDs: the real ones of the Gateway API experimental
// channel, Kuadrant (today's, from ../shared, or the repository's minimal
// ones) and Envoy Gateway (its Go module, testenv.EnvoyGatewayVersion), and
// copies of the real CRDs that are no policies, under groups of their own,
// up to 300 (the CRDs of a cluster with a few operators: large schemas, few
// policies). For each exporter binary, one fresh process each: its peak RSS
// (VmHWM) until the first scrape that serves every discovered policy kind
// (the CRD watcher has listed them all), and its RSS then. BENCH_BASE_BIN
// names another build (e.g. of main) measured in the same run, with the
// ratios of ours to it:
//
//	git -C ../main... build -o /tmp/exporter-main ./cmd/gateway-api-metrics-exporter
//	BENCH_BASE_BIN=/tmp/exporter-main go test -run '^$' -bench PolicyCRDs -benchtime 1x -timeout 60m ./e2e
func BenchmarkPolicyCRDs(b *testing.B) {
	testenv.Require(b) // the binaries are there
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	env, err := testenv.Start(ctx, testenv.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = env.Stop() }()
	real, copies, size := crdSet(b, 300)
	for _, set := range [][]string{real, copies} {
		dir := b.TempDir()
		for i, doc := range set {
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%03d.json", i)), []byte(doc), 0o644); err != nil {
				b.Fatal(err)
			}
		}
		if err := env.InstallCRDs(ctx, dir); err != nil {
			b.Fatal(err)
		}
	}
	// The policy kinds the exporter discovers: every one shows its
	// gateway_metrics_up once the CRD watcher has listed them.
	var want []string
	for _, doc := range real {
		v, err := objects.DecodeJSON([]byte(doc))
		if err != nil {
			b.Fatal(err)
		}
		if c, ok := policies.Detect(v.(map[string]any)); ok {
			want = append(want, `kind="`+c.Kind+`"`)
		}
	}
	bins := [][2]string{{"ours", exporterBinary(b)}}
	if base := os.Getenv("BENCH_BASE_BIN"); base != "" {
		bins = append([][2]string{{"base", base}}, bins...)
	}
	peak, rss := map[string]float64{}, map[string]float64{}
	for b.Loop() {
		for _, bin := range bins {
			p := startProcess(b, bin[1], "--kubeconfig="+env.Kubeconfig, "--namespaces=bench")
			for deadline := time.Now().Add(5 * time.Minute); ; time.Sleep(500 * time.Millisecond) {
				body := string(fetch(b, p.url+"/metrics", false))
				missing := 0
				for _, k := range want {
					if !strings.Contains(body, k) {
						missing++
					}
				}
				if missing == 0 {
					break
				}
				if time.Now().After(deadline) {
					b.Fatalf("%s: %d of %d policy kinds never served", bin[0], missing, len(want))
				}
			}
			peak[bin[0]], rss[bin[0]] = p.status("VmHWM"), p.status("VmRSS")
			b.ReportMetric(peak[bin[0]], bin[0]+"-peak-RSS-MB")
			b.ReportMetric(rss[bin[0]], bin[0]+"-RSS-MB")
			_ = p.cmd.Process.Kill()
			_ = p.cmd.Wait()
		}
		if peak["base"] > 0 {
			b.ReportMetric(peak["ours"]/peak["base"], "ours/base-peak-RSS")
			b.ReportMetric(rss["ours"]/rss["base"], "ours/base-RSS")
		}
	}
	b.ReportMetric(float64(len(real)+len(copies)), "crds")
	b.ReportMetric(float64(size)/1e6, "crd-json-MB")
	b.ReportMetric(float64(len(want)), "policy-kinds")
}

// crdSet is the real CRDs (as JSON) and copies of those that are not
// policies, renamed into groups gen-NNN.example.com, up to n in all; size is
// their JSON's bytes.
func crdSet(b *testing.B, n int) (real, copies []string, size int) {
	var dirs []string
	for _, d := range []func() (string, error){
		func() (string, error) { return testenv.GatewayAPICRDDir("experimental") },
		testenv.EnvoyGatewayCRDDir,
	} {
		dir, err := d()
		if err != nil {
			b.Fatal(err)
		}
		dirs = append(dirs, dir)
	}
	if dir, ok := testenv.KuadrantCurrentCRDDir(); ok {
		dirs = append(dirs, dir)
	} else {
		dirs = append(dirs, testenv.KuadrantCRDDir())
	}
	var templates []map[string]any
	for _, dir := range dirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			b.Fatal(err)
		}
		for _, e := range entries {
			if !strings.HasSuffix(e.Name(), ".yaml") {
				continue
			}
			data, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				b.Fatal(err)
			}
			docs, err := testenv.SplitYAML(data)
			if err != nil {
				b.Fatal(err)
			}
			for _, doc := range docs {
				var crd map[string]any
				if err := sigsyaml.Unmarshal(doc, &crd); err != nil {
					b.Fatal(err)
				}
				if crd["kind"] != "CustomResourceDefinition" {
					continue
				}
				js, err := sigsyaml.YAMLToJSON(doc)
				if err != nil {
					b.Fatal(err)
				}
				real = append(real, string(js))
				size += len(js)
				if _, isPolicy := policies.Detect(crd); !isPolicy {
					templates = append(templates, crd)
				}
			}
		}
	}
	for i := 0; len(real)+len(copies) < n; i++ {
		crd := &unstructured.Unstructured{Object: runtime.DeepCopyJSON(templates[i%len(templates)])}
		group := fmt.Sprintf("gen-%03d.example.com", i)
		plural, _, _ := unstructured.NestedString(crd.Object, "spec", "names", "plural")
		_ = unstructured.SetNestedField(crd.Object, group, "spec", "group")
		crd.SetName(plural + "." + group)
		crd.SetLabels(nil)
		crd.SetAnnotations(nil)
		js, err := crd.MarshalJSON()
		if err != nil {
			b.Fatal(err)
		}
		copies = append(copies, string(js))
		size += len(js)
	}
	return real, copies, size
}
