// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package source

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/objects"
)

// ListAt is List that also returns the list's resourceVersion, from which a
// watch of the same resource and scope follows it. fn sees one page at a
// time: watch mode renders a page and drops it, so a sync never holds a
// whole kind decoded.
func (c *Client) ListAt(ctx context.Context, r Resource, opts ListOptions, fn func(items []any) error) (rv string, err error) {
	_, rv, err = c.list(ctx, r, opts, fn)
	return rv, err
}

// Event is one change a watch reports, its object decoded with the watch's
// projection.
type Event struct {
	Type            string // ADDED, MODIFIED, DELETED or BOOKMARK
	Object          map[string]any
	ResourceVersion string // of the object: where a new watch resumes
	// InitialEventsEnd marks the BOOKMARK (annotated
	// k8s.io/initial-events-end) after a watch-list's initial events: the
	// state sent so far is the whole scope at ResourceVersion.
	InitialEventsEnd bool
}

// Events is an open watch.
type Events interface {
	// Next blocks for the next event. It returns io.EOF when the API server
	// ended the watch (its timeout), the API server's error (a typed API
	// error: 410 Gone means the version is too old, relist) for an ERROR
	// event, or the connection's error.
	Next() (Event, error)
	Close() error
}

// Watch opens a watch of a resource from resourceVersion rv (a LIST's), with
// bookmarks. Each event's object is decoded from the raw stream with
// opts.Fields plus metadata.resourceVersion, so a watch never decodes a
// whole object either.
func (c *Client) Watch(ctx context.Context, r Resource, opts ListOptions, rv string) (Events, error) {
	e, err := c.watch(ctx, r, opts, rv, false)
	if err != nil {
		return nil, err
	}
	return e, nil
}

// ErrWatchListUnsupported is (wrapped in) WatchList's error when the API
// server does not serve streaming lists for the resource: read it with a
// paginated LIST instead.
var ErrWatchListUnsupported = errors.New("streaming lists (WatchList) not served")

// WatchList opens a streaming list (KEP-3157, client-go's reflector
// watchList): a watch with sendInitialEvents=true from the most recent
// version (resourceVersion unset, resourceVersionMatch=NotOlderThan: a
// consistent read, as a LIST's) that first sends the scope's objects as
// ADDED events, one at a time, then a BOOKMARK with InitialEventsEnd set, and
// then goes on as a watch from there. Events are decoded as Watch's.
//
// kube-apiserver without the WatchList feature (a beta gate, on by default
// in v1.32 and since v1.34) rejects the request with 422 Invalid on the list
// options (before v1.27: "resourceVersionMatch is forbidden for watch"); that
// is ErrWatchListUnsupported. So is a server that ignores the parameters and
// serves a plain watch, which Next notices: anything but ADDED before the end
// bookmark (a plain watch from "now" sends periodic bookmarks without the
// annotation, and changes), or the stream running its whole timeout without
// ending the initial events.
func (c *Client) WatchList(ctx context.Context, r Resource, opts ListOptions) (Events, error) {
	e, err := c.watch(ctx, r, opts, "", true)
	if err != nil {
		if isListOptionsInvalid(err) {
			return nil, fmt.Errorf("%w: %w", ErrWatchListUnsupported, err)
		}
		return nil, err
	}
	e.initial = true
	return e, nil
}

// isListOptionsInvalid is kube-apiserver's answer to list options it does
// not accept: 422 Invalid of kind meta.k8s.io/ListOptions.
func isListOptionsInvalid(err error) bool {
	var se apierrors.APIStatus
	if !apierrors.IsInvalid(err) || !errors.As(err, &se) {
		return false
	}
	d := se.Status().Details
	return d != nil && d.Kind == "ListOptions"
}

func (c *Client) watch(ctx context.Context, r Resource, opts ListOptions, rv string, list bool) (*events, error) {
	ctx = context.WithValue(ctx, resourceKey{}, r)
	path := r.path(opts.Namespace)
	// The API server ends a watch after timeoutSeconds; spread over 5-10
	// minutes as client-go's reflector does, so watches do not reopen together.
	timeout := 300 + rand.IntN(300)
	req := c.rest.Get().AbsPath(path, r.Plural).Param("watch", "true").
		Param("allowWatchBookmarks", "true").
		Param("timeoutSeconds", strconv.Itoa(timeout))
	if list {
		req.Param("sendInitialEvents", "true").Param("resourceVersionMatch", "NotOlderThan")
	} else {
		req.Param("resourceVersion", rv)
	}
	if opts.FieldSelector != "" && r.Namespaced {
		req.Param("fieldSelector", opts.FieldSelector)
	}
	opened := time.Now()
	body, err := req.SetHeader("Accept", "application/json").Stream(ctx)
	if err != nil {
		return nil, err
	}
	return &events{body: body, dec: json.NewDecoder(body), fields: eventFields(opts.Fields),
		deadline: opened.Add(time.Duration(timeout) * time.Second)}, nil
}

