// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package deploytest

import (
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/kuadrant/gateway-api-metrics-exporter/deploy/test/chartdoc"
	"github.com/kuadrant/gateway-api-metrics-exporter/deploy/test/render"
	"github.com/kuadrant/gateway-api-metrics-exporter/internal/refdata"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/app"
)

// ksmImageSwap is what a user changes in a kube-state-metrics values file:
// the image, and nothing else.
var ksmImageSwap = map[string]any{"registry": "ghcr.io", "repository": "kuadrant/gateway-api-metrics-exporter", "tag": "v0.0.0-test"}

func readValues(t *testing.T, path string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return v
}

// ignoredKeys are the dotted paths the schema describes as ignored.
func ignoredKeys(t *testing.T) []string {
	t.Helper()
	rows, err := chartdoc.Ignored(chartDir(t))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rows {
		out = append(out, r.Key)
	}
	return out
}

func has(values map[string]any, path string) bool {
	var v any = values
	for _, k := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return false
		}
		if v, ok = m[k]; !ok {
			return false
		}
	}
	return true
}

func containerOf(t *testing.T, objs []render.Object) (render.Object, map[string]any) {
	t.Helper()
	var w render.Object
	for _, kind := range []string{"Deployment", "StatefulSet"} {
		if l := byKind(objs, kind); len(l) == 1 {
			w = l[0]
		}
	}
	if w == nil {
		t.Fatal("no Deployment or StatefulSet")
	}
	cs := render.List(w, "spec", "template", "spec", "containers")
	if len(cs) == 0 {
		t.Fatal("no container")
	}
	return w, cs[0].(map[string]any)
}

// TestChartAcceptsKSMChartValues: kube-state-metrics' own chart values
// (../shared/anchors/ksm-chart/values.yaml, chart 8.4.0), with only the image
// swapped, pass the schema, lint clean, render a working exporter, and NOTES
// names every key that cannot apply.
func TestChartAcceptsKSMChartValues(t *testing.T) {
	path := filepath.Join(refdata.Require(t, "anchors/ksm-chart/values.yaml"), "anchors/ksm-chart/values.yaml")
	values := readValues(t, path)
	values["image"] = ksmImageSwap
	manifest, notes, err := render.HelmWithNotes(chartDir(t), "kube-state-metrics", render.HelmNamespace, values)
	if err != nil {
		t.Fatalf("kube-state-metrics' chart values refused: %v", err)
	}
	if msgs := lintErrors(chartDir(t), values); len(msgs) > 0 {
		t.Errorf("helm lint with kube-state-metrics' chart values:\n%s", strings.Join(msgs, "\n"))
	}
	objs, err := render.Objects(manifest)
	if err != nil {
		t.Fatal(err)
	}
	_, c := containerOf(t, objs)
	checkArgsParse(t, c)
	for _, name := range []string{"livenessProbe", "readinessProbe"} {
		if s := render.Str(c, name, "httpGet", "scheme"); s != "" {
			t.Errorf("%s scheme %q: KSM's lowercase http must render as the default (HTTP)", name, s)
		}
	}
	var want []string
	for _, k := range ignoredKeys(t) {
		if has(values, k) {
			want = append(want, k)
		}
	}
	if len(want) < 10 {
		t.Errorf("only %d ignored keys in kube-state-metrics' values (%v): is the schema's list complete?", len(want), want)
	}
	for _, k := range want {
		if !noteNames(notes, k) {
			t.Errorf("NOTES.txt does not name the ignored value %s:\n%s", k, notes)
		}
	}
	t.Logf("kube-state-metrics' chart values accepted; ignored and named in NOTES: %v", want)
}

func noteNames(notes, key string) bool {
	_, list, ok := strings.Cut(notes, "Ignored kube-state-metrics chart values")
	if !ok {
		return false
	}
	list, _, _ = strings.Cut(list, ".\n")
	return regexp.MustCompile(`[ ,\n]` + regexp.QuoteMeta(key) + `[,.\n]|[ ,\n]` + regexp.QuoteMeta(key) + `$`).MatchString(list)
}

