// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package source

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/objects"
)

// A raw watch stream is decoded event by event with the projection (plus
// the object's resourceVersion); an ERROR event is the API server's typed
// error (410 Gone: relist); the end of the stream is io.EOF.
func TestWatchDecodesProjectedEvents(t *testing.T) {
	var query string
	c, _ := newClient(t, func(w http.ResponseWriter, r *http.Request) {
		query = r.URL.RawQuery
		_, _ = io.WriteString(w, `{"type":"ADDED","object":{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w1","namespace":"a","uid":"u1","resourceVersion":"11","managedFields":[{"x":1}]},"spec":{"n":3,"big":"skipped"}}}
{"type":"BOOKMARK","object":{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"resourceVersion":"12"}}}
{"type":"DELETED","object":{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w1","namespace":"a","uid":"u1","resourceVersion":"13"},"spec":{"n":3}}}
{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","status":"Failure","message":"too old resource version: 1 (13)","reason":"Expired","code":410}}
`)
	})
	f := &objects.Fields{}
	for _, k := range []string{"name", "namespace", "uid"} {
		f.Child("metadata").Child(k).All = true
	}
	f.Child("spec").Child("n").All = true
	r := Resource{Group: "example.com", Version: "v1", Kind: "Widget", Plural: "widgets", Namespaced: true}
	ev, err := c.Watch(context.Background(), r, ListOptions{Namespace: "a", FieldSelector: "metadata.namespace!=b", Fields: f.Compile()}, "10")
	if err != nil {
		t.Fatal(err)
	}
	defer ev.Close()
	for _, want := range []string{"watch=true", "resourceVersion=10", "allowWatchBookmarks=true", "fieldSelector=metadata.namespace%21%3Db"} {
		if !strings.Contains(query, want) {
			t.Errorf("watch query %q lacks %s", query, want)
		}
	}
	e, err := ev.Next()
	wantObj := map[string]any{"metadata": map[string]any{"name": "w1", "namespace": "a", "uid": "u1", "resourceVersion": "11"}, "spec": map[string]any{"n": int64(3)}}
	if err != nil || e.Type != "ADDED" || e.ResourceVersion != "11" || !reflect.DeepEqual(e.Object, wantObj) {
		t.Errorf("first event %+v, %v; want ADDED at 11 with %v", e, err, wantObj)
	}
	if e, err = ev.Next(); err != nil || e.Type != "BOOKMARK" || e.ResourceVersion != "12" {
		t.Errorf("second event %+v, %v; want a BOOKMARK at 12", e, err)
	}
	if e, err = ev.Next(); err != nil || e.Type != "DELETED" || e.ResourceVersion != "13" {
		t.Errorf("third event %+v, %v; want DELETED at 13", e, err)
	}
	if _, err = ev.Next(); !IsGone(err) {
		t.Errorf("ERROR 410 event: %v, want a Gone error", err)
	}
	if _, err = ev.Next(); !errors.Is(err, io.EOF) {
		t.Errorf("end of stream: %v, want io.EOF", err)
	}
}

// A watch-list asks for the initial events from the most recent version;
// its ADDED events are the scope's objects, decoded with the projection,
// until the bookmark annotated k8s.io/initial-events-end, which carries the
// version the stream goes on from.
func TestWatchListMarksTheEndOfTheInitialEvents(t *testing.T) {
	var query url.Values
	c, _ := newClient(t, func(w http.ResponseWriter, r *http.Request) {
		query = r.URL.Query()
		_, _ = io.WriteString(w, `{"type":"ADDED","object":{"kind":"Widget","metadata":{"name":"w1","namespace":"a","uid":"u1","resourceVersion":"11","annotations":{"big":"skipped"}},"spec":{"n":3}}}
{"type":"ADDED","object":{"kind":"Widget","metadata":{"name":"w2","namespace":"a","uid":"u2","resourceVersion":"12"},"spec":{"n":4}}}
{"type":"BOOKMARK","object":{"kind":"Widget","metadata":{"resourceVersion":"20","annotations":{"k8s.io/initial-events-end":"true"}}}}
{"type":"MODIFIED","object":{"kind":"Widget","metadata":{"name":"w1","namespace":"a","uid":"u1","resourceVersion":"21"},"spec":{"n":5}}}
{"type":"BOOKMARK","object":{"kind":"Widget","metadata":{"resourceVersion":"22"}}}
`)
	})
	f := &objects.Fields{}
	for _, k := range []string{"name", "uid"} {
		f.Child("metadata").Child(k).All = true
	}
	f.Child("spec").Child("n").All = true
	r := Resource{Group: "example.com", Version: "v1", Kind: "Widget", Plural: "widgets", Namespaced: true}
	ev, err := c.WatchList(context.Background(), r, ListOptions{Namespace: "a", Fields: f.Compile()})
	if err != nil {
		t.Fatal(err)
	}
	defer ev.Close()
	for k, want := range map[string]string{"watch": "true", "sendInitialEvents": "true", "resourceVersionMatch": "NotOlderThan", "allowWatchBookmarks": "true", "resourceVersion": ""} {
		if got := query.Get(k); got != want {
			t.Errorf("watch-list query %s=%q, want %q", k, got, want)
		}
	}
	type got struct {
		typ, rv, name string
		n             any
		end           bool
	}
	want := []got{{"ADDED", "11", "w1", int64(3), false}, {"ADDED", "12", "w2", int64(4), false}, {"BOOKMARK", "20", "", nil, true},
		{"MODIFIED", "21", "w1", int64(5), false}, {"BOOKMARK", "22", "", nil, false}}
	for i, w := range want {
		e, err := ev.Next()
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		g := got{e.Type, e.ResourceVersion, "", objects.Dig(e.Object, "spec", "n"), e.InitialEventsEnd}
		g.name, _ = objects.Dig(e.Object, "metadata", "name").(string)
		if g != w {
			t.Errorf("event %d: %+v, want %+v", i, g, w)
		}
		if ann := objects.Dig(e.Object, "metadata", "annotations"); ann != nil {
			t.Errorf("event %d kept annotations %v outside the projection", i, ann)
		}
	}
	if _, err := ev.Next(); !errors.Is(err, io.EOF) {
		t.Errorf("end of stream: %v, want io.EOF", err)
	}
}

