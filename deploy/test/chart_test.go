// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package deploytest

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/lint"
	"helm.sh/helm/v3/pkg/lint/support"
	"sigs.k8s.io/yaml"

	"github.com/kuadrant/gateway-api-metrics-exporter/deploy/test/chartdoc"
	"github.com/kuadrant/gateway-api-metrics-exporter/deploy/test/render"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/spec"
)

func chartDir(t *testing.T) string { return filepath.Join(repoRoot(t), render.ChartPath) }

// badValues are values the schema refuses, each with the words the error
// must contain: the JSON pointer of the value and what is wrong with it.
var badValues = []struct {
	name   string
	values map[string]any
	want   []string
}{
	{"replicas not a number", map[string]any{"replicas": "two"}, []string{"'/replicas'", "got string, want integer"}},
	{"negative replicas", map[string]any{"replicas": -1}, []string{"'/replicas'", "minimum"}},
	{"misspelt key", map[string]any{"replica": 2}, []string{"additional properties 'replica' not allowed"}},
	{"misspelt nested key", map[string]any{"image": map[string]any{"pullpolicy": "Always"}}, []string{"'/image'", "additional properties 'pullpolicy' not allowed"}},
	{"pull policy", map[string]any{"image": map[string]any{"pullPolicy": "Sometimes"}}, []string{"'/image/pullPolicy'", `'Always'`}},
	{"image digest", map[string]any{"image": map[string]any{"sha": "abc"}}, []string{"'/image/sha'", "does not match pattern"}},
	{"port out of range", map[string]any{"service": map[string]any{"port": 70000}}, []string{"'/service/port'", "maximum"}},
	{"service type", map[string]any{"service": map[string]any{"type": "Headless"}}, []string{"'/service/type'", "'ClusterIP'"}},
	{"label value not a string", map[string]any{"dashboards": map[string]any{"labels": map[string]any{"grafana_dashboard": 1}}}, []string{"'/dashboards/labels/grafana_dashboard'", "got number, want string"}},
	{"TLS without a Secret", map[string]any{"webConfig": map[string]any{"enabled": true}}, []string{"'/webConfig/tlsSecretName'", "minLength"}},
	{"scrape interval", map[string]any{"prometheus": map[string]any{"monitor": map[string]any{"interval": "30 seconds"}}}, []string{"'/prometheus/monitor/interval'", "does not match pattern"}},
	{"scheme", map[string]any{"prometheus": map[string]any{"monitor": map[string]any{"scheme": "ftp"}}}, []string{"'/prometheus/monitor/scheme'"}},
	{"CRS config a number", map[string]any{"customResourceState": map[string]any{"config": 5}}, []string{"'/customResourceState/config'", "want string or object"}},
	{"rule without verbs", map[string]any{"rbac": map[string]any{"extraRules": []any{map[string]any{"apiGroups": []any{""}}}}}, []string{"'/rbac/extraRules/0'", "missing property 'verbs'"}},
	{"extraArgs not strings", map[string]any{"extraArgs": []any{map[string]any{"v": 4}}}, []string{"'/extraArgs/0'", "want string"}},
	{"probe period zero", map[string]any{"livenessProbe": map[string]any{"periodSeconds": 0}}, []string{"'/livenessProbe/periodSeconds'", "minimum"}},
	{"env without name", map[string]any{"env": []any{map[string]any{"value": "x"}}}, []string{"'/env/0'", "missing property 'name'"}},
	// Our own keys, and the kube-state-metrics ones the chart accepts, are
	// still checked: a typo is refused, not ignored.
	{"misspelt namespaces", map[string]any{"namespace": "a"}, []string{"additional properties 'namespace' not allowed"}},
	{"misspelt metricAllowlist", map[string]any{"metricAllowList": []any{"a"}}, []string{"additional properties 'metricAllowList' not allowed"}},
	{"misspelt nodePort", map[string]any{"service": map[string]any{"nodeport": 30080}}, []string{"'/service'", "additional properties 'nodeport' not allowed"}},
	{"misspelt probe key", map[string]any{"startupProbe": map[string]any{"enable": true}}, []string{"'/startupProbe'", "additional properties 'enable' not allowed"}},
	{"probe scheme", map[string]any{"livenessProbe": map[string]any{"httpGet": map[string]any{"scheme": "ftp"}}}, []string{"'/livenessProbe/httpGet/scheme'"}},
	{"namespaces a number", map[string]any{"namespaces": 3}, []string{"'/namespaces'"}},
	{"nodePort out of range", map[string]any{"service": map[string]any{"nodePort": 70000}}, []string{"'/service/nodePort'", "maximum"}},
}