// checkArgsParse: the rendered command line is one the exporter accepts.
func checkArgsParse(t *testing.T, c map[string]any) *app.Options {
	t.Helper()
	args := strs(render.List(c, "args"))
	o, err := app.Parse(args, io.Discard)
	if err != nil {
		t.Fatalf("the exporter refuses the rendered args %q: %v", args, err)
	}
	return o
}

// TestChartKSMValuesWork: a custom-resource-state-only kube-state-metrics
// values file (testdata, written the way kube-state-metrics documents it),
// image swapped: every key is accepted, and namespaces, namespacesDenylist,
// metricAllowlist, podDisruptionBudget, the probes, updateStrategy and
// service.nodePort take effect in the rendered objects and flags.
func TestChartKSMValuesWork(t *testing.T) {
	values := readValues(t, "testdata/ksm-crs-only-values.yaml")
	values["image"] = ksmImageSwap
	manifest, notes, err := render.HelmWithNotes(chartDir(t), "ksm", render.HelmNamespace, values)
	if err != nil {
		t.Fatalf("CRS-only kube-state-metrics values refused: %v", err)
	}
	if msgs := lintErrors(chartDir(t), values); len(msgs) > 0 {
		t.Errorf("helm lint:\n%s", strings.Join(msgs, "\n"))
	}
	objs, err := render.Objects(manifest)
	if err != nil {
		t.Fatal(err)
	}
	w, c := containerOf(t, objs)
	o := checkArgsParse(t, c)
	if !slices.Equal(o.Namespaces, []string{"apps", "edge"}) || !slices.Equal(o.NamespacesDeny, []string{"kube-system"}) {
		t.Errorf("--namespaces %q, --namespaces-denylist %q; want [apps edge], [kube-system]", o.Namespaces, o.NamespacesDeny)
	}
	if !slices.Equal(o.MetricAllowlist, []string{"gatewayapi_gateway_.*", "gatewayapi_httproute_.*"}) {
		t.Errorf("--metric-allowlist %q", o.MetricAllowlist)
	}
	if o.CRSConfigFile == "" {
		t.Errorf("customResourceState.enabled: no --custom-resource-state-config-file in %q", strs(render.List(c, "args")))
	}
	if render.Str(c, "image") != "ghcr.io/kuadrant/gateway-api-metrics-exporter:v0.0.0-test" {
		t.Errorf("image %s", render.Str(c, "image"))
	}

	// podDisruptionBudget: a PDB over exactly the exporter's pods.
	pdb := one(t, objs, "PodDisruptionBudget")
	if render.Get(pdb, "spec", "maxUnavailable") != float64(1) {
		t.Errorf("PDB spec %v, want maxUnavailable 1", render.Map(pdb, "spec"))
	}
	sel := render.Map(pdb, "spec", "selector", "matchLabels")
	podLabels := render.Map(w, "spec", "template", "metadata", "labels")
	if len(sel) == 0 {
		t.Errorf("PDB without a selector")
	}
	for k, v := range sel {
		if podLabels[k] != v {
			t.Errorf("PDB selector %s=%v does not match the pods' labels %v", k, v, podLabels)
		}
	}

	// updateStrategy: the Deployment's strategy.
	if got := render.Map(w, "spec", "strategy"); render.Get(got, "type") != "RollingUpdate" || render.Get(got, "rollingUpdate", "maxSurge") != float64(0) {
		t.Errorf("Deployment strategy %v", got)
	}

	// The probes: KSM's shape (timings, httpGet.httpHeaders and scheme) on
	// the exporter's own paths and ports.
	for _, p := range []struct {
		name, path string
		port       float64
		header     string
		field      string
		want       float64
	}{
		{"startupProbe", "/healthz", 8080, "startup", "failureThreshold", 30},
		{"livenessProbe", "/healthz", 8080, "liveness", "initialDelaySeconds", 15},
		{"readinessProbe", "/readyz", 8081, "", "timeoutSeconds", 3},
	} {
		pr := render.Map(c, p.name)
		if pr == nil {
			t.Errorf("no %s", p.name)
			continue
		}
		if render.Str(pr, "httpGet", "path") != p.path || render.Get(pr, "httpGet", "port") != p.port {
			t.Errorf("%s GETs %v", p.name, render.Map(pr, "httpGet"))
		}
		if render.Get(pr, p.field) != p.want {
			t.Errorf("%s.%s = %v, want %v", p.name, p.field, render.Get(pr, p.field), p.want)
		}
		hs := render.List(pr, "httpGet", "httpHeaders")
		if p.header != "" && (len(hs) != 1 || render.Str(hs[0], "value") != p.header) {
			t.Errorf("%s httpHeaders %v, want X-Probe: %s", p.name, hs, p.header)
		}
		if render.Get(pr, "enabled") != nil {
			t.Errorf("%s carries the chart's 'enabled' into the pod spec", p.name)
		}
	}

	// service.nodePort.
	svc := one(t, objs, "Service")
	ports := render.List(svc, "spec", "ports")
	if render.Str(svc, "spec", "type") != "NodePort" || len(ports) == 0 || render.Get(ports[0], "nodePort") != float64(30080) {
		t.Errorf("Service type %s, ports %v; want NodePort with nodePort 30080", render.Str(svc, "spec", "type"), ports)
	}

	// The keys that cannot apply are named.
	for _, k := range []string{"collectors", "kubeRBACProxy"} {
		if !noteNames(notes, k) {
			t.Errorf("NOTES.txt does not name %s:\n%s", k, notes)
		}
	}
	if strings.Contains(notes, "kube-state-metrics' image") {
		t.Errorf("NOTES warns about the image although it was swapped:\n%s", notes)
	}
	// Without the swap, NOTES says the image is kube-state-metrics'.
	values = readValues(t, "testdata/ksm-crs-only-values.yaml")
	if _, notes, err = render.HelmWithNotes(chartDir(t), "ksm", render.HelmNamespace, values); err != nil || !strings.Contains(notes, "kube-state-metrics' image") {
		t.Errorf("NOTES does not warn that the image is still kube-state-metrics' (%v):\n%s", err, notes)
	}
}

