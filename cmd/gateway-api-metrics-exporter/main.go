// Command gateway-api-metrics-exporter serves Prometheus metrics about Gateway
// API and Kuadrant resources, as a drop-in replacement for kube-state-metrics
// running the gateway-api-state-metrics configuration.
package main

import (
	"fmt"
	"log/slog"
	"os"

	metricsspec "github.com/kuadrant/gateway-api-metrics-exporter/metrics-spec"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/spec"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "render" {
		os.Exit(render(os.Args[2:], os.Stdout, os.Stderr))
	}
	os.Exit(serve(os.Args[1:]))
}

// loadPlan compiles the spec the way KSM picks its config: inline YAML wins
// over the file; with neither, the embedded metrics-spec.
func loadPlan(inline, file string, logger *slog.Logger) (*spec.Plan, error) {
	var (
		plan     *spec.Plan
		warnings []spec.Warning
		err      error
	)
	switch {
	case inline != "":
		plan, warnings, err = spec.Load("--custom-resource-state-config", []byte(inline))
	case file != "":
		data, rerr := os.ReadFile(file)
		if rerr != nil {
			return nil, fmt.Errorf("reading --custom-resource-state-config-file: %w", rerr)
		}
		plan, warnings, err = spec.Load(file, data)
	default:
		plan, warnings, err = spec.LoadFS(metricsspec.FS)
	}
	for _, w := range warnings {
		logger.Warn("spec: " + w.String())
	}
	if err != nil {
		return nil, fmt.Errorf("invalid metrics spec: %w", err)
	}
	return plan, nil
}

func serve(args []string) int {
	fmt.Fprintln(os.Stderr, "serve: not yet")
	return 1
}
