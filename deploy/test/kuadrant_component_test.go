// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package deploytest

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/kuadrant/gateway-api-metrics-exporter/deploy/test/render"
	"github.com/kuadrant/gateway-api-metrics-exporter/internal/refdata"
)

const (
	kuadrantObservabilityRel = "anchors/kuadrant-current/observability"
	oldKuadrantConfigRel     = "anchors/gateway-api-state-metrics/config/kuadrant/custom-resource-state.yaml"
	replaceComponent         = "deploy/kustomize/components/replace-kuadrant-ksm-crs"
	jobLabelComponent        = "deploy/kustomize/components/ksm-job-label"
)

// kuadrantKSMPatches reads Kuadrant's observability kustomization and returns
// its patchesJson6902 entries that target kube-state-metrics (the Deployment
// and the ClusterRole), as `patches` entries of a kustomization: same target,
// path made absolute in the shared folder.
func kuadrantKSMPatches(t *testing.T, dir, from string) []map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var k struct {
		PatchesJson6902 []struct {
			Target map[string]any `json:"target"`
			Path   string         `json:"path"`
		} `json:"patchesJson6902"`
	}
	if err := yaml.Unmarshal(data, &k); err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	kinds := map[string]bool{}
	for _, p := range k.PatchesJson6902 {
		if p.Target["name"] != "kube-state-metrics" {
			continue
		}
		kinds[p.Target["kind"].(string)] = true
		out = append(out, map[string]any{"target": p.Target, "path": relTo(t, from, filepath.Join(dir, p.Path))})
	}
	if !kinds["Deployment"] || !kinds["ClusterRole"] {
		t.Fatalf("Kuadrant's kustomization no longer patches the kube-state-metrics Deployment and ClusterRole (found %v): revisit the component", kinds)
	}
	return out
}

