// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

// Command render-manifests renders every manifest set under deploy/ (the
// kustomize base and overlays, the rules and dashboards kustomizations and
// the Helm chart with several value sets) into a directory, one YAML file per
// set, ready for `kubectl apply -f` or for applying to a test API server.
//
//	cd deploy/test && go run ./cmd/render-manifests -out /tmp/manifests
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/kuadrant/gateway-api-metrics-exporter/deploy/test/render"
	"github.com/kuadrant/gateway-api-metrics-exporter/internal/repo"
)

func main() {
	out := flag.String("out", "rendered", "directory to write <name>.yaml files into")
	flag.Parse()
	root, err := repo.Root()
	if err != nil {
		fmt.Fprintln(os.Stderr, "render-manifests:", err)
		os.Exit(1)
	}
	paths, err := render.WriteAll(root, *out)
	for _, p := range paths {
		fmt.Println("wrote", p)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "render-manifests:", err)
		os.Exit(1)
	}
}
