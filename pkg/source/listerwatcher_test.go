// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package source

import (
	"context"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/objects"
)

// The reflector's view of a projected read: a LIST of every page as one
// list with the first page's resourceVersion and only the projected fields
// of each item; a watch whose events carry the projected objects (a
// BOOKMARK its version), an ERROR event as the reflector's Error event with
// the API server's Status (410: relist), and the end of the stream as the
// end of the channel.
func TestListerWatcherForTheReflector(t *testing.T) {
	var limits []string
	c, _ := newClient(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("watch") == "true" {
			_, _ = io.WriteString(w, `{"type":"ADDED","object":{"metadata":{"name":"c","resourceVersion":"8"},"spec":{"group":"c.test","schema":"megabytes"}}}
{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"9"}}}
{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","status":"Failure","message":"too old resource version","reason":"Expired","code":410}}
`)
			return
		}
		limits = append(limits, r.URL.Query().Get("limit"))
		if r.URL.Query().Get("continue") == "" {
			_, _ = io.WriteString(w, `{"metadata":{"resourceVersion":"7","continue":"p2"},"items":[{"metadata":{"name":"a"},"spec":{"group":"a.test","schema":"megabytes"}}]}`)
			return
		}
		_, _ = io.WriteString(w, `{"metadata":{"resourceVersion":"7"},"items":[{"metadata":{"name":"b"},"spec":{"group":"b.test","schema":"megabytes"}}]}`)
	})
	f := &objects.Fields{}
	f.Child("metadata").Child("name").All = true
	f.Child("spec").Child("group").All = true
	lw := c.ListerWatcher(Resource{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition", Plural: "customresourcedefinitions"},
		ListOptions{Fields: f.Compile(), Limit: 1})
	ctx := context.Background()

	obj, err := lw.ListWithContext(ctx, metav1.ListOptions{ResourceVersion: "0"})
	if err != nil {
		t.Fatal(err)
	}
	list := obj.(*unstructured.UnstructuredList)
	var got []map[string]any
	for _, it := range list.Items {
		got = append(got, it.Object)
	}
	want := []map[string]any{
		{"metadata": map[string]any{"name": "a"}, "spec": map[string]any{"group": "a.test"}},
		{"metadata": map[string]any{"name": "b"}, "spec": map[string]any{"group": "b.test"}},
	}
	if !reflect.DeepEqual(got, want) || list.GetResourceVersion() != "7" {
		t.Errorf("list %v at %q; want %v at 7", got, list.GetResourceVersion(), want)
	}
	if strings.Join(limits, ",") != "1,1" {
		t.Errorf("pages asked with limits %v, want ListOptions.Limit (1) each", limits)
	}

	w, err := lw.WatchWithContext(ctx, metav1.ListOptions{ResourceVersion: "7"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	next := func() (watch.Event, bool) {
		select {
		case e, ok := <-w.ResultChan():
			return e, ok
		case <-time.After(30 * time.Second): // a liveness guard
			t.Fatal("no event")
			return watch.Event{}, false
		}
	}
	e, _ := next()
	if u, ok := e.Object.(*unstructured.Unstructured); e.Type != watch.Added || !ok || u.GetName() != "c" || u.GetResourceVersion() != "8" ||
		!reflect.DeepEqual(u.Object["spec"], map[string]any{"group": "c.test"}) {
		t.Errorf("first event %v %#v; want ADDED of c at 8, projected", e.Type, e.Object)
	}
	if e, _ = next(); e.Type != watch.Bookmark || e.Object.(*unstructured.Unstructured).GetResourceVersion() != "9" {
		t.Errorf("second event %v %#v; want a BOOKMARK at 9", e.Type, e.Object)
	}
	e, _ = next()
	if st, ok := e.Object.(*metav1.Status); e.Type != watch.Error || !ok || !IsGone(apierrors.FromObject(st)) {
		t.Errorf("third event %v %#v; want an Error carrying the 410 Status", e.Type, e.Object)
	}
	if _, open := next(); open {
		t.Error("the channel is still open after the Error event")
	}
}
