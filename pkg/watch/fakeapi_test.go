// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package watch

import (
	"context"
	"io"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kwatch "k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"

	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/source"
)

// dynAPI is the watch collector's API over client-go's fake dynamic client,
// for unit tests: its reactors inject failures. It serves no watch-lists
// (as an API server without the WatchList feature), so the tests over it
// exercise the LIST path; watchlist_test.go has the watch-list path. The
// real API (source.Client) is exercised on the real API server in e2e/.
type dynAPI struct{ dyn dynamic.Interface }

func (dynAPI) WatchList(context.Context, source.Resource, source.ListOptions) (source.Events, error) {
	return nil, source.ErrWatchListUnsupported
}

func (d dynAPI) client(r source.Resource, opts source.ListOptions) dynamic.ResourceInterface {
	return d.dyn.Resource(schema.GroupVersionResource{Group: r.Group, Version: r.Version, Resource: r.Plural}).Namespace(opts.Namespace)
}

func (d dynAPI) ListAt(ctx context.Context, r source.Resource, opts source.ListOptions, fn func(items []any) error) (string, error) {
	l, err := d.client(r, opts).List(ctx, metav1.ListOptions{FieldSelector: opts.FieldSelector})
	if err != nil {
		return "", err
	}
	items := make([]any, len(l.Items))
	for i := range l.Items {
		items[i] = runtime.DeepCopyJSON(l.Items[i].Object)
	}
	return l.GetResourceVersion(), fn(items)
}

func (d dynAPI) Watch(ctx context.Context, r source.Resource, opts source.ListOptions, rv string) (source.Events, error) {
	w, err := d.client(r, opts).Watch(ctx, metav1.ListOptions{FieldSelector: opts.FieldSelector, ResourceVersion: rv})
	if err != nil {
		return nil, err
	}
	return dynEvents{ctx, w}, nil
}

type dynEvents struct {
	ctx context.Context
	w   kwatch.Interface
}

func (e dynEvents) Close() error { e.w.Stop(); return nil }

func (e dynEvents) Next() (source.Event, error) {
	var ev kwatch.Event
	var ok bool
	select {
	case ev, ok = <-e.w.ResultChan():
		if !ok {
			return source.Event{}, io.EOF
		}
	case <-e.ctx.Done(): // as the real watch's stream ends with its request
		return source.Event{}, e.ctx.Err()
	}
	switch o := ev.Object.(type) {
	case *metav1.Status:
		return source.Event{}, &apierrors.StatusError{ErrStatus: *o}
	case *unstructured.Unstructured:
		return source.Event{Type: string(ev.Type), Object: runtime.DeepCopyJSON(o.Object), ResourceVersion: o.GetResourceVersion()}, nil
	}
	return source.Event{Type: string(ev.Type)}, nil
}
