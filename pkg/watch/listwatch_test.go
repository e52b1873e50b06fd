// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package watch

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/scrape"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/source"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/spec"
)

// scripted lists one widget at version 5 and serves scripted watches; it
// records every LIST and the version each watch starts from.
type scripted struct {
	mu      sync.Mutex
	lists   int
	from    []string
	watches []func(ctx context.Context) source.Events
}

func (*scripted) WatchList(context.Context, source.Resource, source.ListOptions) (source.Events, error) {
	return nil, source.ErrWatchListUnsupported
}

func (s *scripted) ListAt(_ context.Context, r source.Resource, _ source.ListOptions, fn func([]any) error) (string, error) {
	s.mu.Lock()
	s.lists++
	s.mu.Unlock()
	if r.Kind == "Gizmo" {
		return "5", fn([]any{gizmo("g").Object})
	}
	return "5", fn([]any{widget("a", "w1", 1).Object})
}

func (s *scripted) Watch(ctx context.Context, r source.Resource, _ source.ListOptions, rv string) (source.Events, error) {
	if r.Kind == "Gizmo" {
		return idle{ctx}, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.from = append(s.from, rv)
	if len(s.watches) == 0 {
		return idle{ctx}, nil
	}
	w := s.watches[0]
	s.watches = s.watches[1:]
	return w(ctx), nil
}

type events []source.Event

func (e *events) Next() (source.Event, error) {
	if len(*e) == 0 {
		return source.Event{}, io.EOF // the API server's timeout
	}
	ev := (*e)[0]
	*e = (*e)[1:]
	return ev, nil
}
func (*events) Close() error { return nil }

// A watch the API server ends (its timeout) is reopened from the last
// version seen, bookmarks included, without a relist.
func TestWatchReopensFromLastVersion(t *testing.T) {
	plan, _, err := spec.Load("t.yaml", []byte(testSpec))
	if err != nil {
		t.Fatal(err)
	}
	api := &scripted{watches: []func(context.Context) source.Events{
		func(context.Context) source.Events {
			return &events{
				{Type: "MODIFIED", Object: widget("a", "w1", 2).Object, ResourceVersion: "6"},
				{Type: "BOOKMARK", ResourceVersion: "9"},
			}
		},
		func(context.Context) source.Events {
			return &events{{Type: "ADDED", Object: widget("a", "w2", 3).Object, ResourceVersion: "10"}}
		},
	}}
	disc := &discoverer{}
	s := served
	disc.served.Store(&s)
	ctx, cancel := context.WithCancel(context.Background())
	c := New(ctx, plan, disc, api, scrape.Options{}, nil, slog.Default())
	c.Rediscover = 0
	t.Cleanup(func() { cancel(); c.Wait() })
	e := &env{c: c}
	want := []string{widgetLine("a", "w1", 2), widgetLine("a", "w2", 3)}
	e.eventually(t, "followed both watches", func(b string) bool { return up(b) && slices.Equal(lines(b, "widget_n{"), want) })
	// The third watch opens after the second ends (a backoff later: it did not
	// last); the bound is a liveness guard.
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		api.mu.Lock()
		n := len(api.from)
		api.mu.Unlock()
		if n >= 3 {
			break
		}
	}
	api.mu.Lock()
	defer api.mu.Unlock()
	if len(api.from) < 3 || !slices.Equal(api.from[:3], []string{"5", "9", "10"}) {
		t.Errorf("watches started from %v, want 5 (the LIST), 9 (the bookmark), 10", api.from)
	}
	if api.lists != 2 { // one per resource: widgets and gizmos
		t.Errorf("%d LISTs, want 2 (no relist)", api.lists)
	}
}
