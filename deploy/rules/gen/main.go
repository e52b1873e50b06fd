// Command gen writes the files generated from deploy/rules/alerts.yaml (run
// from the repository root by `make generate`):
//
//   - deploy/rules/prometheusrule.yaml: its groups wrapped in a Prometheus
//     Operator PrometheusRule, keeping its comments and formatting;
//   - the Helm chart's files/alerts.yaml: a byte-identical copy.
//
// `make check-generated` fails when they differ from what this writes.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

const header = `# Code generated from alerts.yaml by deploy/rules/gen; DO NOT EDIT.
# Regenerate: make generate
# The groups of alerts.yaml as a Prometheus Operator PrometheusRule.
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: gateway-api-metrics-exporter
  labels:
    app.kubernetes.io/name: gateway-api-metrics-exporter
    app.kubernetes.io/component: alerting-rules
spec:
`

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
	rule, err := prometheusRule(alerts)
	if err != nil {
		return err
	}
	for path, data := range map[string][]byte{
		"deploy/rules/prometheusrule.yaml":                           rule,
		"deploy/helm/gateway-api-metrics-exporter/files/alerts.yaml": alerts,
	} {
		if err := os.WriteFile(filepath.Join(root, path), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// prometheusRule indents alerts.yaml from its "groups:" line on under spec:.
func prometheusRule(alerts []byte) ([]byte, error) {
	var out bytes.Buffer
	out.WriteString(header)
	started := false
	for _, line := range strings.SplitAfter(string(alerts), "\n") {
		if !started {
			if !strings.HasPrefix(line, "groups:") {
				continue
			}
			started = true
		}
		if strings.TrimSpace(line) == "" {
			out.WriteString(line)
			continue
		}
		out.WriteString("  " + line)
	}
	if !started {
		return nil, fmt.Errorf("alerts.yaml has no top-level \"groups:\" line")
	}
	return out.Bytes(), nil
}
