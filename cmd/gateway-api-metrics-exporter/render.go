// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"

	"github.com/spf13/pflag"

	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/app"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/engine"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/exposition"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/spec"
)

// render writes the /metrics body for objects read from files: a preview of
// metrics and dashboards without a cluster.
func render(args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("render", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("custom-resource-state-config-file", "", "CustomResourceStateMetrics file (default: the embedded metrics-spec)")
	inline := fs.String("custom-resource-state-config", "", "inline CustomResourceStateMetrics YAML; wins over the file")
	optIn := fs.StringSlice("metric-opt-in-list", nil, "opt-in families (names or regular expressions) to render as well, as the exporter's flag")
	accept := fs.String("accept", "text/plain", "format to write, as an Accept header: text/plain or application/openmetrics-text")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: gateway-api-metrics-exporter render [flags] PATH...\n\nReads objects (YAML or JSON, kind: List included; directories are walked) and\nwrites the metrics the exporter would serve for them.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	plan, err := app.LoadPlan(*inline, *file, false, logger)
	if err != nil {
		fmt.Fprintln(stderr, "error:", err)
		return 1
	}
	keep, err := app.OptInFilter(*optIn)
	if err != nil {
		fmt.Fprintln(stderr, "error:", err)
		return 2
	}
	plan = app.FilterPlan(plan, keep)
	format, _ := exposition.NegotiateAccept(*accept)
	errs := newErrorLog(logger)
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(engine.OfflineGCPercent)
	}
	// Objects are decoded through their kind's projection, as a scrape
	// decodes a LIST page, on every core, and dropped once rendered.
	off := engine.NewOffline(plan, errs.report)
	if err := off.AddFiles(fs.Args(), runtime.GOMAXPROCS(0)); err != nil {
		fmt.Fprintln(stderr, "error:", err)
		return 1
	}
	if off.Unmatched > 0 {
		logger.Info("objects whose group and kind no spec entry names were skipped", "count", off.Unmatched)
	}
	out := bufio.NewWriterSize(stdout, 64<<10)
	err = off.WriteTo(out, format)
	if err == nil {
		err = out.Flush()
	}
	if err != nil {
		fmt.Fprintln(stderr, "error:", err)
		return 1
	}
	return 0
}

// errorLog logs each distinct evaluation error once: KSM logs one line per
// object per update, which floods logs without saying more.
type errorLog struct {
	logger *slog.Logger
	seen   map[string]bool
}

func newErrorLog(l *slog.Logger) *errorLog { return &errorLog{logger: l, seen: map[string]bool{}} }

func (e *errorLog) report(f *spec.Family, err error) {
	key := f.Name + "\x00" + err.Error()
	if e.seen[key] || len(e.seen) > 10000 {
		return
	}
	e.seen[key] = true
	e.logger.Log(context.Background(), engine.LogLevel(err), "cannot evaluate family for an object (logged once)", "family", f.Name, "err", err, "spec", fmt.Sprintf("%s:%d", f.File, f.Line))
}