// TestChartKSMValuesVariants: the other shapes kube-state-metrics' chart
// accepts for the same keys.
func TestChartKSMValuesVariants(t *testing.T) {
	dir := chartDir(t)
	render1 := func(values map[string]any) ([]render.Object, render.Object, *app.Options) {
		t.Helper()
		manifest, err := render.Helm(dir, "ksm", render.HelmNamespace, values)
		if err != nil {
			t.Fatalf("%v: %v", values, err)
		}
		objs, err := render.Objects(manifest)
		if err != nil {
			t.Fatal(err)
		}
		w, c := containerOf(t, objs)
		return objs, w, checkArgsParse(t, c)
	}
	// namespaces as a comma-separated string, plus the release namespace;
	// namespacesDenylist as a list; the denylist of families.
	_, _, o := render1(map[string]any{"namespaces": "a,b", "releaseNamespace": true, "namespacesDenylist": []any{"x", "y"}, "metricDenylist": []any{"gatewayapi_policy_.*"}})
	if !slices.Equal(o.Namespaces, []string{"a", "b", render.HelmNamespace}) || !slices.Equal(o.NamespacesDeny, []string{"x", "y"}) || !slices.Equal(o.Denylist, []string{"gatewayapi_policy_.*"}) {
		t.Errorf("namespaces %q, denylist %q, metric denylist %q", o.Namespaces, o.NamespacesDeny, o.Denylist)
	}
	// Defaults: no namespace or family flag, no PDB, no startup probe.
	objs, w, o := render1(nil)
	if len(o.Namespaces)+len(o.NamespacesDeny)+len(o.MetricAllowlist)+len(o.Denylist) != 0 || len(byKind(objs, "PodDisruptionBudget")) != 0 ||
		render.Get(w, "spec", "template", "spec", "containers", 0, "startupProbe") != nil || render.Get(w, "spec", "strategy") != nil {
		t.Errorf("defaults render namespace/family flags, a PDB, a startup probe or a strategy")
	}
	// updateStrategy with autosharding: the StatefulSet's updateStrategy.
	_, w, _ = render1(map[string]any{"autosharding": map[string]any{"enabled": true}, "updateStrategy": map[string]any{"type": "OnDelete"}})
	if w.Kind() != "StatefulSet" || render.Str(w, "spec", "updateStrategy", "type") != "OnDelete" {
		t.Errorf("%s updateStrategy %v", w.Kind(), render.Map(w, "spec", "updateStrategy"))
	}
	// https probes (KSM's httpGet.scheme) go with the exporter's own scheme.
	_, w, _ = render1(map[string]any{"livenessProbe": map[string]any{"httpGet": map[string]any{"scheme": "https"}}})
	if render.Str(w, "spec", "template", "spec", "containers", 0, "livenessProbe", "httpGet", "scheme") != "HTTPS" {
		t.Errorf("livenessProbe.httpGet.scheme https not rendered as HTTPS")
	}
	// Both family lists: refused, as the exporter would refuse the flags.
	if _, err := render.Helm(dir, "ksm", render.HelmNamespace, map[string]any{"metricAllowlist": []any{"a"}, "metricDenylist": []any{"b"}}); err == nil || !strings.Contains(err.Error(), "mutually exclusive") {
		t.Errorf("both metricAllowlist and metricDenylist: %v", err)
	}
}

