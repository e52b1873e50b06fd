// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package source

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/rest"
)

// These are unit tests of the client against an httptest server standing in
// for the API server's HTTP behaviour (429, Retry-After, Warning headers,
// Status bodies), which a real kube-apiserver cannot be made to produce on
// demand. The real path is proven in e2e/.

var widgets = Resource{Group: "example.com", Version: "v1", Kind: "Widget", Plural: "widgets", Namespaced: true}

func page(names []string, cont string) []byte {
	var items []any
	for _, n := range names {
		items = append(items, map[string]any{"metadata": map[string]any{"name": n, "namespace": "ns"}})
	}
	b, _ := json.Marshal(map[string]any{"kind": "WidgetList", "apiVersion": "example.com/v1", "metadata": map[string]any{"continue": cont}, "items": items})
	return b
}

func status(code int, reason string) []byte {
	b, _ := json.Marshal(map[string]any{"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": code, "reason": reason, "message": "from the test server"})
	return b
}

type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) { l.mu.Lock(); defer l.mu.Unlock(); return l.b.Write(p) }
func (l *logBuf) String() string              { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

func newClient(t *testing.T, h http.HandlerFunc) (*Client, *logBuf) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := New(&rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	logs := &logBuf{}
	c.Log = slog.New(slog.NewTextHandler(logs, nil))
	return c, logs
}

func names(t *testing.T, c *Client, ctx context.Context, r Resource, opts ListOptions) ([]string, error) {
	t.Helper()
	var got []string
	_, err := c.List(ctx, r, opts, func(items []any) error {
		for _, it := range items {
			md := it.(map[string]any)["metadata"].(map[string]any)
			got = append(got, md["name"].(string))
		}
		return nil
	})
	return got, err
}

func TestListFollowsContinueTokensInOrder(t *testing.T) {
	var paths []string
	var mu sync.Mutex
	c, _ := newClient(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.Path+"?"+r.URL.RawQuery)
		mu.Unlock()
		switch r.URL.Query().Get("continue") {
		case "":
			w.Write(page([]string{"a", "b"}, "t1"))
		case "t1":
			w.Write(page([]string{"c"}, ""))
		}
	})
	c.PageSize = 2
	got, err := names(t, c, context.Background(), widgets, ListOptions{Namespace: "ns", FieldSelector: "metadata.namespace!=x"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != "a,b,c" {
		t.Errorf("items = %v, want a,b,c", got)
	}
	want := []string{
		"/apis/example.com/v1/namespaces/ns/widgets?fieldSelector=metadata.namespace%21%3Dx&limit=2",
		"/apis/example.com/v1/namespaces/ns/widgets?continue=t1&fieldSelector=metadata.namespace%21%3Dx&limit=2",
	}
	if strings.Join(paths, " ") != strings.Join(want, " ") {
		t.Errorf("requests\n%v\nwant\n%v", paths, want)
	}
}

// Priority and fairness answers 429 with Retry-After: client-go retries.
func TestThrottledListIsRetried(t *testing.T) {
	var n atomic.Int32
	c, _ := newClient(t, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) <= 2 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			w.Write(status(429, "TooManyRequests"))
			return
		}
		w.Write(page([]string{"a"}, ""))
	})
	got, err := names(t, c, context.Background(), widgets, ListOptions{})
	if err != nil || strings.Join(got, ",") != "a" {
		t.Fatalf("got %v, %v; want [a] after two 429s", got, err)
	}
	if n.Load() != 3 {
		t.Errorf("requests = %d, want 3", n.Load())
	}
}

// Throttled past the caller's deadline: the list fails (the kind is then
// down), it does not hang on and on.
func TestThrottlingEndsAtTheDeadline(t *testing.T) {
	var n atomic.Int32
	c, _ := newClient(t, func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusTooManyRequests)
		w.Write(status(429, "TooManyRequests"))
	})
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	got, err := names(t, c, ctx, widgets, ListOptions{})
	if err == nil || len(got) != 0 {
		t.Fatalf("got %v, %v; want an error and no items", got, err)
	}
	if !errors.Is(err, context.DeadlineExceeded) && !apierrors.IsTooManyRequests(err) {
		t.Errorf("err = %v, want the deadline or a 429", err)
	}
	if n.Load() < 2 {
		t.Errorf("requests = %d, want at least one retry", n.Load())
	}
}

func TestTypedErrors(t *testing.T) {
	for _, tc := range []struct {
		code   int
		reason string
		is     func(error) bool
	}{
		{403, "Forbidden", apierrors.IsForbidden},
		{404, "NotFound", apierrors.IsNotFound},
		{410, "Expired", IsGone},
		{500, "InternalError", apierrors.IsInternalError},
	} {
		t.Run(tc.reason, func(t *testing.T) {
			c, _ := newClient(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tc.code)
				w.Write(status(tc.code, tc.reason))
			})
			_, err := names(t, c, context.Background(), widgets, ListOptions{})
			if !tc.is(err) {
				t.Errorf("err = %v (%T), want a typed %s", err, err, tc.reason)
			}
		})
	}
}

