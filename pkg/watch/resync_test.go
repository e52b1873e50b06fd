// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package watch

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/scrape"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/source"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/spec"
)

// resyncAPI lists widgets at version 5: the first LIST gives w1=1; every
// later one (the resync) tells relisting and waits for the test to hand it
// its answer on answer. The first watch of widgets ends as end says; later
// ones stay open.
type resyncAPI struct {
	// end: "gone" (410 in the stream), "gone-at-open" (the stream ends, and
	// reopening it gets 410), "broken" (the connection is cut).
	end       string
	relisting chan struct{}
	answer    chan error // nil: w1=2
	mu        sync.Mutex
	lists     int
	watches   int
}

func (*resyncAPI) WatchList(context.Context, source.Resource, source.ListOptions) (source.Events, error) {
	return nil, source.ErrWatchListUnsupported
}

func (a *resyncAPI) ListAt(ctx context.Context, r source.Resource, _ source.ListOptions, fn func([]any) error) (string, error) {
	if r.Kind == "Gizmo" {
		return "5", fn([]any{gizmo("g").Object})
	}
	a.mu.Lock()
	a.lists++
	n := a.lists
	a.mu.Unlock()
	if n == 1 {
		return "5", fn([]any{widget("a", "w1", 1).Object})
	}
	select {
	case a.relisting <- struct{}{}:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	select {
	case err := <-a.answer:
		if err != nil {
			return "", err
		}
	case <-ctx.Done():
		return "", ctx.Err()
	}
	return "7", fn([]any{widget("a", "w1", 2).Object})
}

func gone() error {
	return apierrors.NewResourceExpired("too old resource version: 5 (6)")
}

func (a *resyncAPI) Watch(ctx context.Context, r source.Resource, _ source.ListOptions, _ string) (source.Events, error) {
	if r.Kind == "Gizmo" {
		return idle{ctx}, nil
	}
	a.mu.Lock()
	a.watches++
	n := a.watches
	a.mu.Unlock()
	switch {
	case a.end == "gone-at-open" && n == 1:
		return &failing{io.EOF}, nil // the API server's timeout; reopened at once
	case a.end == "gone-at-open" && n == 2:
		return nil, gone()
	case n > 1:
		return idle{ctx}, nil
	}
	switch a.end {
	case "gone":
		return &failing{gone()}, nil
	default:
		return &failing{io.ErrUnexpectedEOF}, nil
	}
}

// failing is a watch stream that ends at once with err.
type failing struct{ err error }

func (f *failing) Next() (source.Event, error) { return source.Event{}, f.err }
func (*failing) Close() error                  { return nil }

// A resync (after a 410 Gone, in the stream or opening the watch, or a
// broken stream) keeps the kind up with its last state for as long as it
// runs, however long that is: the store's grace for a closed watch is zero
// here, so a store that counted the resync as a closed watch would be down
// at the first scrape. Once the resync completes its state is served; a
// resync that fails (the API server cannot answer) turns the kind down.
func TestResyncKeepsTheLastState(t *testing.T) {
	for _, end := range []string{"gone", "gone-at-open", "broken"} {
		t.Run(end, func(t *testing.T) {
			api := &resyncAPI{end: end, relisting: make(chan struct{}), answer: make(chan error)}
			e := newResyncEnv(t, api)
			want := []string{widgetLine("a", "w1", 1)}
			// The first LIST, then the watch that ends: the resync starts and
			// waits.
			select {
			case <-api.relisting:
			case <-time.After(30 * time.Second): // a liveness guard
				t.Fatal("no resync")
			}
			b := e.body(t)
			if !up(b) || !slices.Equal(lines(b, "widget_n{"), want) {
				t.Fatalf("during the resync: want Widget up with its last state %v; got:\n%s", want, b)
			}
			api.answer <- nil
			e.eventually(t, "the resync's state", func(b string) bool {
				return up(b) && slices.Equal(lines(b, "widget_n{"), []string{widgetLine("a", "w1", 2)})
			})
		})
	}
	t.Run("fails", func(t *testing.T) {
		api := &resyncAPI{end: "gone", relisting: make(chan struct{}, 1), answer: make(chan error, 1)}
		api.answer <- errors.New("dial tcp 127.0.0.1:6443: connect: connection refused")
		e := newResyncEnv(t, api)
		e.eventually(t, "Widget down with no families after a failed resync", func(b string) bool {
			return strings.Contains(b, `gateway_metrics_up{group="example.com",kind="Widget",version="v1"} 0`) && len(lines(b, "widget_n{")) == 0
		})
	})
}

func newResyncEnv(t *testing.T, api API) *env {
	t.Helper()
	plan, _, err := spec.Load("t.yaml", []byte(testSpec))
	if err != nil {
		t.Fatal(err)
	}
	disc := &discoverer{}
	s := served
	disc.served.Store(&s)
	ctx, cancel := context.WithCancel(context.Background())
	c := New(ctx, plan, disc, api, scrape.Options{}, nil, slog.Default())
	c.Rediscover = 0
	c.reopenGrace = 0
	t.Cleanup(func() { cancel(); c.Wait() })
	c.Warm(ctx) // starts the reflectors
	return &env{c: c, ctx: ctx}
}
