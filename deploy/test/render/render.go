// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

// Package render builds the deployment manifests under deploy/ (kustomize
// bases and overlays, the Helm chart) in-process, without kubectl, kustomize
// or helm binaries, so that tests can check them and so that they can be
// applied to a real API server.
package render

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// KubeVersion is the Kubernetes version the Helm chart is rendered for.
const KubeVersion = "v1.37.2"

// ChartPath is the Helm chart, relative to the repository root.
const ChartPath = "deploy/helm/gateway-api-metrics-exporter"

// HelmNamespace is the namespace the Helm renderings are installed into.
const HelmNamespace = "monitoring"

// Kustomize builds the kustomization in dir (like `kustomize build dir`).
func Kustomize(dir string) ([]byte, error) {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	return m.AsYaml()
}

// Helm renders the chart in chartDir like `helm template` (an install dry
// run that does not contact any cluster).
func Helm(chartDir, release, namespace string, values map[string]any) ([]byte, error) {
	manifest, _, err := HelmWithNotes(chartDir, release, namespace, values)
	return manifest, err
}

// HelmWithNotes is Helm, also returning the rendered NOTES.txt.
func HelmWithNotes(chartDir, release, namespace string, values map[string]any) (manifest []byte, notes string, err error) {
	chrt, err := loader.Load(chartDir)
	if err != nil {
		return nil, "", fmt.Errorf("load chart %s: %w", chartDir, err)
	}
	kv, err := chartutil.ParseKubeVersion(KubeVersion)
	if err != nil {
		return nil, "", err
	}
	install := action.NewInstall(&action.Configuration{})
	install.DryRun = true
	install.ClientOnly = true
	install.Replace = true
	install.ReleaseName = release
	install.Namespace = namespace
	install.KubeVersion = kv
	install.APIVersions = chartutil.VersionSet{"monitoring.coreos.com/v1"}
	if values == nil {
		values = map[string]any{}
	}
	rel, err := install.Run(chrt, values)
	if err != nil {
		return nil, "", fmt.Errorf("render chart %s: %w", chartDir, err)
	}
	var buf bytes.Buffer
	buf.WriteString(rel.Manifest)
	for _, h := range rel.Hooks {
		buf.WriteString("\n---\n# Source: " + h.Path + "\n" + h.Manifest)
	}
	return buf.Bytes(), rel.Info.Notes, nil
}

// Object is one decoded manifest.
type Object map[string]any

// Objects splits a multi-document YAML stream into objects, skipping empty
// documents.
func Objects(manifests []byte) ([]Object, error) {
	var out []Object
	for i, doc := range splitDocuments(manifests) {
		var o Object
		if err := yaml.Unmarshal([]byte(doc), &o); err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		if len(o) == 0 {
			continue
		}
		out = append(out, o)
	}
	return out, nil
}

func splitDocuments(s []byte) []string {
	var docs []string
	var cur strings.Builder
	for _, line := range strings.Split(string(s), "\n") {
		if strings.TrimRight(line, " \t\r") == "---" {
			docs = append(docs, cur.String())
			cur.Reset()
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
	}
	return append(docs, cur.String())
}

// Kind returns the object's kind.
func (o Object) Kind() string { s, _ := o["kind"].(string); return s }

// Name returns metadata.name.
func (o Object) Name() string { return Str(o, "metadata", "name") }

// Namespace returns metadata.namespace.
func (o Object) Namespace() string { return Str(o, "metadata", "namespace") }

// Get walks a path of map keys and list indexes (int).
func Get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				if o, ok2 := v.(Object); ok2 {
					m = o
				} else {
					return nil
				}
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k < 0 || k >= len(l) {
				return nil
			}
			v = l[k]
		default:
			return nil
		}
	}
	return v
}

// Str is Get for a string value ("" when absent).
func Str(v any, path ...any) string { s, _ := Get(v, path...).(string); return s }

// List is Get for a list value.
func List(v any, path ...any) []any { l, _ := Get(v, path...).([]any); return l }

// Map is Get for a map value.
func Map(v any, path ...any) map[string]any {
	switch m := Get(v, path...).(type) {
	case map[string]any:
		return m
	case Object:
		return m
	}
	return nil
}

