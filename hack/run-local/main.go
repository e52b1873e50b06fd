// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

// Command run-local (make run-local) runs the exporter against a throwaway local
// control plane: etcd + kube-apiserver from hack/kube-bins.sh (KUBE_BIN, else
// KUBEBUILDER_ASSETS as setup-envtest leaves it, else built once), the Gateway
// API CRDs (experimental channel unless --gateway-api-channel=standard), our
// Kuadrant CRDs and the sample objects of internal/testenv: one object of
// every kind the exporter reads.
//
//	go run ./hack/run-local [--exporter=bin/gateway-api-metrics-exporter] [-- exporter args...]
//
// It builds nothing. The control plane lives in
// ${XDG_CACHE_HOME:-$HOME/.cache}/gateway-api-metrics-exporter/run-local (wiped
// at start; logs stay there after exit). Ctrl-C stops the exporter and then the
// control plane. With --exporter="" only the control plane runs.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/kuadrant/gateway-api-metrics-exporter/internal/testenv"
)

func main() { os.Exit(run()) }

// defaultChannel is the Gateway API channel run-local installs unless told
// otherwise: the experimental one serves every kind the exporter reads.
const defaultChannel = "experimental"

// options are run-local's flags (documented in the README).
type options struct {
	exporter, dir, channel *string
	port, telemetryPort    *int
	samples                *bool
}

func newOptions(fs *flag.FlagSet) options {
	return options{
		exporter:      fs.String("exporter", "bin/gateway-api-metrics-exporter", `exporter binary to run ("" = control plane only)`),
		dir:           fs.String("dir", filepath.Join(testenv.CacheDir(), "run-local"), "control plane directory (wiped at start)"),
		port:          fs.Int("port", 8080, "exporter --port"),
		telemetryPort: fs.Int("telemetry-port", 8081, "exporter --telemetry-port"),
		channel:       fs.String("gateway-api-channel", defaultChannel, "Gateway API CRD channel: standard or experimental"),
		samples:       fs.Bool("samples", true, "apply the sample objects (internal/testenv/samples; the experimental kinds' with that channel) to namespace "+testenv.SamplesNamespace),
	}
}

