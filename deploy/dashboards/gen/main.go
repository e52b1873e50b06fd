// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

// Command gen writes the Grafana dashboards of gateway-api-metrics-exporter,
// the machine-readable list of their PromQL expressions and the kustomization
// that packages them as ConfigMaps.
//
//	cd deploy/dashboards/gen && go run .            # writes into deploy/dashboards
//	cd deploy/dashboards/gen && go run . -out DIR   # writes into DIR
//
// The generated files are checked in; `make generate` runs this program and
// `make check-generated` fails when they differ from what it writes.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/kuadrant/gateway-api-metrics-exporter/deploy/dashboards/gen/dashboards"
)

func main() {
	out := flag.String("out", "..", "directory to write the generated files into")
	flag.Parse()

	files, err := dashboards.Files()
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		path := filepath.Join(*out, name)
		if err := os.WriteFile(path, files[name], 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "gen:", err)
			os.Exit(1)
		}
		fmt.Println("wrote", path)
	}
}
