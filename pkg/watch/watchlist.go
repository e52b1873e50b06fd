package watch

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/source"
)

// streams reports whether r is to be synced with a watch-list: until the API
// server has said it does not serve them for r, once, for the exporter's
// lifetime (an API server upgraded to serve them is used at the next
// restart; one downgraded is noticed at the next sync).
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

// streamList syncs st with a watch-list: the initial events build a new
// state, committed at the bookmark that ends them, and the stream is returned
// open after it, with the bookmark's version, to be followed as a watch. A
// stream that breaks before the bookmark commits nothing and marks the
// error, as a failed LIST does; so does one that cannot be opened, except
// that source.ErrWatchListUnsupported at the opening leaves st alone (the
// caller lists instead, at once).
func streamList(ctx context.Context, api API, st *store, r source.Resource, opts source.ListOptions) (source.Events, string, error) {
	ev, err := api.WatchList(ctx, r, opts)
	if err != nil {
		if !errors.Is(err, source.ErrWatchListUnsupported) {
			st.commit(st.begin(), err)
		}
		return nil, "", err
	}
	b := st.begin()
	for {
		e, err := ev.Next()
		if err != nil {
			ev.Close()
			if errors.Is(err, io.EOF) {
				err = fmt.Errorf("watch-list ended before its initial events were complete: %w", io.ErrUnexpectedEOF)
			}
			st.commit(b, err)
			return nil, "", err
		}
		switch {
		case e.InitialEventsEnd:
			st.commit(b, nil)
			return ev, e.ResourceVersion, nil
		case e.Type == "ADDED" && e.Object != nil:
			st.add(b, e.Object)
		}
	}
}
