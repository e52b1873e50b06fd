// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package live

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/yaml"

	"github.com/kuadrant/gateway-api-metrics-exporter/deploy/test/render"
	"github.com/kuadrant/gateway-api-metrics-exporter/internal/testenv"
)

// prometheusOperatorModule holds the Prometheus Operator's CRDs in
// example/prometheus-operator-crd; deploy/test/go.mod pins its version
// (pins.go keeps the requirement), and the files are read from the module
// cache.
const prometheusOperatorModule = "github.com/prometheus-operator/prometheus-operator"

// prometheusOperatorCRDs returns the files of the ServiceMonitor and
// PrometheusRule CRDs, the kinds under deploy/ renders.
func prometheusOperatorCRDs() ([]string, error) {
	dir, err := testenv.ModuleDir(prometheusOperatorModule, "")
	if err != nil {
		return nil, err
	}
	var files []string
	for _, plural := range []string{"servicemonitors", "prometheusrules"} {
		files = append(files, filepath.Join(dir, "example", "prometheus-operator-crd", "monitoring.coreos.com_"+plural+".yaml"))
	}
	return files, nil
}

// monitoringRendering is a manifest set with ServiceMonitors or
// PrometheusRules.
type monitoringRendering struct {
	name  string
	build func() ([]byte, error)
}

// monitoringRenderings are every Helm chart combination (render.AllChartFeatures)
// with a ServiceMonitor or a PrometheusRule, the kustomize servicemonitor
// overlay, the kustomize PrometheusRule (deploy/rules) and helm-full.
func monitoringRenderings(t *testing.T) []monitoringRendering {
	root := repoRoot(t)
	var out []monitoringRendering
	for _, r := range render.Renderings() {
		switch r.Name {
		case "kustomize-servicemonitor", "rules", "helm-full":
			out = append(out, monitoringRendering{r.Name, func() ([]byte, error) { return r.Build(root) }})
		}
	}
	if len(out) != 3 {
		t.Fatalf("render.Renderings() lacks one of kustomize-servicemonitor, rules, helm-full: found %d", len(out))
	}
	for _, f := range render.AllChartFeatures() {
		if !f.ServiceMonitor && !f.PrometheusRule {
			continue
		}
		out = append(out, monitoringRendering{"helm-" + f.Name(), func() ([]byte, error) {
			return render.Helm(filepath.Join(root, render.ChartPath), "gateway-api-metrics-exporter", render.HelmNamespace, f.Values())
		}})
	}
	return out
}

func isMonitoring(o render.Object) bool {
	return strings.HasPrefix(render.Str(o, "apiVersion"), "monitoring.coreos.com/")
}

// TestMonitoringObjectsOnAPIServer server-side applies (dry run, strict field
// validation) every ServiceMonitor and PrometheusRule under deploy/ to the
// API server with the Prometheus Operator's own CRDs, so their OpenAPI
// schemas check every field: names, types, patterns (durations), required
// fields. What the API server would store must still hold everything that was
// rendered. The rule groups it would store go through `promtool check rules`.
func TestMonitoringObjectsOnAPIServer(t *testing.T) {
	env := testenv.Current(t)
	ctx := context.Background()
	groups := map[string][]string{} // stored spec.groups (JSON) -> renderings
	kinds := map[string]int{}
	renderings := monitoringRenderings(t)
	for _, r := range renderings {
		t.Run(r.name, func(t *testing.T) {
			data, err := r.build()
			if err != nil {
				t.Fatal(err)
			}
			objs, err := render.Objects(data)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, o := range objs {
				if !isMonitoring(o) {
					continue
				}
				n++
				if err := ensureNamespaceOf(ctx, env, o); err != nil {
					t.Fatal(err)
				}
				_, got, err := applyObject(ctx, env, o, true)
				if err != nil {
					t.Error(err)
					continue
				}
				kinds[o.Kind()]++
				if path, ok := contains(jsonValue(t, map[string]any(o)), jsonValue(t, got.Object)); !ok {
					t.Errorf("%s %s: the API server would not store the rendered %s", o.Kind(), o.Name(), path)
				}
				if o.Kind() == "PrometheusRule" {
					b, err := json.Marshal(got.Object["spec"].(map[string]any)["groups"])
					if err != nil {
						t.Fatal(err)
					}
					groups[string(b)] = append(groups[string(b)], r.name)
				}
			}
			if n == 0 {
				t.Fatal("renders no monitoring.coreos.com object")
			}
		})
	}
	t.Logf("%d renderings: %d ServiceMonitors and %d PrometheusRules accepted by the CRDs' schemas (%s %s)",
		len(renderings), kinds["ServiceMonitor"], kinds["PrometheusRule"], prometheusOperatorModule, moduleVersion())
	if kinds["ServiceMonitor"] == 0 || kinds["PrometheusRule"] == 0 {
		t.Fatalf("accepted ServiceMonitors %d, PrometheusRules %d: want some of each", kinds["ServiceMonitor"], kinds["PrometheusRule"])
	}

	t.Run("promtool-check-rules", func(t *testing.T) {
		promtool := requireTool(t, "promtool")
		dir := t.TempDir()
		i := 0
		for g, from := range groups {
			var parsed any
			if err := json.Unmarshal([]byte(g), &parsed); err != nil {
				t.Fatal(err)
			}
			b, err := yaml.Marshal(map[string]any{"groups": parsed})
			if err != nil {
				t.Fatal(err)
			}
			i++
			p := filepath.Join(dir, fmt.Sprintf("rules-%d.yaml", i))
			writeFile(t, p, string(b))
			out, err := exec.Command(promtool, "check", "rules", p).CombinedOutput()
			if err != nil {
				sort.Strings(from)
				t.Errorf("promtool check rules on the stored groups of %s: %v\n%s", strings.Join(from, ", "), err, out)
				continue
			}
			t.Logf("promtool check rules: the groups of %d renderings: %s", len(from), strings.TrimSpace(string(out)))
		}
	})
}

