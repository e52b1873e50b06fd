// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package watch

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/source"
)

// streams reports whether r is to be synced with a watch-list: unless the
// API server said it does not serve them for r, or they kept breaking, which
// holds for the exporter's lifetime (an API server upgraded to serve them is
// used from the next restart; one downgraded is noticed at the next sync).
func (c *Collector) streams(r source.Resource) bool {
	_, no := c.noWatchList.Load(r)
	return !no
}

// stopStreaming remembers that r is synced with paginated LISTs from now on.
func (c *Collector) stopStreaming(r source.Resource, err error) {
	if _, was := c.noWatchList.LoadOrStore(r, true); !was {
		c.Log().Info("API server does not serve streaming lists for this resource; syncing it with paginated LISTs", "resource", r.Plural+"."+r.Group, "version", r.Version, "reason", err)
	}
}

// maxBroken is how many watch-lists of a scope in a row may break after
// their initial events began before the resource falls back to LISTs.
// kube-apiserver drops a watcher whose buffer of new events overflows while
// it still reads the initial ones (a kind changing faster than the exporter
// renders it); a paginated LIST does not depend on that. An API server that
// restarts breaks one, or ends watches before any event.
const maxBroken = 3

// streamList syncs st with a watch-list: the initial events build a new
// state, committed at the bookmark that ends them, and the stream is returned
// open after it, with the bookmark's version, to be followed as a watch. A
// stream that breaks before the bookmark commits nothing and marks the
// error, as a failed LIST does; so does one that cannot be opened, except
// that source.ErrWatchListUnsupported at the opening leaves st alone (the
// caller lists instead, at once). added is how many initial events came.
func streamList(ctx context.Context, api API, st *store, r source.Resource, opts source.ListOptions) (_ source.Events, rv string, added int, _ error) {
	ev, err := api.WatchList(ctx, r, opts)
	if err != nil {
		if !errors.Is(err, source.ErrWatchListUnsupported) {
			st.commit(st.begin(), err)
		}
		return nil, "", 0, err
	}
	// Reading and decoding the stream overlaps rendering, as the LIST path's
	// pages do, a bounded number of objects ahead. The reader stops after the
	// end bookmark: the stream is then the caller's.
	type next struct {
		e   source.Event
		err error
	}
	ahead := make(chan next, 64)
	go func() {
		defer close(ahead)
		for {
			e, err := ev.Next()
			ahead <- next{e, err}
			if err != nil || e.InitialEventsEnd {
				return
			}
		}
	}()
	b := st.begin()
	for n := range ahead {
		switch {
		case n.err != nil:
			ev.Close()
			err := n.err
			if errors.Is(err, io.EOF) {
				err = fmt.Errorf("watch-list ended before its initial events were complete: %w", io.ErrUnexpectedEOF)
			}
			st.commit(b, err)
			return nil, "", added, err
		case n.e.InitialEventsEnd:
			st.commit(b, nil)
			return ev, n.e.ResourceVersion, added, nil
		case n.e.Type == "ADDED" && n.e.Object != nil:
			st.add(b, n.e.Object)
			added++
		}
	}
	err = errors.New("watch-list reader stopped without an error or the end bookmark")
	st.commit(b, err)
	return nil, "", added, err
}
