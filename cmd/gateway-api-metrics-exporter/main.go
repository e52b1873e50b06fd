// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

// Command gateway-api-metrics-exporter serves Prometheus metrics about Gateway
// API and Kuadrant resources, as a drop-in replacement for kube-state-metrics
// running the gateway-api-state-metrics configuration.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/app"
)

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "render":
			os.Exit(render(os.Args[2:], os.Stdout, os.Stderr))
		case "version":
			// kube-state-metrics' subcommand: what --version prints.
			fmt.Println(app.VersionText())
			return
		}
	}
	opts, err := app.Parse(os.Args[1:], os.Stderr)
	if errors.Is(err, pflag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(2)
	}
	if opts.ShowVersion {
		fmt.Println(app.VersionText())
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := app.Run(ctx, opts, app.NewLogger(os.Stderr, opts.Verbosity)); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}