// TestChartSchemaRefusesBadValues: install/template (the same code path as
// `helm install`) and `helm lint` refuse each bad value, naming it.
func TestChartSchemaRefusesBadValues(t *testing.T) {
	dir := chartDir(t)
	for _, c := range badValues {
		t.Run(c.name, func(t *testing.T) {
			_, err := render.Helm(dir, "gateway-api-metrics-exporter", render.HelmNamespace, c.values)
			if err == nil {
				t.Fatalf("install accepted %v", c.values)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("install error lacks %q:\n%v", w, err)
				}
			}
			if !strings.Contains(err.Error(), "values don't meet the specifications of the schema") {
				t.Errorf("install error does not say it is the schema:\n%v", err)
			}
			msgs := lintErrors(dir, c.values)
			if len(msgs) == 0 {
				t.Fatalf("helm lint accepted %v", c.values)
			}
			joined := strings.Join(msgs, "\n")
			for _, w := range c.want {
				if !strings.Contains(joined, w) {
					t.Errorf("helm lint errors lack %q:\n%s", w, joined)
				}
			}
		})
	}
}

// lintErrors runs `helm lint` (its library) and returns the error messages.
func lintErrors(dir string, values map[string]any) []string {
	var out []string
	for _, m := range lint.AllWithKubeVersion(dir, values, render.HelmNamespace, nil).Messages {
		if m.Severity >= support.ErrorSev {
			out = append(out, m.Err.Error())
		}
	}
	return out
}

// TestChartLintClean: the chart lints without errors with its defaults and
// with every feature on.
func TestChartLintClean(t *testing.T) {
	dir := chartDir(t)
	all := render.ChartFeatures{Sharded: true, ServiceMonitor: true, PrometheusRule: true, Dashboards: true, TLS: true, CustomCRS: true}
	for _, v := range []map[string]any{nil, all.Values(), render.HelmFullValues(), render.HelmShardedValues()} {
		if msgs := lintErrors(dir, v); len(msgs) > 0 {
			t.Errorf("helm lint with %v:\n%s", v, strings.Join(msgs, "\n"))
		}
	}
}

// TestChartSchemaTypesEveryValue: every key of values.yaml is described by
// the schema (chartdoc fails on one that is not), and the README's values
// table is the generated one.
func TestChartReadmeInSync(t *testing.T) {
	dir := chartDir(t)
	want, err := chartdoc.README(dir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s/README.md is out of date: run make generate", render.ChartPath)
	}
	rows, err := chartdoc.Rows(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"image.repository", "webConfig.tlsSecretName", "dashboards.labels", "prometheus.monitor.interval", "autosharding.enabled"} {
		if !slices.ContainsFunc(rows, func(r chartdoc.Row) bool { return r.Key == key }) {
			t.Errorf("README values table has no row for %s", key)
		}
	}
}