// Rendering is one named set of manifests.
type Rendering struct {
	// Name is a short file-name-safe name, e.g. "kustomize-base".
	Name string
	// Source is the directory it was built from, relative to the repo root.
	Source string
	// Description says what it is.
	Description string
	// Helm values used, for Helm renderings.
	Values map[string]any
	build  func(root string) ([]byte, error)
}

// Build renders r for the repository at root.
func (r Rendering) Build(root string) ([]byte, error) { return r.build(root) }

func kustomizeRendering(name, dir, desc string) Rendering {
	return Rendering{Name: name, Source: dir, Description: desc, build: func(root string) ([]byte, error) {
		return Kustomize(filepath.Join(root, dir))
	}}
}

func helmRendering(name, desc string, values map[string]any) Rendering {
	return Rendering{Name: name, Source: ChartPath, Description: desc, Values: values, build: func(root string) ([]byte, error) {
		return Helm(filepath.Join(root, ChartPath), "gateway-api-metrics-exporter", HelmNamespace, values)
	}}
}

// HelmFullValues enables every optional part of the chart.
func HelmFullValues() map[string]any {
	return map[string]any{
		"selfMonitor": map[string]any{"enabled": true},
		"prometheus": map[string]any{"monitor": map[string]any{
			"enabled":          true,
			"additionalLabels": map[string]any{"release": "kube-prometheus-stack"},
			"interval":         "30s",
			"http":             map[string]any{"scrapeTimeout": "25s"},
		}},
		"prometheusRule": map[string]any{
			"enabled":          true,
			"additionalLabels": map[string]any{"release": "kube-prometheus-stack"},
			// the one group that is off by default: every group on
			"groups": map[string]any{"gateway-api-state-metrics": true},
		},
		"customResourceState": map[string]any{
			"enabled": true,
			"config": map[string]any{
				"kind": "CustomResourceStateMetrics",
				"spec": map[string]any{"resources": []any{}},
			},
		},
		"rbac": map[string]any{"extraRules": []any{map[string]any{
			"apiGroups": []any{"gateway.networking.x-k8s.io"},
			"resources": []any{"xbackendtrafficpolicies"},
			"verbs":     []any{"list", "watch"},
		}}},
	}
}

// HelmShardedValues runs the chart as an auto-sharded StatefulSet.
func HelmShardedValues() map[string]any {
	return map[string]any{
		"replicas":     2,
		"autosharding": map[string]any{"enabled": true},
	}
}

// Renderings lists every manifest set under deploy/.
func Renderings() []Rendering {
	return []Rendering{
		kustomizeRendering("kustomize-base", "deploy/kustomize/base",
			"single-replica Deployment, RBAC and Service"),
		kustomizeRendering("kustomize-servicemonitor", "deploy/kustomize/overlays/servicemonitor",
			"the base plus a ServiceMonitor (needs the monitoring.coreos.com CRDs)"),
		kustomizeRendering("kustomize-sharded", "deploy/kustomize/overlays/sharded",
			"auto-sharded StatefulSet with 2 replicas, headless Service and sharding Role"),
		kustomizeRendering("rules", "deploy/rules",
			"the alerting rules as a PrometheusRule (needs the monitoring.coreos.com CRDs)"),
		kustomizeRendering("dashboards", "deploy/dashboards",
			"one ConfigMap per Grafana dashboard"),
		helmRendering("helm-default", "the Helm chart with its default values", nil),
		helmRendering("helm-full", "the Helm chart with ServiceMonitor, PrometheusRule, self-monitoring and a CRS config (needs the monitoring.coreos.com CRDs)", HelmFullValues()),
		helmRendering("helm-sharded", "the Helm chart with autosharding and 2 replicas", HelmShardedValues()),
	}
}

// WriteAll renders every manifest set into dir as <name>.yaml and returns
// the paths written.
func WriteAll(root, dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var paths []string
	for _, r := range Renderings() {
		data, err := r.Build(root)
		if err != nil {
			return paths, err
		}
		p := filepath.Join(dir, r.Name+".yaml")
		header := fmt.Sprintf("# %s: %s\n# Rendered from %s by deploy/test/cmd/render-manifests.\n", r.Name, r.Description, r.Source)
		if err := os.WriteFile(p, append([]byte(header), data...), 0o644); err != nil {
			return paths, err
		}
		paths = append(paths, p)
	}
	return paths, nil
}