// TestMonitoringCRDsRefuseBadFields: the schemas the previous test relies on
// are the real ones, enforced: a mistyped, misspelt, malformed or missing
// field in a rendered ServiceMonitor or PrometheusRule is refused.
func TestMonitoringCRDsRefuseBadFields(t *testing.T) {
	env := testenv.Current(t)
	data, err := render.Helm(filepath.Join(repoRoot(t), render.ChartPath), "gateway-api-metrics-exporter", render.HelmNamespace,
		render.ChartFeatures{ServiceMonitor: true, PrometheusRule: true}.Values())
	if err != nil {
		t.Fatal(err)
	}
	objs, err := render.Objects(data)
	if err != nil {
		t.Fatal(err)
	}
	byKind := map[string]render.Object{}
	for _, o := range objs {
		if isMonitoring(o) {
			byKind[o.Kind()] = o
		}
	}
	endpoint := func(o render.Object) map[string]any { return render.Map(o, "spec", "endpoints", 0) }
	rule := func(o render.Object) map[string]any { return render.Map(o, "spec", "groups", 0, "rules", 0) }
	for _, c := range []struct {
		name, kind string
		change     func(o render.Object)
		want       string // in the error message
	}{
		{"interval-not-a-duration", "ServiceMonitor", func(o render.Object) { endpoint(o)["interval"] = "30 seconds" }, "interval"},
		{"honorLabels-a-string", "ServiceMonitor", func(o render.Object) { endpoint(o)["honorLabels"] = "yes" }, "honorLabels"},
		{"misspelt-field", "ServiceMonitor", func(o render.Object) { endpoint(o)["honourLabels"] = true }, "honourLabels"},
		{"no-selector", "ServiceMonitor", func(o render.Object) { delete(render.Map(o, "spec"), "selector") }, "selector"},
		{"rule-without-expr", "PrometheusRule", func(o render.Object) { delete(rule(o), "expr") }, "expr"},
		{"for-not-a-duration", "PrometheusRule", func(o render.Object) { rule(o)["for"] = "ten minutes" }, "for"},
	} {
		t.Run(c.name, func(t *testing.T) {
			orig, ok := byKind[c.kind]
			if !ok {
				t.Fatalf("no %s rendered", c.kind)
			}
			if err := ensureNamespaceOf(context.Background(), env, orig); err != nil {
				t.Fatal(err)
			}
			// The unchanged object passes; the changed one must not.
			if _, _, err := applyObject(context.Background(), env, orig, true); err != nil {
				t.Fatalf("unchanged: %v", err)
			}
			o := render.Object(jsonValue(t, map[string]any(orig)).(map[string]any))
			c.change(o)
			_, _, err := applyObject(context.Background(), env, o, true)
			if err == nil {
				t.Fatalf("the API server accepted the %s", c.name)
			}
			// A field unknown to or mistyped for the schema fails the apply
			// request's conversion to the schema's types, which the API server
			// reports as 500 "failed to create typed patch object"
			// (kubernetes/kubernetes#139253); schema validation is 422 Invalid.
			var status apierrors.APIStatus
			if !errors.As(err, &status) || !strings.Contains(err.Error(), c.want) ||
				status.Status().Code/100 != 4 && !strings.Contains(err.Error(), "failed to create typed patch object") {
				t.Fatalf("error %v: want a 4xx status or a typed-patch failure naming %q", err, c.want)
			}
			t.Logf("status %d %s", status.Status().Code, status.Status().Reason)
			t.Logf("refused: %v", err)
		})
	}
}

// jsonValue is v through JSON (numbers become float64), for comparing values
// from YAML and from the API server.
func jsonValue(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// contains reports whether got holds every field of want with the same value
// (got may have more: defaults, metadata the API server sets); if not, it
// returns the path of the first difference.
func contains(want, got any) (string, bool) {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return "", false
		}
		keys := make([]string, 0, len(w))
		for k := range w {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if p, ok := contains(w[k], g[k]); !ok {
				return "." + k + p, false
			}
		}
		return "", true
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return "", false
		}
		for i := range w {
			if p, ok := contains(w[i], g[i]); !ok {
				return fmt.Sprintf("[%d]%s", i, p), false
			}
		}
		return "", true
	default:
		return "", reflect.DeepEqual(want, got)
	}
}

// moduleVersion is the version of prometheusOperatorModule in the build list.
func moduleVersion() string {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Version}}", prometheusOperatorModule).Output()
	if err != nil {
		return "(version unknown)"
	}
	return strings.TrimSpace(string(out))
}
