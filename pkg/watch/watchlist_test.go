// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package watch

import (
	"context"
	"errors"
	"fmt"
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

// step is one answer of a scripted stream: an event or an error.
type step struct {
	ev  source.Event
	err error
}

// chanEvents is a stream the test feeds step by step; closing the channel is
// the API server ending the watch.
type chanEvents struct {
	ctx context.Context
	ch  chan step
}

func (c chanEvents) Next() (source.Event, error) {
	select {
	case s, ok := <-c.ch:
		if !ok {
			return source.Event{}, io.EOF
		}
		return s.ev, s.err
	case <-c.ctx.Done():
		return source.Event{}, c.ctx.Err()
	}
}
func (chanEvents) Close() error { return nil }

// send hands a stream its next step; on an unbuffered channel it returns once
// the reader took it, so everything before it was handled. The bound is a
// liveness guard.
func send(t *testing.T, ch chan step, s step) {
	t.Helper()
	select {
	case ch <- s:
	case <-time.After(30 * time.Second):
		t.Fatalf("nobody read %+v", s)
	}
}

func added(ns, name string, n int64) step {
	o := widget(ns, name, n).Object
	return step{ev: source.Event{Type: "ADDED", Object: o}}
}

func endOfInitial(rv string) step {
	return step{ev: source.Event{Type: "BOOKMARK", ResourceVersion: rv, InitialEventsEnd: true}}
}

// streamAPI serves watch-lists: each watch-list of widgets is the next
// stream the test hands over on next (it blocks until then); gizmos get one
// gizmo and the end bookmark. LISTs of widgets return listed. It counts LISTs and watch-lists, and records
// the versions plain watches of widgets start from.
type streamAPI struct {
	next   chan chan step
	listed []any // what a LIST of widgets returns; nil: LISTs are not expected

	mu                sync.Mutex
	lists, watchLists int
	from              []string
}

func (s *streamAPI) WatchList(ctx context.Context, r source.Resource, _ source.ListOptions) (source.Events, error) {
	s.mu.Lock()
	s.watchLists++
	s.mu.Unlock()
	if r.Kind == "Gizmo" {
		ch := make(chan step, 2)
		ch <- step{ev: source.Event{Type: "ADDED", Object: gizmo("g").Object}}
		ch <- endOfInitial("1")
		return chanEvents{ctx, ch}, nil
	}
	select {
	case ch := <-s.next:
		return chanEvents{ctx, ch}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (s *streamAPI) ListAt(_ context.Context, _ source.Resource, _ source.ListOptions, fn func([]any) error) (string, error) {
	s.mu.Lock()
	s.lists++
	s.mu.Unlock()
	if s.listed == nil {
		return "", errors.New("not expected: the API server serves watch-lists")
	}
	return "30", fn(s.listed)
}

func (s *streamAPI) Watch(ctx context.Context, _ source.Resource, _ source.ListOptions, rv string) (source.Events, error) {
	s.mu.Lock()
	s.from = append(s.from, rv)
	s.mu.Unlock()
	return idle{ctx}, nil
}

func newStreamEnv(t *testing.T, api API) *env {
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
	t.Cleanup(func() { cancel(); c.Wait() })
	c.Warm(ctx)
	return &env{c: c}
}

const widgetDown = `gateway_metrics_up{group="example.com",kind="Widget",version="v1"} 0`

// The initial events of a watch-list are not served until the bookmark that
// ends them (the kind is down, not synced); then the same stream is followed
// as a watch, and when the API server ends it a watch reopens from the last
// version seen, without any LIST.
func TestWatchListSyncsThenFollows(t *testing.T) {
	api := &streamAPI{next: make(chan chan step)}
	e := newStreamEnv(t, api)
	ch := make(chan step)
	api.next <- ch
	send(t, ch, added("a", "w1", 1))
	send(t, ch, added("b", "w2", 2)) // w1 was read
	if b := e.body(t); !strings.Contains(b, widgetDown) || strings.Contains(b, "widget_n{") {
		t.Errorf("before the end bookmark the kind must be down with no families:\n%s", b)
	}
	send(t, ch, endOfInitial("10"))
	want := []string{widgetLine("a", "w1", 1), widgetLine("b", "w2", 2)}
	e.eventually(t, "synced at the end bookmark", func(b string) bool { return up(b) && slices.Equal(lines(b, "widget_n{"), want) })

	send(t, ch, step{ev: source.Event{Type: "MODIFIED", Object: widget("a", "w1", 3).Object, ResourceVersion: "11"}})
	send(t, ch, step{ev: source.Event{Type: "DELETED", Object: widget("b", "w2", 2).Object, ResourceVersion: "12"}})
	want = []string{widgetLine("a", "w1", 3)}
	e.eventually(t, "followed the stream", func(b string) bool { return up(b) && slices.Equal(lines(b, "widget_n{"), want) })

	close(ch) // the API server's timeout
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		api.mu.Lock()
		n := len(api.from)
		api.mu.Unlock()
		if n > 0 {
			break
		}
	}
	api.mu.Lock()
	defer api.mu.Unlock()
	if !slices.Equal(api.from, []string{"12"}) || api.lists != 0 || api.watchLists != 2 {
		t.Errorf("watches from %v, %d LISTs, %d watch-lists; want one watch from 12, no LIST, one watch-list per resource", api.from, api.lists, api.watchLists)
	}
}

// A watch-list that breaks before its end bookmark commits nothing: on a
// resync the kind is down (the error is marked, as for a failed LIST), and
// neither the old objects nor the ones the broken stream sent are served;
// the next complete watch-list is served alone.
func TestWatchListBrokenBeforeTheEndCommitsNothing(t *testing.T) {
	api := &streamAPI{next: make(chan chan step)}
	e := newStreamEnv(t, api)
	first := make(chan step)
	api.next <- first
	send(t, first, added("a", "w1", 1))
	send(t, first, endOfInitial("5"))
	e.eventually(t, "synced", func(b string) bool {
		return up(b) && slices.Equal(lines(b, "widget_n{"), []string{widgetLine("a", "w1", 1)})
	})
	send(t, first, step{err: apierrors.NewResourceExpired("too old resource version")}) // resync at once

	broken := make(chan step)
	api.next <- broken
	send(t, broken, added("a", "w8", 8))
	send(t, broken, added("a", "w9", 9))
	send(t, broken, step{err: io.ErrUnexpectedEOF}) // the connection broke
	b := e.eventually(t, "down after the broken stream", func(b string) bool { return strings.Contains(b, widgetDown) })
	if got := lines(b, "widget_n{"); len(got) != 0 {
		t.Errorf("a kind down after a broken watch-list serves %v", got)
	}

	last := make(chan step)
	api.next <- last // after the backoff
	send(t, last, added("a", "w2", 2))
	send(t, last, endOfInitial("20"))
	e.eventually(t, "the complete watch-list alone", func(b string) bool {
		return up(b) && slices.Equal(lines(b, "widget_n{"), []string{widgetLine("a", "w2", 2)})
	})
}

// noStreamAPI is an API server without watch-lists: it rejects them, or
// (plain) serves a plain watch that source reports as unsupported after its
// first event. LISTs return one widget; the first three watches of widgets
// end with 410 Gone, so the reflector resyncs three times.
type noStreamAPI struct {
	plain bool

	mu                sync.Mutex
	lists, watchLists map[string]int
	gone              int
}

func (s *noStreamAPI) WatchList(ctx context.Context, r source.Resource, _ source.ListOptions) (source.Events, error) {
	s.mu.Lock()
	s.watchLists[r.Kind]++
	s.mu.Unlock()
	if !s.plain {
		return nil, fmt.Errorf("%w: %w", source.ErrWatchListUnsupported, apierrors.NewBadRequest("sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled"))
	}
	ch := make(chan step, 2)
	ch <- added("a", "stale", 1)
	ch <- step{err: fmt.Errorf("%w: a BOOKMARK event came before the initial-events-end bookmark", source.ErrWatchListUnsupported)}
	return chanEvents{ctx, ch}, nil
}

func (s *noStreamAPI) ListAt(_ context.Context, r source.Resource, _ source.ListOptions, fn func([]any) error) (string, error) {
	s.mu.Lock()
	s.lists[r.Kind]++
	s.mu.Unlock()
	if r.Kind == "Gizmo" {
		return "5", fn([]any{gizmo("g").Object})
	}
	return "5", fn([]any{widget("a", "w1", 1).Object})
}

func (s *noStreamAPI) Watch(ctx context.Context, r source.Resource, _ source.ListOptions, _ string) (source.Events, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.Kind == "Widget" && s.gone < 3 {
		s.gone++
		ch := make(chan step, 1)
		ch <- step{err: apierrors.NewResourceExpired("too old resource version")}
		return chanEvents{ctx, ch}, nil
	}
	return idle{ctx}, nil
}

// Where the API server does not serve watch-lists, each resource falls back
// to paginated LISTs and remembers it: its resyncs LIST without asking again.
func TestWatchListFallbackIsRemembered(t *testing.T) {
	for _, plain := range []bool{false, true} {
		t.Run(fmt.Sprintf("plain=%v", plain), func(t *testing.T) {
			api := &noStreamAPI{plain: plain, lists: map[string]int{}, watchLists: map[string]int{}}
			e := newStreamEnv(t, api)
			e.eventually(t, "listed", func(b string) bool {
				api.mu.Lock()
				resynced := api.lists["Widget"] >= 4
				api.mu.Unlock()
				return resynced && up(b) && slices.Equal(lines(b, "widget_n{"), []string{widgetLine("a", "w1", 1)})
			})
			api.mu.Lock()
			defer api.mu.Unlock()
			if api.watchLists["Widget"] != 1 || api.watchLists["Gizmo"] != 1 {
				t.Errorf("watch-lists per kind %v after %v LISTs; want one each, then LISTs only", api.watchLists, api.lists)
			}
		})
	}
}

// A watch-list that keeps breaking after its initial events began (an API
// server drops a watcher that reads more slowly than the kind changes) makes
// the resource fall back to LISTs after maxBroken in a row.
func TestWatchListThatKeepsBreakingFallsBack(t *testing.T) {
	api := &streamAPI{next: make(chan chan step), listed: []any{widget("a", "w1", 1).Object}}
	e := newStreamEnv(t, api)
	for range maxBroken {
		ch := make(chan step)
		api.next <- ch // after a backoff from the second on
		send(t, ch, added("a", "w0", 0))
		send(t, ch, step{err: io.ErrUnexpectedEOF})
	}
	e.eventually(t, "listed", func(b string) bool {
		return up(b) && slices.Equal(lines(b, "widget_n{"), []string{widgetLine("a", "w1", 1)})
	})
	api.mu.Lock()
	defer api.mu.Unlock()
	if api.lists != 1 || api.watchLists != maxBroken+1 { // and one of gizmos
		t.Errorf("%d LISTs after %d watch-lists; want one LIST after %d broken watch-lists of widgets", api.lists, api.watchLists, maxBroken)
	}
}