// ChartFeatures are the optional parts of the Helm chart, each on or off.
type ChartFeatures struct {
	Sharded        bool // auto-sharded StatefulSet with 2 replicas
	ServiceMonitor bool
	PrometheusRule bool
	Dashboards     bool // one ConfigMap per dashboard for Grafana's sidecar
	TLS            bool // exporter-toolkit web config from a TLS Secret
	CustomCRS      bool // CustomCRSConfig instead of the built-in metric set
}

// TLSSecretName is the kubernetes.io/tls Secret ChartValues names with TLS.
const TLSSecretName = "exporter-tls"

// CustomCRSConfig is a small CustomResourceStateMetrics config of our own:
// one info family for Gateways.
const CustomCRSConfig = `kind: CustomResourceStateMetrics
spec:
  resources:
    - groupVersionKind: {group: gateway.networking.k8s.io, version: v1, kind: Gateway}
      metricNamePrefix: custom_gateway
      labelsFromPath:
        name: [metadata, name]
        namespace: [metadata, namespace]
      metrics:
        - name: info
          help: A Gateway and its class.
          each:
            type: Info
            info:
              labelsFromPath:
                class: [spec, gatewayClassName]
`

// AllChartFeatures lists every combination of ChartFeatures (64).
func AllChartFeatures() []ChartFeatures {
	var out []ChartFeatures
	for m := 0; m < 64; m++ {
		out = append(out, ChartFeatures{Sharded: m&1 != 0, ServiceMonitor: m&2 != 0, PrometheusRule: m&4 != 0,
			Dashboards: m&8 != 0, TLS: m&16 != 0, CustomCRS: m&32 != 0})
	}
	return out
}

// Name is a short name of the combination, e.g. "sharded+tls".
func (f ChartFeatures) Name() string {
	var parts []string
	for _, p := range []struct {
		on   bool
		name string
	}{{f.Sharded, "sharded"}, {f.ServiceMonitor, "servicemonitor"}, {f.PrometheusRule, "prometheusrule"},
		{f.Dashboards, "dashboards"}, {f.TLS, "tls"}, {f.CustomCRS, "crs"}} {
		if p.on {
			parts = append(parts, p.name)
		}
	}
	if len(parts) == 0 {
		return "defaults"
	}
	return strings.Join(parts, "+")
}

// Values are the chart values that turn the features on.
func (f ChartFeatures) Values() map[string]any {
	v := map[string]any{}
	if f.Sharded {
		v["replicas"] = 2
		v["autosharding"] = map[string]any{"enabled": true}
	}
	if f.ServiceMonitor {
		monitor := map[string]any{"enabled": true, "additionalLabels": map[string]any{"release": "kube-prometheus-stack"}}
		if f.TLS {
			monitor["scheme"] = "https"
			monitor["tlsConfig"] = map[string]any{"insecureSkipVerify": true}
		}
		v["prometheus"] = map[string]any{"monitor": monitor}
		v["selfMonitor"] = map[string]any{"enabled": true}
	}
	if f.PrometheusRule {
		v["prometheusRule"] = map[string]any{"enabled": true}
	}
	if f.Dashboards {
		v["dashboards"] = map[string]any{"enabled": true}
	}
	if f.TLS {
		v["webConfig"] = map[string]any{"enabled": true, "tlsSecretName": TLSSecretName,
			"config": map[string]any{"tls_server_config": map[string]any{"min_version": "TLS13"}}}
	}
	if f.CustomCRS {
		// As a map: a string over the default {} makes Helm warn.
		var cfg map[string]any
		if err := yaml.Unmarshal([]byte(CustomCRSConfig), &cfg); err != nil {
			panic("CustomCRSConfig: " + err.Error()) // a constant of this file
		}
		v["customResourceState"] = map[string]any{"enabled": true, "config": cfg}
	}
	return v
}
