package source

import (
	"context"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"

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