// TestChartdocRefusesUndescribedKey: a values.yaml key the schema lacks is
// an error, so a new value cannot be added without typing it.
func TestChartdocRefusesUndescribedKey(t *testing.T) {
	dir := t.TempDir()
	src := chartDir(t)
	for _, f := range []string{"values.schema.json", "README.md"} {
		data, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	values, err := os.ReadFile(filepath.Join(src, "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "values.yaml"), append(values, "newKnob: 3\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := chartdoc.Rows(dir); err == nil || !strings.Contains(err.Error(), "values.yaml key newKnob is not in values.schema.json") {
		t.Errorf("got %v", err)
	}
}

// TestChartDashboardsInSync: the chart's copies of the dashboards are the
// generated ones.
func TestChartDashboardsInSync(t *testing.T) {
	root := repoRoot(t)
	src, _ := filepath.Glob(filepath.Join(root, "deploy/dashboards/*.json"))
	var want []string
	for _, p := range src {
		if filepath.Base(p) != "expressions.json" {
			want = append(want, filepath.Base(p))
		}
	}
	copies, _ := filepath.Glob(filepath.Join(chartDir(t), "files/dashboards/*.json"))
	var got []string
	for _, p := range copies {
		got = append(got, filepath.Base(p))
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("chart dashboards %v, deploy/dashboards %v: run make generate", got, want)
	}
	for _, f := range want {
		if !bytes.Equal(readRepoFile(t, "deploy/dashboards/"+f), readRepoFile(t, render.ChartPath+"/files/dashboards/"+f)) {
			t.Errorf("%s/files/dashboards/%s differs from deploy/dashboards/%s: run make generate", render.ChartPath, f, f)
		}
	}
}

// TestChartCombinations renders all 64 combinations of the optional parts
// and checks that each part is there exactly when it is on, wired into the
// workload.
func TestChartCombinations(t *testing.T) {
	dir := chartDir(t)
	root := repoRoot(t)
	dashboardFiles, _ := filepath.Glob(filepath.Join(root, "deploy/dashboards/*.json"))
	nDashboards := len(dashboardFiles) - 1 // expressions.json is not a dashboard
	for _, f := range render.AllChartFeatures() {
		t.Run(f.Name(), func(t *testing.T) {
			data, err := render.Helm(dir, "gateway-api-metrics-exporter", render.HelmNamespace, f.Values())
			if err != nil {
				t.Fatal(err)
			}
			objs, err := render.Objects(data)
			if err != nil {
				t.Fatal(err)
			}
			count := map[string]int{}
			var workload, webConfig, crs render.Object
			var dashboards []render.Object
			for _, o := range objs {
				count[o.Kind()]++
				switch {
				case o.Kind() == "Deployment" || o.Kind() == "StatefulSet":
					workload = o
				case o.Kind() == "Secret" && strings.HasSuffix(o.Name(), "-web-config"):
					webConfig = o
				case o.Kind() == "ConfigMap" && render.Str(o, "metadata", "labels", "grafana_dashboard") == "1":
					dashboards = append(dashboards, o)
				case o.Kind() == "ConfigMap" && strings.HasSuffix(o.Name(), "-customresourcestate-config"):
					crs = o
				}
				if o.Namespace() == "" && !slices.Contains([]string{"ClusterRole", "ClusterRoleBinding"}, o.Kind()) {
					t.Errorf("%s %s has no namespace", o.Kind(), o.Name())
				}
			}
			expect := func(what string, got, want int) {
				if got != want {
					t.Errorf("%s: %d, want %d", what, got, want)
				}
			}
			expect("StatefulSets", count["StatefulSet"], b2i(f.Sharded))
			expect("Deployments", count["Deployment"], b2i(!f.Sharded))
			expect("sharding Roles", count["Role"], b2i(f.Sharded))
			expect("ServiceMonitors", count["ServiceMonitor"], b2i(f.ServiceMonitor))
			expect("PrometheusRules", count["PrometheusRule"], b2i(f.PrometheusRule))
			expect("dashboard ConfigMaps", len(dashboards), nDashboards*b2i(f.Dashboards))
			expect("web config Secrets", count["Secret"], b2i(f.TLS))
			expect("CRS ConfigMaps", b2i(crs != nil), b2i(f.CustomCRS))

			c := render.Map(workload, "spec", "template", "spec", "containers", 0)
			var args []string
			for _, a := range render.List(c, "args") {
				args = append(args, a.(string))
			}
			has := func(arg string) bool { return slices.Contains(args, arg) }
			if has("--pod=$(POD_NAME)") != f.Sharded {
				t.Errorf("args %q: --pod iff sharded", args)
			}
			if has("--tls-config=/etc/web-config/web-config.yaml") != f.TLS {
				t.Errorf("args %q: --tls-config iff TLS", args)
			}
			if has("--custom-resource-state-config-file=/etc/customresourcestate/config.yaml") != f.CustomCRS {
				t.Errorf("args %q: --custom-resource-state-config-file iff custom CRS", args)
			}
			wantScheme := ""
			if f.TLS {
				wantScheme = "HTTPS"
			}
			for _, probe := range []string{"livenessProbe", "readinessProbe"} {
				if s := render.Str(c, probe, "httpGet", "scheme"); s != wantScheme {
					t.Errorf("%s scheme %q, want %q", probe, s, wantScheme)
				}
			}
			// Every mount has its volume.
			volumes := map[string]any{}
			for _, v := range render.List(workload, "spec", "template", "spec", "volumes") {
				volumes[render.Str(v, "name")] = v
			}
			for _, m := range render.List(c, "volumeMounts") {
				if volumes[render.Str(m, "name")] == nil {
					t.Errorf("volumeMount %s has no volume", render.Str(m, "name"))
				}
			}
			if f.TLS {
				if s := render.Str(volumes["tls"], "secret", "secretName"); s != render.TLSSecretName {
					t.Errorf("tls volume Secret %q", s)
				}
				var wc map[string]any
				if err := yaml.Unmarshal([]byte(render.Str(webConfig, "stringData", "web-config.yaml")), &wc); err != nil {
					t.Fatal(err)
				}
				want := map[string]any{"cert_file": "/etc/tls/tls.crt", "key_file": "/etc/tls/tls.key", "min_version": "TLS13"}
				for k, v := range want {
					if render.Get(wc, "tls_server_config", k) != v {
						t.Errorf("web config tls_server_config.%s = %v, want %v", k, render.Get(wc, "tls_server_config", k), v)
					}
				}
			}
			if f.CustomCRS {
				cfg := render.Str(crs, "data", "config.yaml")
				plan, _, err := spec.Load("config.yaml", []byte(cfg))
				if err != nil {
					t.Fatalf("the rendered CRS config does not compile: %v", err)
				}
				if len(plan.Kinds) != 1 || plan.Kinds[0].GVK.Kind != "Gateway" {
					t.Errorf("rendered CRS config has kinds %v", plan.Kinds)
				}
			}
			for _, d := range dashboards {
				if d.Namespace() != render.HelmNamespace || render.Str(d, "metadata", "annotations", "k8s-sidecar-target-directory") != "gateway-api" {
					t.Errorf("dashboard ConfigMap %s: namespace %s, annotations %v", d.Name(), d.Namespace(), render.Map(d, "metadata", "annotations"))
				}
				data := render.Map(d, "data")
				if len(data) != 1 {
					t.Fatalf("dashboard ConfigMap %s has %d keys", d.Name(), len(data))
				}
				for file, content := range data {
					if !bytes.Equal([]byte(content.(string)), bytes.TrimRight(readRepoFile(t, "deploy/dashboards/"+file), "\n")) {
						t.Errorf("ConfigMap %s: %s is not deploy/dashboards/%s", d.Name(), file, file)
					}
				}
			}
		})
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
