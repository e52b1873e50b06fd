// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

// Command gen writes the files generated from deploy/rules/alerts.yaml (run
// from the repository root by `make generate`):
//
//   - deploy/rules/prometheusrule.yaml: every group wrapped in one Prometheus
//     Operator PrometheusRule, keeping its comments and formatting;
//   - deploy/kustomize/components/alerts/<group>/: per group (its name without
//     ".rules"), a kustomize Component adding a PrometheusRule with that group
//     alone;
//   - deploy/kustomize/components/alerts/kustomization.yaml: the Component of
//     the groups that are on by default, which are those the Helm chart's
//     values.yaml switches on under prometheusRule.groups (every group must
//     have a switch there);
//   - the Helm chart's files/alerts.yaml: a byte-identical copy of alerts.yaml.
//
// `make check-generated` fails when they differ from what this writes.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

const (
	chartValues   = "deploy/helm/gateway-api-metrics-exporter/values.yaml"
	chartAlerts   = "deploy/helm/gateway-api-metrics-exporter/files/alerts.yaml"
	componentsDir = "deploy/kustomize/components/alerts"
)

func main() {
	root := flag.String("root", ".", "repository root")
	flag.Parse()
	if err := run(*root); err != nil {
		fmt.Fprintln(os.Stderr, "rules/gen:", err)
		os.Exit(1)
	}
}