// A Status body that is not JSON still gives a typed error from the code.
func TestTypedErrorFromPlainBody(t *testing.T) {
	c, _ := newClient(t, func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusForbidden)
	})
	_, err := names(t, c, context.Background(), widgets, ListOptions{})
	if !apierrors.IsForbidden(err) {
		t.Errorf("err = %v, want forbidden", err)
	}
}

func TestWarningsLoggedOncePerKindAndVersion(t *testing.T) {
	c, logs := newClient(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Warning", `299 - "example.com/`+strings.Split(r.URL.Path, "/")[3]+` Widget is deprecated"`)
		w.Write(page([]string{"a"}, ""))
	})
	v2 := widgets
	v2.Version = "v2"
	for range 3 {
		for _, r := range []Resource{widgets, v2} {
			if _, err := names(t, c, context.Background(), r, ListOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	out := logs.String()
	if n := strings.Count(out, "API server warning"); n != 2 {
		t.Errorf("%d warning lines, want 2 (one per version):\n%s", n, out)
	}
	for _, want := range []string{"example.com/v1 Widget is deprecated", "example.com/v2 Widget is deprecated"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}

// A deprecated version (read because the spec names it) is logged at info
// level; any other API server warning at warning level.
func TestDeprecationWarningIsInfo(t *testing.T) {
	c, logs := newClient(t, func(w http.ResponseWriter, r *http.Request) {
		text := "example.com/v1 Widget is deprecated; use example.com/v2"
		if strings.Split(r.URL.Path, "/")[3] == "v2" {
			text = "unknown field spec.x"
		}
		w.Header().Add("Warning", `299 - "`+text+`"`)
		w.Write(page([]string{"a"}, ""))
	})
	v2 := widgets
	v2.Version = "v2"
	for _, r := range []Resource{widgets, v2} {
		if _, err := names(t, c, context.Background(), r, ListOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	var info, warn int
	for _, l := range strings.Split(logs.String(), "\n") {
		switch {
		case strings.Contains(l, "level=INFO") && strings.Contains(l, "is deprecated"):
			info++
		case strings.Contains(l, "level=WARN") && strings.Contains(l, "unknown field"):
			warn++
		}
	}
	if info != 1 || warn != 1 {
		t.Errorf("deprecation at info: %d lines, other warning at warn: %d lines; want 1 and 1:\n%s", info, warn, logs.String())
	}
}

// The warning set is bounded: a server that sends a new warning on every
// request cannot grow it without limit.
func TestWarningMemoryIsBounded(t *testing.T) {
	var n atomic.Int32
	c, _ := newClient(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Warning", fmt.Sprintf(`299 - "warning %d"`, n.Add(1)))
		w.Write([]byte(`{"status":"ok"}`))
	})
	for range 1100 {
		if err := c.Livez(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if c.warnings.Len() > 1024 {
		t.Errorf("%d warnings remembered, want at most 1024", c.warnings.Len())
	}
}

func TestFnErrorStopsTheList(t *testing.T) {
	var n atomic.Int32
	c, _ := newClient(t, func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Write(page([]string{"a"}, fmt.Sprint("t", n.Load())))
	})
	stop := errors.New("stop")
	_, err := c.List(context.Background(), widgets, ListOptions{}, func([]any) error { return stop })
	if !errors.Is(err, stop) {
		t.Errorf("err = %v, want the callback's", err)
	}
}

func TestServedPickAndResolve(t *testing.T) {
	s := Served{
		"example.com/Widget": {{Group: "example.com", Version: "v2", Kind: "Widget"}, {Group: "example.com", Version: "v1", Kind: "Widget"}},
		"example.com/Gadget": {{Group: "example.com", Version: "v1", Kind: "Gadget"}},
	}
	if r, ok := s.Pick("example.com", "v1", "Widget"); !ok || r.Version != "v1" {
		t.Errorf("Pick v1 = %v %v", r, ok)
	}
	if r, ok := s.Pick("example.com", "v9", "Widget"); !ok || r.Version != "v2" {
		t.Errorf("Pick of an unserved version = %v %v, want the preferred v2", r, ok)
	}
	if _, ok := s.Pick("example.com", "v1", "Missing"); ok {
		t.Error("Pick of a missing kind succeeded")
	}
	var got []string
	for _, r := range s.Resolve("example.com", "*", "*") {
		got = append(got, r.Kind+"/"+r.Version)
	}
	if strings.Join(got, ",") != "Gadget/v1,Widget/v1,Widget/v2" {
		t.Errorf("Resolve */* = %v", got)
	}
}

// An API server that accepts discovery requests and never answers cannot
// hold discovery: it fails after its timeout (the caller's round reports
// every kind down, and the next round tries again).
func TestDiscoveryTimesOut(t *testing.T) {
	defer func(d time.Duration) { discoveryTimeout = d }(discoveryTimeout)
	discoveryTimeout = 200 * time.Millisecond
	hung := make(chan struct{})
	c, _ := newClient(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hung:
		case <-r.Context().Done():
		}
	})
	defer close(hung)
	done := make(chan error, 1)
	go func() {
		_, err := c.Discover(map[string]bool{"example.com": true})
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("discovery against a server that never answers succeeded")
		}
	case <-time.After(30 * time.Second): // a liveness guard, not the timeout under test
		t.Fatal("discovery still hangs")
	}
}