func run() int {
	o := newOptions(flag.CommandLine)
	exporter, dir, port, telemetryPort, channel, samples := o.exporter, o.dir, o.port, o.telemetryPort, o.channel, o.samples
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: go run ./hack/run-local [flags] [-- exporter args...]\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	extra := flag.Args()

	exe := ""
	if *exporter != "" {
		var err error
		if exe, err = filepath.Abs(*exporter); err != nil {
			return fail("%v", err)
		}
		if fi, err := os.Stat(exe); err != nil || fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
			return fail("exporter binary %s not found or not executable: build it first (make build), "+
				"or pass --exporter=PATH (--exporter= runs only the control plane)", exe)
		}
	}
	if err := testenv.CheckBinaries(); err != nil {
		return fail("%v", err)
	}
	if err := wipe(*dir); err != nil {
		return fail("%v", err)
	}

	ctx, stopSignals := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stopSignals()

	t0 := time.Now()
	env, err := testenv.Start(ctx, testenv.Options{Dir: *dir, Out: os.Stderr})
	if err != nil {
		return fail("start control plane: %v", err)
	}
	defer func() {
		fmt.Fprintln(os.Stderr, "run-local: stopping control plane")
		if err := env.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "run-local: %v\n", err)
		}
		fmt.Fprintf(os.Stderr, "run-local: logs kept in %s\n", env.Dir)
	}()
	n, err := setUp(ctx, env, *channel, *samples)
	if err != nil {
		return fail("%v", err)
	}
	if *samples {
		fmt.Fprintf(os.Stderr, "run-local: applied %d sample objects to namespace %s\n", n, testenv.SamplesNamespace)
	}
	fmt.Fprintf(os.Stderr, "run-local: control plane ready in %.1fs (Gateway API %s %s CRDs, Kuadrant CRDs)\n",
		time.Since(t0).Seconds(), testenv.GatewayAPIVersion, *channel)
	fmt.Printf("kubeconfig: %s\n  export KUBECONFIG=%s\n", env.Kubeconfig, env.Kubeconfig)

	if exe == "" {
		fmt.Fprintln(os.Stderr, "run-local: no exporter (--exporter=\"\"); Ctrl-C to stop")
		<-ctx.Done()
		stopSignals() // a second Ctrl-C kills us (the servers die with us)
		return 0
	}

	args := append([]string{
		"--kubeconfig=" + env.Kubeconfig,
		"--host=127.0.0.1",
		"--telemetry-host=127.0.0.1",
		"--port=" + strconv.Itoa(*port),
		"--telemetry-port=" + strconv.Itoa(*telemetryPort),
	}, extra...)
	cmd := exec.Command(exe, args...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.SysProcAttr = testenv.SysProcAttr()
	fmt.Fprintf(os.Stderr, "run-local: starting %s %v\n", exe, args)
	if err := cmd.Start(); err != nil {
		return fail("start exporter: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	fmt.Printf("metrics: curl -s http://127.0.0.1:%d/metrics\n", *port)
	fmt.Fprintln(os.Stderr, "run-local: Ctrl-C stops the exporter and the control plane")

	select {
	case err := <-exited:
		stopSignals()
		if err != nil {
			fmt.Fprintf(os.Stderr, "run-local: exporter exited: %v\n", err)
			var ee *exec.ExitError
			if errors.As(err, &ee) && ee.ExitCode() > 0 {
				return ee.ExitCode()
			}
			return 1
		}
		fmt.Fprintln(os.Stderr, "run-local: exporter exited")
		return 0
	case <-ctx.Done():
		stopSignals()
		fmt.Fprintln(os.Stderr, "\nrun-local: stopping exporter")
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			fmt.Fprintln(os.Stderr, "run-local: exporter did not stop in 10s; killing it")
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		return 0
	}
}

// setUp installs the CRDs of the Gateway API channel and Kuadrant's and,
// with samples, applies the demo objects; it returns how many.
func setUp(ctx context.Context, env *testenv.Env, channel string, samples bool) (int, error) {
	if err := env.InstallGatewayAPICRDs(ctx, channel); err != nil {
		return 0, fmt.Errorf("install Gateway API %s CRDs: %w", channel, err)
	}
	if err := env.InstallKuadrantCRDs(ctx); err != nil {
		return 0, fmt.Errorf("install Kuadrant CRDs: %w", err)
	}
	if err := env.InstallNewerKuadrantCRDs(ctx); err != nil {
		return 0, fmt.Errorf("install Kuadrant CRDs: %w", err)
	}
	if !samples {
		return 0, nil
	}
	objs, err := env.Apply(ctx, testenv.SamplesNamespace, testenv.Samples())
	if err != nil {
		return 0, fmt.Errorf("apply samples: %w", err)
	}
	n := len(objs)
	more := [][]byte{testenv.KuadrantNewerSamples()}
	if channel == "experimental" {
		more = append(more, testenv.ExperimentalSamples())
	}
	for _, y := range more {
		objs, err := env.Apply(ctx, testenv.SamplesNamespace, y)
		if err != nil {
			return n, fmt.Errorf("apply samples: %w", err)
		}
		n += len(objs)
	}
	return n, nil
}

// wipe removes dir if it looks like ours (empty, or a previous run's layout).
func wipe(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	ours := len(entries) == 0
	for _, e := range entries {
		switch e.Name() {
		case "etcd-data", "tokens.csv", "kubeconfig", "kube-apiserver.log", "etcd.log":
			ours = true
		}
	}
	if !ours {
		return fmt.Errorf("refusing to wipe %s: it does not look like a run-local directory", dir)
	}
	return os.RemoveAll(dir)
}

func fail(format string, args ...any) int {
	fmt.Fprintf(os.Stderr, "run-local: "+format+"\n", args...)
	return 1
}