// kube-apiserver without the WatchList feature answers 422 Invalid for the
// list options, and a server that ignores them serves a plain watch: both
// are ErrWatchListUnsupported, so the caller lists instead. Other failures
// are not.
func TestWatchListUnsupported(t *testing.T) {
	r := Resource{Group: "example.com", Version: "v1", Kind: "Widget", Plural: "widgets", Namespaced: true}
	rejected, _ := newClient(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnprocessableEntity)
		_, _ = io.WriteString(w, `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"ListOptions.meta.k8s.io \"\" is invalid: sendInitialEvents: Forbidden: sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled","reason":"Invalid","details":{"group":"meta.k8s.io","kind":"ListOptions","causes":[{"reason":"FieldValueForbidden","message":"Forbidden: sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled","field":"sendInitialEvents"}]},"code":422}`)
	})
	if _, err := rejected.WatchList(context.Background(), r, ListOptions{}); !errors.Is(err, ErrWatchListUnsupported) || !apierrors.IsInvalid(err) {
		t.Errorf("422 Invalid ListOptions: %v, want ErrWatchListUnsupported wrapping the API error", err)
	}

	forbidden, _ := newClient(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(w, `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"widgets is forbidden","reason":"Forbidden","details":{"group":"example.com","kind":"widgets"},"code":403}`)
	})
	if _, err := forbidden.WatchList(context.Background(), r, ListOptions{}); errors.Is(err, ErrWatchListUnsupported) || !apierrors.IsForbidden(err) {
		t.Errorf("403: %v, want the Forbidden error alone", err)
	}

	for what, stream := range map[string]string{
		"a plain bookmark": `{"type":"ADDED","object":{"metadata":{"name":"w1","resourceVersion":"11"}}}
{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"30"}}}
`,
		"a change": `{"type":"ADDED","object":{"metadata":{"name":"w1","resourceVersion":"11"}}}
{"type":"DELETED","object":{"metadata":{"name":"w1","resourceVersion":"31"}}}
`,
	} {
		plain, _ := newClient(t, func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, stream) })
		ev, err := plain.WatchList(context.Background(), r, ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if e, err := ev.Next(); err != nil || e.Type != "ADDED" {
			t.Errorf("%s: first event %+v, %v; want ADDED", what, e, err)
		}
		if _, err := ev.Next(); !errors.Is(err, ErrWatchListUnsupported) {
			t.Errorf("%s before the end bookmark: %v, want ErrWatchListUnsupported", what, err)
		}
		ev.Close()
	}
}

// A watch-list stream that ends before the end bookmark is a broken sync
// (io.EOF: retry), unless it ran the whole timeout the API server was
// given: then the server never meant to send the bookmark.
func TestWatchListEndedBeforeTheBookmark(t *testing.T) {
	r := Resource{Group: "example.com", Version: "v1", Kind: "Widget", Plural: "widgets", Namespaced: true}
	c, _ := newClient(t, func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, `{"type":"ADDED","object":{"metadata":{"name":"w1","resourceVersion":"11"}}}`+"\n")
	})
	for _, timedOut := range []bool{false, true} {
		ev, err := c.WatchList(context.Background(), r, ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if timedOut {
			ev.(*events).deadline = time.Now()
		}
		if _, err := ev.Next(); err != nil {
			t.Fatal(err)
		}
		_, err = ev.Next()
		if got := errors.Is(err, ErrWatchListUnsupported); got != timedOut || !timedOut && !errors.Is(err, io.EOF) {
			t.Errorf("stream ended (whole timeout run: %v): %v", timedOut, err)
		}
		ev.Close()
	}
}