func run(root string) error {
	alerts, err := os.ReadFile(filepath.Join(root, "deploy/rules/alerts.yaml"))
	if err != nil {
		return err
	}
	groups, err := splitGroups(alerts)
	if err != nil {
		return err
	}
	defaults, err := groupDefaults(filepath.Join(root, chartValues))
	if err != nil {
		return err
	}
	files := map[string][]byte{
		"deploy/rules/prometheusrule.yaml": prometheusRule(allHeader, "gateway-api-metrics-exporter", "", groups),
		chartAlerts:                        alerts,
	}
	var on []string
	for _, g := range groups {
		def, ok := defaults[g.switchName]
		if !ok {
			return fmt.Errorf("alert group %s has no switch prometheusRule.groups.%s in %s; add one (true: on by default)", g.name, g.switchName, chartValues)
		}
		delete(defaults, g.switchName)
		dir := componentsDir + "/" + g.switchName
		files[dir+"/prometheusrule.yaml"] = prometheusRule(fmt.Sprintf(groupHeader, g.name), g.switchName+"-alerts", g.switchName, []group{g})
		files[dir+"/kustomization.yaml"] = []byte(fmt.Sprintf(groupComponent, g.name, g.switchName, onOff(def)))
		if def {
			on = append(on, g.switchName)
		}
	}
	if len(defaults) > 0 {
		var extra []string
		for k := range defaults {
			extra = append(extra, k)
		}
		sort.Strings(extra)
		return fmt.Errorf("%s switches groups alerts.yaml does not have: %s", chartValues, strings.Join(extra, ", "))
	}
	var b strings.Builder
	b.WriteString(defaultComponent)
	for _, n := range on {
		fmt.Fprintf(&b, "  - %s\n", n)
	}
	files[componentsDir+"/kustomization.yaml"] = []byte(b.String())

	// A group that is gone leaves no component behind.
	existing, _ := filepath.Glob(filepath.Join(root, componentsDir, "*", "prometheusrule.yaml"))
	for _, p := range existing {
		dir, _ := filepath.Rel(root, filepath.Dir(p))
		if _, ok := files[filepath.ToSlash(dir)+"/prometheusrule.yaml"]; !ok {
			if err := os.RemoveAll(filepath.Dir(p)); err != nil {
				return err
			}
		}
	}
	for path, data := range files {
		full := filepath.Join(root, path)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(full, data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// group is one rule group of alerts.yaml: its name, its switch (the name
// without ".rules") and its lines, with the comment block above it.
type group struct {
	name, switchName string
	lines            []string
}

// splitGroups cuts alerts.yaml after its "groups:" line into its groups,
// each with the comment lines right above its "- name:" line.
func splitGroups(alerts []byte) ([]group, error) {
	lines := strings.SplitAfter(string(alerts), "\n")
	start := -1
	for i, l := range lines {
		if strings.HasPrefix(l, "groups:") {
			start = i + 1
			break
		}
	}
	if start < 0 {
		return nil, errors.New(`alerts.yaml has no top-level "groups:" line`)
	}
	var heads []int
	for i := start; i < len(lines); i++ {
		if strings.HasPrefix(lines[i], "  - name: ") {
			h := i
			for h > start && strings.HasPrefix(lines[h-1], "  #") {
				h--
			}
			heads = append(heads, h)
		}
	}
	if len(heads) == 0 {
		return nil, errors.New("alerts.yaml has no groups")
	}
	var out []group
	for n, h := range heads {
		end := len(lines)
		if n+1 < len(heads) {
			end = heads[n+1]
		}
		body := lines[h:end]
		for len(body) > 0 && strings.TrimSpace(body[len(body)-1]) == "" {
			body = body[:len(body)-1]
		}
		var name string
		for _, l := range body {
			if rest, ok := strings.CutPrefix(l, "  - name: "); ok {
				name = strings.TrimSpace(rest)
				break
			}
		}
		sw, ok := strings.CutSuffix(name, ".rules")
		if !ok || sw == "" {
			return nil, fmt.Errorf("alert group %q: its name must end in .rules (the switch is the name without it)", name)
		}
		out = append(out, group{name: name, switchName: sw, lines: body})
	}
	return out, nil
}

// groupDefaults reads prometheusRule.groups of the chart's values.yaml.
func groupDefaults(path string) (map[string]bool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var v struct {
		PrometheusRule struct {
			Groups map[string]bool `json:"groups"`
		} `json:"prometheusRule"`
	}
	if err := yaml.Unmarshal(data, &v); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(v.PrometheusRule.Groups) == 0 {
		return nil, fmt.Errorf("%s: no prometheusRule.groups", path)
	}
	return v.PrometheusRule.Groups, nil
}

const allHeader = `# Code generated from alerts.yaml by deploy/rules/gen; DO NOT EDIT.
# Regenerate: make generate
# Every group of alerts.yaml as one Prometheus Operator PrometheusRule:
#   kubectl apply -n monitoring -f deploy/rules/prometheusrule.yaml
# (kubectl apply -k deploy/rules applies the groups that are on by default.)
`

const groupHeader = `# Code generated from alerts.yaml by deploy/rules/gen; DO NOT EDIT.
# Regenerate: make generate
# The alert group %s (deploy/rules/alerts.yaml) as a Prometheus
# Operator PrometheusRule; docs/runbooks.md describes its alerts.
`

const groupComponent = `# Code generated from deploy/rules/alerts.yaml by deploy/rules/gen; DO NOT EDIT.
#
# The alert group %[1]s as a PrometheusRule, %[3]s by default
# (../kustomization.yaml holds the groups that are on). Add it to a
# kustomization:
#   components:
#     - <path to deploy>/kustomize/components/alerts/%[2]s
apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
resources:
  - prometheusrule.yaml
`

const defaultComponent = `# Code generated from deploy/rules/alerts.yaml by deploy/rules/gen; DO NOT EDIT.
#
# The alert groups that are on by default (the Helm chart's
# prometheusRule.groups defaults), one PrometheusRule each. Add this Component
# to a kustomization for all of them, or the groups' own components
# (./<group>) for a choice:
#   components:
#     - <path to deploy>/kustomize/components/alerts
# deploy/rules/kustomization.yaml applies it alone: kubectl apply -k deploy/rules
apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
components:
`

// prometheusRule wraps groups, keeping their comments and formatting, in a
// PrometheusRule named name (with label alert-group, when set).
func prometheusRule(header, name, switchName string, groups []group) []byte {
	var out bytes.Buffer
	out.WriteString(header)
	fmt.Fprintf(&out, `apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: %s
  labels:
    app.kubernetes.io/name: gateway-api-metrics-exporter
    app.kubernetes.io/component: alerting-rules
`, name)
	if switchName != "" {
		fmt.Fprintf(&out, "    gateway-api-metrics-exporter/alert-group: %s\n", switchName)
	}
	out.WriteString("spec:\n  groups:\n")
	for n, g := range groups {
		if n > 0 {
			out.WriteString("\n")
		}
		for _, l := range g.lines {
			if strings.TrimSpace(l) == "" {
				out.WriteString(l)
				continue
			}
			out.WriteString("  " + l)
		}
	}
	return out.Bytes()
}