// relTo is target relative to dir: kustomize refuses absolute paths to
// kustomization directories.
func relTo(t *testing.T, dir, target string) string {
	t.Helper()
	r, err := filepath.Rel(dir, target)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func writeYAML(t *testing.T, path string, v any) {
	t.Helper()
	data, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// kustomizeBuild is `kustomize build --load-restrictor LoadRestrictionsNone`:
// the kustomizations of the test point at files in the shared folder and in
// the repository.
func kustomizeBuild(t *testing.T, dir string) []render.Object {
	t.Helper()
	opts := krusty.MakeDefaultOptions()
	opts.LoadRestrictions = types.LoadRestrictionsNone
	m, err := krusty.MakeKustomizer(opts).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	data, err := m.AsYaml()
	if err != nil {
		t.Fatal(err)
	}
	objs, err := render.Objects(data)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

func find(objs []render.Object, kind, name string) render.Object {
	for _, o := range objs {
		if o.Kind() == kind && o.Name() == name {
			return o
		}
	}
	return nil
}

func ksmContainer(t *testing.T, objs []render.Object) map[string]any {
	t.Helper()
	d := find(objs, "Deployment", "kube-state-metrics")
	if d == nil {
		t.Fatal("no kube-state-metrics Deployment")
	}
	cs := render.List(d, "spec", "template", "spec", "containers")
	for _, c := range cs {
		if render.Str(c, "name") == "kube-state-metrics" {
			return c.(map[string]any)
		}
	}
	t.Fatal("no kube-state-metrics container")
	return nil
}

// TestReplaceKuadrantKSMCRSComponent builds Kuadrant's kube-state-metrics
// setup (its own patches from ../shared, applied with their own targets to a
// stand-in of kube-prometheus' kube-state-metrics, testdata, and the
// custom-resource-state ConfigMap generated from the old kuadrant config), then
// an overlay of it with components/replace-kuadrant-ksm-crs: kube-state-metrics
// stays, with kube-prometheus' own arguments (its built-in families) and no
// CRS flag, volume, mount or ConfigMap, and the exporter is added with its
// RBAC, Service and ServiceMonitor. With components/ksm-job-label too, the
// exporter's metrics endpoint is scraped as job="kube-state-metrics".
func TestReplaceKuadrantKSMCRSComponent(t *testing.T) {
	shared := refdata.Require(t, kuadrantObservabilityRel, oldKuadrantConfigRel)
	root := repoRoot(t)
	tmp := t.TempDir()

	standIn := filepath.Join(root, "deploy/test/testdata/kube-prometheus-ksm")
	before := kustomizeBuild(t, standIn)
	wantArgs := strs(render.List(ksmContainer(t, before), "args"))

	// Kuadrant's setup, as its kustomization builds kube-state-metrics.
	kuadrant := filepath.Join(tmp, "kuadrant")
	writeYAML(t, filepath.Join(kuadrant, "kustomization.yaml"), map[string]any{
		"apiVersion": "kustomize.config.k8s.io/v1beta1",
		"kind":       "Kustomization",
		"resources":  []any{relTo(t, kuadrant, standIn)},
		// What github.com/Kuadrant/gateway-api-state-metrics/config/kuadrant
		// contributes: the config as ConfigMap custom-resource-state.
		"configMapGenerator": []any{map[string]any{
			"name": "custom-resource-state", "namespace": "monitoring",
			"files": []any{relTo(t, kuadrant, filepath.Join(shared, oldKuadrantConfigRel))},
		}},
		"generatorOptions": map[string]any{"disableNameSuffixHash": true},
		"patches":          kuadrantKSMPatches(t, filepath.Join(shared, kuadrantObservabilityRel), kuadrant),
	})
	patched := kustomizeBuild(t, kuadrant)
	crsArgs := strs(render.List(ksmContainer(t, patched), "args"))
	if !slices.Contains(crsArgs, "--custom-resource-state-config-file") || find(patched, "ConfigMap", "custom-resource-state") == nil {
		t.Fatalf("Kuadrant's patches did not make kube-state-metrics a CRS one: args %q", crsArgs)
	}

	overlay := func(components ...string) []render.Object {
		dir := filepath.Join(tmp, "overlay-"+filepath.Base(components[len(components)-1]))
		var cs []any
		for _, c := range components {
			cs = append(cs, relTo(t, dir, filepath.Join(root, c)))
		}
		writeYAML(t, filepath.Join(dir, "kustomization.yaml"), map[string]any{
			"apiVersion": "kustomize.config.k8s.io/v1beta1",
			"kind":       "Kustomization",
			"resources":  []any{relTo(t, dir, kuadrant)},
			"components": cs,
		})
		return kustomizeBuild(t, dir)
	}
	out := overlay(replaceComponent)

	// kube-state-metrics: kube-prometheus' arguments, no CRS.
	c := ksmContainer(t, out)
	if got := strs(render.List(c, "args")); !slices.Equal(got, wantArgs) {
		t.Errorf("kube-state-metrics args %q, want kube-prometheus' own %q", got, wantArgs)
	}
	d := find(out, "Deployment", "kube-state-metrics")
	for _, v := range render.List(d, "spec", "template", "spec", "volumes") {
		t.Errorf("kube-state-metrics keeps volume %v", v)
	}
	for _, m := range render.List(c, "volumeMounts") {
		t.Errorf("kube-state-metrics keeps volume mount %v", m)
	}
	if len(render.List(d, "spec", "template", "spec", "containers")) != 3 {
		t.Errorf("kube-state-metrics lost its kube-rbac-proxy sidecars")
	}
	if find(out, "ConfigMap", "custom-resource-state") != nil {
		t.Errorf("the custom-resource-state ConfigMap is still there")
	}
	for _, kind := range []string{"Service", "ServiceMonitor", "ClusterRole", "ServiceAccount"} {
		if find(out, kind, "kube-state-metrics") == nil {
			t.Errorf("kube-state-metrics' %s is gone", kind)
		}
	}

	// The exporter, in monitoring, with what it needs.
	const ours = "gateway-api-metrics-exporter"
	for _, kind := range []string{"ServiceAccount", "Deployment", "Service", "ServiceMonitor"} {
		o := find(out, kind, ours)
		if o == nil {
			t.Errorf("no %s %s", kind, ours)
		} else if o.Namespace() != "monitoring" {
			t.Errorf("%s %s in namespace %q, want monitoring", kind, ours, o.Namespace())
		}
	}
	role := find(out, "ClusterRole", ours)
	binding := find(out, "ClusterRoleBinding", ours)
	if role == nil || binding == nil {
		t.Fatalf("no ClusterRole/ClusterRoleBinding %s", ours)
	}
	if subj := render.List(binding, "subjects"); len(subj) != 1 || render.Str(subj[0], "name") != ours || render.Str(subj[0], "namespace") != "monitoring" {
		t.Errorf("binding subjects %v", subj)
	}
	granted := map[string]bool{}
	for _, r := range render.List(role, "rules") {
		for _, g := range strs(render.List(r, "apiGroups")) {
			for _, res := range strs(render.List(r, "resources")) {
				granted[g+"/"+res] = true
			}
		}
	}
	for _, want := range []string{"gateway.networking.k8s.io/httproutes", "kuadrant.io/authpolicies", "kuadrant.io/dnsrecords", "apiextensions.k8s.io/customresourcedefinitions"} {
		if !granted[want] {
			t.Errorf("our ClusterRole does not grant %s", want)
		}
	}
	sm := find(out, "ServiceMonitor", ours)
	eps := render.List(sm, "spec", "endpoints")
	if len(eps) == 0 || render.Str(eps[0], "port") != "http-metrics" || render.Get(eps[0], "honorLabels") != true {
		t.Errorf("our ServiceMonitor endpoints %v: want http-metrics with honorLabels", eps)
	}
	for _, a := range strs(render.List(find(out, "Deployment", ours), "spec", "template", "spec", "containers", 0, "args")) {
		if strings.HasPrefix(a, "--custom-resource-state") {
			t.Errorf("our Deployment passes %s: the built-in spec serves the old families and the new ones", a)
		}
	}
	if len(render.List(eps[0], "relabelings")) != 0 {
		t.Errorf("without ksm-job-label the job label is ours: relabelings %v", render.List(eps[0], "relabelings"))
	}

	// With ksm-job-label: job="kube-state-metrics" on the metrics endpoint only.
	out = overlay(replaceComponent, jobLabelComponent)
	eps = render.List(find(out, "ServiceMonitor", ours), "spec", "endpoints")
	rl := render.List(eps[0], "relabelings")
	if len(rl) != 1 || render.Str(rl[0], "targetLabel") != "job" || render.Str(rl[0], "replacement") != "kube-state-metrics" || render.Str(rl[0], "action") != "replace" {
		t.Errorf("ksm-job-label: metrics endpoint relabelings %v", rl)
	}
	for _, ep := range eps[1:] {
		if len(render.List(ep, "relabelings")) != 0 {
			t.Errorf("ksm-job-label relabels endpoint %s too", render.Str(ep, "port"))
		}
	}
	t.Logf("kube-state-metrics args before Kuadrant %q, with Kuadrant's patches %q, after the component %q", wantArgs, crsArgs, strs(render.List(ksmContainer(t, out), "args")))
}

// TestJobLabelComponentOnServiceMonitorOverlay: ksm-job-label also applies to
// the plain servicemonitor overlay.
func TestJobLabelComponentOnServiceMonitorOverlay(t *testing.T) {
	root := repoRoot(t)
	dir := t.TempDir()
	writeYAML(t, filepath.Join(dir, "kustomization.yaml"), map[string]any{
		"apiVersion": "kustomize.config.k8s.io/v1beta1",
		"kind":       "Kustomization",
		"resources":  []any{relTo(t, dir, filepath.Join(root, "deploy/kustomize/overlays/servicemonitor"))},
		"components": []any{relTo(t, dir, filepath.Join(root, jobLabelComponent))},
	})
	eps := render.List(find(kustomizeBuild(t, dir), "ServiceMonitor", "gateway-api-metrics-exporter"), "spec", "endpoints")
	if len(eps) == 0 || render.Str(render.List(eps[0], "relabelings")[0], "replacement") != "kube-state-metrics" {
		t.Errorf("endpoints %v", eps)
	}
}
