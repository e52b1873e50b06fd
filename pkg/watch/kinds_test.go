package watch

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/scrape"
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
	e.c.KindsChanged(context.Background())
	e.eventually(t, "Widget up after KindsChanged", up)
}
