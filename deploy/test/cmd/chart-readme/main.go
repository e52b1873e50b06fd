// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

// Command chart-readme prints the Helm chart's README.md with its values
// table regenerated (make generate writes it back).
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/kuadrant/gateway-api-metrics-exporter/deploy/test/chartdoc"
	"github.com/kuadrant/gateway-api-metrics-exporter/deploy/test/render"
	"github.com/kuadrant/gateway-api-metrics-exporter/internal/repo"
)

func main() {
	root, err := repo.Root()
	if err != nil {
		fmt.Fprintln(os.Stderr, "chart-readme:", err)
		os.Exit(1)
	}
	out, err := chartdoc.README(filepath.Join(root, render.ChartPath))
	if err != nil {
		fmt.Fprintln(os.Stderr, "chart-readme:", err)
		os.Exit(1)
	}
	os.Stdout.Write(out)
}
