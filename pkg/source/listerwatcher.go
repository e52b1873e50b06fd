// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
)

// ListerWatcher is a resource scope read for client-go's reflector through
// the projected LIST and watch: its objects carry only opts.Fields (and
// their resourceVersion), so that neither a LIST, which the reflector
// gathers whole, nor an event is ever held decoded whole. It is for small
// state kept from a kind whose objects are large (the CRDs the policy
// watcher reads: their schemas are megabytes); a LIST ignores the
// reflector's resourceVersion and reads the current state.
func (c *Client) ListerWatcher(r Resource, opts ListOptions) cache.ListerWatcherWithContext {
	return listerWatcher{c, r, opts}
}

type listerWatcher struct {
	c    *Client
	r    Resource
	opts ListOptions
}

func (lw listerWatcher) ListWithContext(ctx context.Context, _ metav1.ListOptions) (runtime.Object, error) {
	list := &unstructured.UnstructuredList{Object: map[string]any{}}
	rv, err := lw.c.ListAt(ctx, lw.r, lw.opts, func(items []any) error {
		for _, it := range items {
			if m, ok := it.(map[string]any); ok {
				list.Items = append(list.Items, unstructured.Unstructured{Object: m})
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	list.SetResourceVersion(rv)
	return list, nil
}

func (lw listerWatcher) WatchWithContext(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
	ctx, cancel := context.WithCancel(ctx)
	ev, err := lw.c.Watch(ctx, lw.r, lw.opts, o.ResourceVersion)
	if err != nil {
		cancel()
		return nil, err
	}
	w := &eventWatch{ch: make(chan watch.Event), stop: make(chan struct{}), cancel: cancel}
	go w.run(ev)
	return w, nil
}

// eventWatch is an open projected watch as a watch.Interface: the errors
// are what client-go's StreamWatcher makes of them (the end of the stream
// closes the channel; an ERROR event or an undecodable one is an Error
// event), so that the reflector reopens, relists or backs off as usual.
type eventWatch struct {
	ch     chan watch.Event
	stop   chan struct{}
	once   sync.Once
	cancel context.CancelFunc
}

func (w *eventWatch) ResultChan() <-chan watch.Event { return w.ch }

func (w *eventWatch) Stop() {
	w.once.Do(func() {
		close(w.stop)
		w.cancel() // ends the request, and so a Next that waits
	})
}

func (w *eventWatch) run(ev Events) {
	defer close(w.ch)
	defer ev.Close()
	defer w.Stop()
	for {
		e, err := ev.Next()
		var out watch.Event
		switch {
		case err == nil:
			out = watch.Event{Type: watch.EventType(e.Type), Object: &unstructured.Unstructured{Object: e.Object}}
			if e.Object == nil {
				out.Object = &unstructured.Unstructured{Object: map[string]any{}}
			}
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, context.Canceled),
			utilnet.IsProbableEOF(err), utilnet.IsTimeout(err):
			return // the stream ended: the reflector watches again
		default:
			var st apierrors.APIStatus
			if !errors.As(err, &st) {
				st = apierrors.NewInternalError(fmt.Errorf("unable to decode an event from the watch stream: %w", err))
			}
			status := st.Status()
			out = watch.Event{Type: watch.Error, Object: &status}
		}
		select {
		case w.ch <- out:
		case <-w.stop:
			return
		}
		if out.Type == watch.Error {
			return
		}
	}
}