// TestChartIgnoredKeysInNotes: the keys NOTES.txt knows as ignored are the
// ones the schema describes as ignored, and each one set alone is named.
func TestChartIgnoredKeysInNotes(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(chartDir(t), "templates", "NOTES.txt"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`range \$path := list ((?:"[^"]+" ?)+)`).FindSubmatch(data)
	if m == nil {
		t.Fatal("NOTES.txt: no list of ignored keys")
	}
	var inNotes []string
	for _, q := range regexp.MustCompile(`"([^"]+)"`).FindAllSubmatch(m[1], -1) {
		inNotes = append(inNotes, string(q[1]))
	}
	sort.Strings(inNotes)
	schema := ignoredKeys(t)
	if !slices.Equal(inNotes, schema) {
		t.Errorf("NOTES.txt names %v\nthe schema ignores %v", inNotes, schema)
	}
	for _, k := range schema {
		values := map[string]any{}
		cur := values
		parts := strings.Split(k, ".")
		for _, p := range parts[:len(parts)-1] {
			next := map[string]any{}
			cur[p] = next
			cur = next
		}
		cur[parts[len(parts)-1]] = map[string]any{"enabled": true}
		_, notes, err := render.HelmWithNotes(chartDir(t), "x", render.HelmNamespace, values)
		if err != nil {
			t.Errorf("%s set: %v", k, err)
			continue
		}
		if !noteNames(notes, k) {
			t.Errorf("%s set, NOTES.txt:\n%s", k, notes)
		}
	}
	if _, notes, _ := render.HelmWithNotes(chartDir(t), "x", render.HelmNamespace, nil); strings.Contains(notes, "Ignored") {
		t.Errorf("NOTES with the defaults names ignored values:\n%s", notes)
	}
}

// TestChartJobName: prometheus.monitor.jobName relabels the metrics
// endpoint's job (for rules that select job="kube-state-metrics"), before the
// user's own relabelings, and leaves the telemetry endpoint alone.
func TestChartJobName(t *testing.T) {
	values := map[string]any{
		"selfMonitor": map[string]any{"enabled": true},
		"prometheus": map[string]any{"monitor": map[string]any{"enabled": true, "jobName": "kube-state-metrics",
			"relabelings": []any{map[string]any{"action": "labeldrop", "regex": "pod"}}}},
	}
	manifest, err := render.Helm(chartDir(t), "x", render.HelmNamespace, values)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := render.Objects(manifest)
	if err != nil {
		t.Fatal(err)
	}
	eps := render.List(one(t, objs, "ServiceMonitor"), "spec", "endpoints")
	if len(eps) != 2 {
		t.Fatalf("endpoints %v", eps)
	}
	rl := render.List(eps[0], "relabelings")
	if render.Str(eps[0], "port") != "http-metrics" || len(rl) != 2 || render.Str(rl[0], "targetLabel") != "job" ||
		render.Str(rl[0], "replacement") != "kube-state-metrics" || render.Str(rl[1], "action") != "labeldrop" {
		t.Errorf("metrics endpoint relabelings %v", rl)
	}
	for _, r := range render.List(eps[1], "relabelings") {
		if render.Str(r, "targetLabel") == "job" {
			t.Errorf("telemetry endpoint relabels job: %v", r)
		}
	}
}