type events struct {
	body   io.ReadCloser
	dec    *json.Decoder
	raw    json.RawMessage
	fields *objects.Fields
	dd     objects.Decoder
	// initial is set while a watch-list's initial events are being read.
	initial bool
	// deadline is when the API server ends the watch (its timeoutSeconds).
	deadline time.Time
}

func (e *events) Close() error { return e.body.Close() }

func (e *events) Next() (Event, error) {
	e.raw = e.raw[:0]
	if err := e.dec.Decode(&e.raw); err != nil {
		if e.initial && errors.Is(err, io.EOF) && !time.Now().Before(e.deadline) {
			return Event{}, fmt.Errorf("%w: the watch ran its whole timeout without the initial-events-end bookmark", ErrWatchListUnsupported)
		}
		return Event{}, err
	}
	v, err := e.dd.Decode(e.raw, e.fields)
	if err != nil {
		return Event{}, fmt.Errorf("decoding a watch event: %w", err)
	}
	m, _ := v.(map[string]any)
	typ, _ := m["type"].(string)
	obj, _ := m["object"].(map[string]any)
	if typ == "ERROR" {
		return Event{}, statusError(obj)
	}
	ev := Event{Type: typ, Object: obj, ResourceVersion: objects.Meta(obj, "resourceVersion")}
	if typ == "BOOKMARK" {
		// A bookmark is tiny and rare: its annotation is read on its own
		// rather than added to every object's projection.
		b, err := e.dd.Decode(e.raw, bookmarkFields)
		if err != nil {
			return Event{}, fmt.Errorf("decoding a watch bookmark: %w", err)
		}
		ann, _ := objects.Dig(b, "object", "metadata", "annotations").(map[string]any)
		ev.InitialEventsEnd = ann[metav1.InitialEventsAnnotationKey] == "true"
	}
	if e.initial {
		switch {
		case ev.InitialEventsEnd:
			e.initial = false
		case typ != "ADDED":
			return Event{}, fmt.Errorf("%w: a %s event came before the initial-events-end bookmark (the server serves a plain watch)", ErrWatchListUnsupported, typ)
		}
	}
	return ev, nil
}

var bookmarkFields = func() *objects.Fields {
	f := &objects.Fields{}
	f.Child("object").Child("metadata").Child("annotations").Child(metav1.InitialEventsAnnotationKey).All = true
	return f
}()

// statusError is the typed API error of an ERROR event's Status.
func statusError(obj map[string]any) error {
	st := metav1.Status{Status: metav1.StatusFailure}
	if code, ok := obj["code"].(int64); ok {
		st.Code = int32(code)
	}
	if reason, ok := obj["reason"].(string); ok {
		st.Reason = metav1.StatusReason(reason)
	}
	st.Message, _ = obj["message"].(string)
	return &apierrors.StatusError{ErrStatus: st}
}

// eventFields is the projection of a watch event: its type, the given
// projection of its object with the object's resourceVersion, and the
// fields of a Status (an ERROR event's object).
func eventFields(item *objects.Fields) *objects.Fields {
	obj := &objects.Fields{All: true}
	if item != nil && !item.All {
		obj = &objects.Fields{Any: item.Any, Children: map[string]*objects.Fields{}}
		for k, v := range item.Children {
			obj.Children[k] = v
		}
		md := &objects.Fields{Children: map[string]*objects.Fields{}}
		if old := item.Children["metadata"]; old != nil {
			if old.All {
				md = old
			} else {
				md.Any = old.Any
				for k, v := range old.Children {
					md.Children[k] = v
				}
			}
		}
		if !md.All {
			md.Child("resourceVersion").All = true
		}
		obj.Children["metadata"] = md
		for _, k := range []string{"code", "reason", "message"} {
			if obj.Children[k] == nil {
				obj.Child(k).All = true
			}
		}
	}
	return &objects.Fields{Children: map[string]*objects.Fields{"type": {All: true}, "object": obj}}
}
