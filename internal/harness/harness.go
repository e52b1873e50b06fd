// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

// Package harness runs the exporter in-process for tests (e2e/ and
// deploy/test), the way redis_exporter's tests do: start it, scrape it over
// HTTP. It listens on kernel-chosen loopback ports, which app.Run reports
// through Options.OnServing, so no port can be taken in between.
package harness

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/app"
)

// LoopbackArgs make the exporter listen on kernel-chosen loopback ports.
var LoopbackArgs = []string{"--host=127.0.0.1", "--port=0", "--telemetry-host=127.0.0.1", "--telemetry-port=0"}

// Exporter is one exporter started with Start.
type Exporter struct {
	MetricsURL   string // http://127.0.0.1:PORT, the main port
	TelemetryURL string // http://127.0.0.1:PORT, the telemetry port
	Options      *app.Options
	sink         *logSink
}

// Start runs app.Parse(args) and app.Run with exactly args (which must bind
// port 0 on loopback, see LoopbackArgs), waits until it serves, and stops it
// when the test ends. Its log goes to t.Log, prefixed with name.
func Start(t testing.TB, name string, args ...string) *Exporter {
	t.Helper()
	var stderr bytes.Buffer
	opts, err := app.Parse(args, &stderr)
	if err != nil {
		t.Fatalf("app.Parse(%q): %v\n%s", args, err, stderr.String())
	}
	sink := &logSink{t: t, name: name}
	addrs := make(chan [2]string, 1)
	opts.OnServing = func(metrics, telemetry net.Addr) { addrs <- [2]string{metrics.String(), telemetry.String()} }
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- app.Run(ctx, opts, app.NewLogger(sink, 0)) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-errc:
			if err != nil {
				t.Errorf("%s: app.Run returned %v", name, err)
			}
		case <-time.After(15 * time.Second):
			t.Errorf("%s: exporter did not stop within 15s of its context ending", name)
		}
		sink.close()
	})
	x := &Exporter{Options: opts, sink: sink}
	select {
	case a := <-addrs:
		x.MetricsURL, x.TelemetryURL = "http://"+a[0], "http://"+a[1]
	case err := <-errc:
		cancel()
		t.Fatalf("%s: app.Run(%q) returned before serving: %v", name, args, err)
	case <-time.After(30 * time.Second):
		t.Fatalf("%s: exporter did not serve within 30s", name)
	}
	return x
}

// Get GETs path (e.g. "/metrics") on the metrics port, or on the telemetry
// port for a path under "telemetry:" ("telemetry:/metrics"), and returns the
// body of a 200 answer; anything else fails the test.
func (x *Exporter) Get(t testing.TB, path string) []byte {
	t.Helper()
	url := x.MetricsURL + path
	if p, ok := strings.CutPrefix(path, "telemetry:"); ok {
		url = x.TelemetryURL + p
	}
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d, %v", url, resp.StatusCode, err)
	}
	return body
}

// LogLines returns the exporter's log lines so far that contain substr.
func (x *Exporter) LogLines(substr string) []string {
	x.sink.mu.Lock()
	defer x.sink.mu.Unlock()
	var out []string
	for _, l := range x.sink.lines {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return out
}

// logSink keeps the exporter's log and forwards it to t.Log while the test
// runs.
type logSink struct {
	mu    sync.Mutex
	t     testing.TB
	name  string
	done  bool
	lines []string
}

func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	line := string(bytes.TrimRight(p, "\n"))
	s.lines = append(s.lines, line)
	if !s.done {
		s.t.Logf("%s: %s", s.name, line)
	}
	return len(p), nil
}

func (s *logSink) close() {
	s.mu.Lock()
	s.done = true
	s.mu.Unlock()
}
