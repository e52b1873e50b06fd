// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package live

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/kuadrant/gateway-api-metrics-exporter/deploy/test/render"
	"github.com/kuadrant/gateway-api-metrics-exporter/internal/refdata"
	"github.com/kuadrant/gateway-api-metrics-exporter/internal/testenv"
)

// TestKSMValuesOnAPIServer renders the chart with kube-state-metrics' own
// chart values and with the CRS-only values file of deploy/test/testdata
// (image swapped) and server-side applies every object as a dry run with
// strict field validation: the PodDisruptionBudget, the probes in
// kube-state-metrics' shape, the update strategy, the NodePort Service and
// the ServiceMonitor are objects the API server accepts as they are.
func TestKSMValuesOnAPIServer(t *testing.T) {
	env := testenv.Current(t)
	root := repoRoot(t)
	files := []string{filepath.Join(root, "deploy/test/testdata/ksm-crs-only-values.yaml")}
	if dir, ok := refdata.Optional(t, "anchors/ksm-chart/values.yaml"); ok {
		files = append(files, filepath.Join(dir, "anchors/ksm-chart/values.yaml"))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var values map[string]any
			if err := yaml.Unmarshal(data, &values); err != nil {
				t.Fatal(err)
			}
			values["image"] = map[string]any{"registry": "ghcr.io", "repository": "kuadrant/gateway-api-metrics-exporter", "tag": "v0.0.0-test"}
			manifest, err := render.Helm(filepath.Join(root, render.ChartPath), "ksm-values", render.HelmNamespace, values)
			if err != nil {
				t.Fatal(err)
			}
			objs, err := render.Objects(manifest)
			if err != nil {
				t.Fatal(err)
			}
			kinds := map[string]int{}
			for _, o := range objs {
				if _, _, err := applyObject(context.Background(), env, o, true); err != nil {
					t.Error(err)
				}
				kinds[o.Kind()]++
			}
			t.Logf("%d objects accepted by the API server (dry run, strict): %v", len(objs), kinds)
		})
	}
}
