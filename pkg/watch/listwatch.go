// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package watch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	utilnet "k8s.io/apimachinery/pkg/util/net"

	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/source"
)

// API is what watch mode reads through: *source.Client's raw streaming list
// (watch-list), raw paginated LIST and raw watch, all decoded with the kind's
// projection. client-go's reflector over the dynamic client would decode
// whole objects, and hold the whole kind at once during every LIST (its pager
// gathers all pages before the store sees any) or watch-list (its temporary
// store).
type API interface {
	WatchList(ctx context.Context, r source.Resource, opts source.ListOptions) (source.Events, error)
	ListAt(ctx context.Context, r source.Resource, opts source.ListOptions, fn func(items []any) error) (rv string, err error)
	Watch(ctx context.Context, r source.Resource, opts source.ListOptions, rv string) (source.Events, error)
}

// backoff spaces retries of a failing LIST or watch, as client-go's
// reflector does (its defaults are 800ms to 30s; a shorter ceiling here
// brings a kind back sooner after an outage, for a few more requests while
// it lasts).
type backoff struct{ d time.Duration }

func (b *backoff) wait(ctx context.Context) {
	if b.d == 0 {
		b.d = 500 * time.Millisecond
	} else if b.d *= 2; b.d > 10*time.Second {
		b.d = 10 * time.Second
	}
	t := time.NewTimer(b.d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

func (b *backoff) reset() { b.d = 0 }

// run keeps one store in step with one scope of a resource until ctx ends.
// It syncs with a watch-list where the API server serves them: the initial
// events are rendered one at a time and the same stream goes on as the
// watch. Otherwise (source.ErrWatchListUnsupported, remembered per resource)
// it syncs with a paginated LIST rendered page by page, then a watch from the
// list's version. Either way no sync holds the whole kind decoded. It follows
// client-go's reflector: a watch the API server ends (its timeout) is
// reopened from the last version seen; a watch that cannot be opened because
// the API server is unreachable or throttling is retried; anything else (410
// Gone: the version was compacted; a broken stream; RBAC) syncs anew. A
// resync keeps the last state served while it makes progress (see
// store.health): only a watch or a sync that fails marks the kind down.
func (c *Collector) run(ctx context.Context, st *store, r source.Resource, opts source.ListOptions) {
	var bo backoff
	rv := ""
	broken := 0 // watch-lists in a row that broke after their initial events began
	for ctx.Err() == nil {
		var ev source.Events
		if rv == "" {
			start := time.Now()
			var err error
			if c.streams(r) {
				var added int
				ev, rv, added, err = streamList(ctx, c.api, st, r, opts)
				if ctx.Err() != nil {
					return
				}
				switch {
				case errors.Is(err, source.ErrWatchListUnsupported):
					c.stopStreaming(r, err)
					continue
				case err == nil:
					broken = 0
				case added > 0:
					if broken++; broken == maxBroken {
						c.stopStreaming(r, fmt.Errorf("%d watch-lists in a row broke before their initial events were complete (kube-apiserver drops a watcher that reads more slowly than the kind changes); the last: %w", broken, err))
					}
				}
			} else {
				rv, err = st.relist(ctx, c.api, r, opts)
				if ctx.Err() != nil {
					return
				}
			}
			c.Listed(r, err, time.Since(start))
			if err != nil {
				rv = ""
				bo.wait(ctx)
				continue
			}
			bo.reset()
		}
		if ev == nil {
			var err error
			ev, err = c.api.Watch(ctx, r, opts, rv)
			if ctx.Err() != nil {
				return
			}
			if source.IsGone(err) {
				// The version was compacted: resync at once. The last state
				// stays served meanwhile; the API server answered, so
				// nothing says the kind is down.
				rv = ""
				continue
			}
			st.watched(err)
			if err != nil {
				if !retriable(err) {
					rv = ""
				}
				bo.wait(ctx)
				continue
			}
		} else {
			st.watched(nil) // the watch-list's stream is open
		}
		opened := time.Now()
		next, err := st.follow(ev)
		ev.Close()
		st.closed()
		if next != "" {
			rv = next
		}
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, io.EOF):
			// The API server's timeout: reopen from where it ended, at once
			// unless the watch did not last (an API server ending every watch).
			if time.Since(opened) < time.Second {
				bo.wait(ctx)
			} else {
				bo.reset()
			}
		case source.IsGone(err):
			rv = ""
		default:
			rv = ""
			bo.wait(ctx)
		}
	}
}

// retriable are the errors opening a watch after which client-go's reflector
// retries the watch rather than relisting.
func retriable(err error) bool {
	return utilnet.IsConnectionRefused(err) || apierrors.IsTooManyRequests(err)
}
