// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package watch

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic/fake"

	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/scrape"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/source"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/spec"
)

// KindsChanged (what a policy CRD coming or going triggers) reconciles at
// once; without it the kinds are looked at again only after Rediscover.
func TestKindsChangedReconcilesAtOnce(t *testing.T) {
	e := newEnv(t, scrape.Options{}, widget("a", "w1", 1), gizmo("g"))
	e.c.Rediscover = time.Hour
	only := []*spec.Kind{e.plan.Kinds[1]} // Gizmo
	e.kinds.Store(&only)
	e.eventually(t, "Gizmo up alone", func(b string) bool { return strings.Contains(b, gizmoUp) && !strings.Contains(b, "Widget") })

	e.kinds.Store(&e.plan.Kinds)
	if b := e.body(t); strings.Contains(b, "Widget") {
		t.Fatalf("Widget served before the change was announced or Rediscover passed:\n%s", b)
	}
	e.c.KindsChanged()
	e.eventually(t, "Widget up after KindsChanged", up)
}

// gatedDiscoverer is discoverer whose first discovery, once started (it
// says so on started), waits for release.
type gatedDiscoverer struct {
	discoverer
	once             sync.Once
	started, release chan struct{}
}

func (d *gatedDiscoverer) Discover(groups map[string]bool) (source.Served, error) {
	s := *d.served.Load() // what the API server serves when it starts
	d.once.Do(func() {
		close(d.started)
		<-d.release
	})
	return s, nil
}

// A round applied after a newer one must not undo it: a scrape's discovery
// that started before a policy CRD came (and so does not see its kind
// served) ends after KindsChanged announced the new kind. The new kind is
// watched all the same, without waiting for Rediscover: KindsChanged's round
// discovers after the announcement and is applied after the older one.
func TestKindsChangedAppliedAfterAnOlderRound(t *testing.T) {
	plan, _, err := spec.Load("t.yaml", []byte(testSpec))
	if err != nil {
		t.Fatal(err)
	}
	widgetOnly := source.Served{"example.com/Widget": served["example.com/Widget"]}
	d := &gatedDiscoverer{started: make(chan struct{}), release: make(chan struct{})}
	d.served.Store(&widgetOnly)
	var kinds atomic.Pointer[[]*spec.Kind]
	kinds.Store(&[]*spec.Kind{plan.Kinds[0]})
	ctx, cancel := context.WithCancel(context.Background())
	api := dynAPI{fake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{widgets: "WidgetList", gizmos: "GizmoList"}, widget("a", "w1", 1), gizmo("g"))}
	c := NewWithKinds(ctx, scrape.KindsFunc(func(context.Context) []*spec.Kind { return *kinds.Load() }), d, api, scrape.Options{}, nil, slog.Default())
	c.Rediscover = time.Hour // no scrape rediscovers: only KindsChanged can bring Gizmo
	t.Cleanup(func() { cancel(); c.Wait() })
	e := &env{c: c}

	go c.Warm(ctx) // the older round, which waits in its discovery
	<-d.started
	all := served
	d.served.Store(&all) // Gizmo's CRD is established...
	kinds.Store(&plan.Kinds)
	c.KindsChanged() // ...and announced
	close(d.release)
	e.eventually(t, "Gizmo watched and up", up)
}
