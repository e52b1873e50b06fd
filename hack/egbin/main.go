// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

// Command egbin renders Envoy Gateway's Helm chart (charts/gateway-helm of the
// github.com/envoyproxy/gateway module this module requires) with Helm's own
// template engine, the way `helm template eg oci://docker.io/envoyproxy/gateway-helm
// --version v1.9.1 -n envoy-gateway-system` does for a release, and prints the
// manifests. hack/eg-bin.sh writes them beside the envoy-gateway binary;
// internal/envoygateway applies the ServiceAccounts, RBAC, ConfigMap and
// Service from them and runs the binary with the Deployment's and the certgen
// Job's arguments, so that the e2e test grants the controller exactly what its
// chart grants, with nothing transcribed by hand.
//
// Usage: egbin -chart DIR -version v1.9.1 [-namespace envoy-gateway-system] [-release eg]
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"sigs.k8s.io/yaml"
)

func main() {
	chartDir := flag.String("chart", "", "the chart's directory (<module>/charts/gateway-helm)")
	version := flag.String("version", "", "the release's version (the module's), as Envoy Gateway's release sets the chart's")
	namespace := flag.String("namespace", "envoy-gateway-system", "the release namespace")
	release := flag.String("release", "eg", "the release name (the quickstart's)")
	flag.Parse()
	if *chartDir == "" || *version == "" {
		fmt.Fprintln(os.Stderr, "egbin: -chart and -version are required")
		os.Exit(2)
	}
	out, err := render(*chartDir, *version, *namespace, *release)
	if err != nil {
		fmt.Fprintln(os.Stderr, "egbin:", err)
		os.Exit(1)
	}
	fmt.Print(out)
}

func render(chartDir, version, namespace, release string) (string, error) {
	ch, err := loader.Load(chartDir)
	if err != nil {
		return "", err
	}
	// The module ships values.tmpl.yaml; Envoy Gateway's release turns it
	// into values.yaml by substituting the image (tools/make/helm.mk) and
	// stamps the chart with the release's version. Do the same.
	tmpl, err := os.ReadFile(filepath.Join(chartDir, "values.tmpl.yaml"))
	if err != nil {
		return "", err
	}
	values := strings.NewReplacer(
		"${GatewayImage}", "docker.io/envoyproxy/gateway:"+version,
		"${GatewayImagePullPolicy}", "IfNotPresent",
	).Replace(string(tmpl))
	if err := yaml.Unmarshal([]byte(values), &ch.Values); err != nil {
		return "", fmt.Errorf("values.tmpl.yaml: %w", err)
	}
	ch.Metadata.Version, ch.Metadata.AppVersion = version, version

	// The one value changed from the chart's defaults: the pod topology
	// injector is a mutating webhook that labels the Envoy pods with their
	// node's zone when they are bound to a node. Without kubelets or a
	// scheduler no pod is ever bound, so it would only add a webhook server
	// (another fixed port) and a MutatingWebhookConfiguration to the run.
	overrides := map[string]any{"topologyInjector": map[string]any{"enabled": false}}
	if err := chartutil.ProcessDependencies(ch, overrides); err != nil {
		return "", err
	}
	opts := chartutil.ReleaseOptions{Name: release, Namespace: namespace, Revision: 1, IsInstall: true}
	vals, err := chartutil.ToRenderValues(ch, overrides, opts, chartutil.DefaultCapabilities)
	if err != nil {
		return "", err
	}
	files, err := engine.Render(ch, vals)
	if err != nil {
		return "", err
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, name := range names {
		body := strings.TrimSpace(files[name])
		if body == "" || strings.HasSuffix(name, "NOTES.txt") {
			continue
		}
		fmt.Fprintf(&b, "---\n# Source: %s\n%s\n", name, body)
	}
	return b.String(), nil
}
