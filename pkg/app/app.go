// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/KimMachineGun/automemlimit/memlimit"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	metricsspec "github.com/kuadrant/gateway-api-metrics-exporter/metrics-spec"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/objects"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/policies"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/scrape"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/server"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/source"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/spec"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/telemetry"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/watch"
)

// ProgramName is what --version and the logs call the exporter.
const ProgramName = "gateway-api-metrics-exporter"

// The build metadata lives in github.com/prometheus/common/version, set by the
// Makefile's -ldflags -X like every Prometheus exporter's, so that --version,
// the landing page and gateway_metrics_build_info tell the same thing. A plain
// `go build` or `go install` leaves Version empty: take the module version.
func init() {
	if version.Version != "" {
		return
	}
	version.Version = "devel"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		version.Version = bi.Main.Version
	}
}

// VersionText is what --version prints (Prometheus exporters' format).
func VersionText() string { return version.Print(ProgramName) }

// NewLogger logs to w at the level -v asks for.
func NewLogger(w io.Writer, verbosity int) *slog.Logger {
	level := slog.LevelInfo
	if verbosity >= 4 {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

// LoadPlan compiles the spec the way KSM picks its config: inline YAML wins
// over the file; with neither, the embedded metrics-spec. Warnings are logged.
func LoadPlan(inline, file string, continueWithoutFile bool, log *slog.Logger) (*spec.Plan, error) {
	var (
		plan     *spec.Plan
		warnings []spec.Warning
		err      error
	)
	switch {
	case inline != "":
		plan, warnings, err = spec.Load("--custom-resource-state-config", []byte(inline))
	case file != "":
		data, rerr := os.ReadFile(file)
		if rerr != nil {
			if !continueWithoutFile {
				return nil, fmt.Errorf("reading --custom-resource-state-config-file: %w", rerr)
			}
			log.Warn("custom resource state config file unreadable; serving the embedded metrics-spec", "err", rerr)
			plan, warnings, err = spec.LoadFS(metricsspec.FS)
			break
		}
		plan, warnings, err = spec.Load(file, data)
	default:
		plan, warnings, err = spec.LoadFS(metricsspec.FS)
	}
	for _, w := range warnings {
		log.Warn("spec: " + w.String())
	}
	if err != nil {
		return nil, fmt.Errorf("invalid metrics spec: %w", err)
	}
	return plan, nil
}

// leftOut says which families of the embedded metrics-spec a given config
// does not serve (an old gateway-api-state-metrics config leaves out every
// family added since, and the alerts and panels that read them stay empty),
// and how to get them; "" when it leaves out none. Families that keep drops
// (--metric-allowlist/denylist, and the opt-in ones --metric-opt-in-list
// does not name) were left out on purpose and are not named. Past a dozen it
// names the kinds, with how many families each.
func leftOut(embedded, plan *spec.Plan, keep func(*spec.Family) bool) string {
	have := map[string]bool{}
	for _, k := range plan.Kinds {
		for _, f := range k.Families {
			have[f.Name] = true
		}
	}
	var names, kinds []string
	perKind := map[string]int{}
	for _, k := range embedded.Kinds {
		for _, f := range k.Families {
			if have[f.Name] || (keep != nil && !keep(f)) {
				continue
			}
			names = append(names, f.Name)
			if perKind[k.GVK.Kind] == 0 {
				kinds = append(kinds, k.GVK.Kind)
			}
			perKind[k.GVK.Kind]++
		}
	}
	if len(names) == 0 {
		return ""
	}
	list := strings.Join(names, ", ")
	if len(names) > 12 {
		parts := make([]string, len(kinds))
		for i, k := range kinds {
			parts[i] = fmt.Sprintf("%s %d", k, perKind[k])
		}
		list = "by kind: " + strings.Join(parts, ", ")
	}
	return fmt.Sprintf("the custom resource state config leaves out %d families of the embedded metrics-spec (%s); "+
		"run without --custom-resource-state-config(-file) to serve them: the embedded metrics-spec also serves the old configs' families (METRICS.md)", len(names), list)
}

// FilterPlan keeps the families keep accepts (opt-in, allow and deny lists:
// see Options.familyFilter and OptInFilter); a kind left without families
// stays, and reads nothing.
func FilterPlan(p *spec.Plan, keep func(*spec.Family) bool) *spec.Plan {
	out := &spec.Plan{}
	for _, k := range p.Kinds {
		nk := *k
		nk.Families = nil
		for _, f := range k.Families {
			if keep(f) {
				nk.Families = append(nk.Families, f)
			}
		}
		out.Kinds = append(out.Kinds, &nk)
	}
	return out
}

// warnOptIn names the --metric-opt-in-list entries that match no opt-in
// family: a mounted kube-state-metrics config has none, as in
// kube-state-metrics, and an entry may be a typo.
func warnOptIn(o *Options, plan *spec.Plan, log *slog.Logger) {
	kinds := plan.Kinds
	if o.DiscoverPolicies {
		kinds = append(slices.Clone(kinds), policies.Template())
	}
	for _, entry := range o.MetricOptIn {
		match, err := OptInFilter([]string{entry})
		if err != nil {
			continue // Parse refuses it
		}
		found := false
		for _, k := range kinds {
			for _, f := range k.Families {
				found = found || (f.OptIn && match(f))
			}
		}
		if !found && strings.TrimSpace(entry) != "" {
			log.Warn("--metric-opt-in-list entry matches no opt-in family of the spec (a mounted custom-resource-state config has none, as in kube-state-metrics; METRICS.md marks the embedded spec's)", "entry", entry)
		}
	}
}

// restConfig is KSM's choice: --kubeconfig and/or --apiserver, else in-cluster.
func restConfig(o *Options) (*rest.Config, error) {
	if o.Kubeconfig == "" && o.Apiserver == "" {
		cfg, err := rest.InClusterConfig()
		if err != nil {
			return nil, fmt.Errorf("no --kubeconfig or --apiserver given and not running in a cluster: %w", err)
		}
		return cfg, nil
	}
	if o.Kubeconfig != "" {
		if _, err := os.Stat(o.Kubeconfig); err != nil {
			return nil, fmt.Errorf("--kubeconfig: %w", err)
		}
	}
	cfg, err := clientcmd.BuildConfigFromFlags(o.Apiserver, o.Kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("--kubeconfig %q: %w", o.Kubeconfig, err)
	}
	return cfg, nil
}

// Run starts both servers and blocks until ctx ends or a server fails. Bad
// flags, spec, kubeconfig or --tls-config return an error before serving; an
// unreachable API server does not (kinds report gateway_metrics_up 0).
func Run(ctx context.Context, o *Options, log *slog.Logger) error {
	if err := prepare(o, log); err != nil {
		return err
	}
	plan, err := LoadPlan(o.CRSConfig, o.CRSConfigFile, o.ContinueWithoutCRSFile, log)
	if err != nil {
		return err
	}
	if o.CRSConfig != "" || o.CRSConfigFile != "" {
		if embedded, _, err := spec.LoadFS(metricsspec.FS); err == nil {
			if msg := leftOut(embedded, plan, o.familyFilter()); msg != "" {
				log.Info(msg)
			}
		}
	}
	warnOptIn(o, plan, log)
	plan = FilterPlan(plan, o.familyFilter())
	cfg, err := restConfig(o)
	if err != nil {
		return err
	}
	client, err := source.New(cfg)
	if err != nil {
		return fmt.Errorf("API client: %w", err)
	}
	client.UseCache = o.UseAPIServerCache
	client.Log = log

	tel := telemetry.New()
	collector, err := newCollector(ctx, o, plan, client, tel, log)
	if err != nil {
		return err
	}
	return serve(ctx, o, collector, client, tel, len(plan.Kinds), cfg.Host, log)
}

// prepare applies what the flags ask of the process before anything is read:
// the warnings for not-applicable flags, GOMEMLIMIT, and a valid --tls-config.
func prepare(o *Options, log *slog.Logger) error {
	for _, msg := range o.Warnings() {
		log.Warn(msg)
	}
	if o.AutoGoMemLimit {
		if _, err := memlimit.SetGoMemLimitWithOpts(memlimit.WithRatio(o.AutoGoMemLimitRatio), memlimit.WithProvider(memlimit.FromCgroup)); err != nil {
			log.Warn("--auto-gomemlimit: cannot read a memory limit; GOMEMLIMIT unchanged", "err", err)
		}
	}
	if o.TLSConfig != "" {
		if err := web.Validate(o.TLSConfig); err != nil {
			return fmt.Errorf("--tls-config %s: %w", o.TLSConfig, err)
		}
	}
	return nil
}

// newCollector makes the collection mode --collection asks for, over the
// plan's kinds plus (by default) one per policy CRD the plan does not
// declare, kept current by one watch on CRDs.
func newCollector(ctx context.Context, o *Options, plan *spec.Plan, client *source.Client, tel *telemetry.Metrics, log *slog.Logger) (server.Collector, error) {
	opts := scrape.Options{Namespaces: o.Namespaces, DeniedNamespaces: o.NamespacesDeny,
		Limits: scrape.Limits{SeriesPerFamily: o.MaxSeriesPerFamily, Series: o.MaxSeries}}
	switch {
	case o.Pod != "":
		opts.Shard = autoShard(client, o.Pod, o.PodNamespace, log)
	case o.TotalShards > 1:
		opts.Shard = func() (int, int) { return o.Shard, o.TotalShards }
	}
	kinds := scrape.PlanKinds(plan)
	var discovered *policies.Watcher
	if o.DiscoverPolicies {
		discovered = policies.NewWatcher(plan, o.familyFilter(), log)
		kinds = discovered
		// CRDs read with the projection Detect needs, 20 a page: a page is
		// read whole before it is decoded, and CRDs weigh up to a megabyte.
		crds := client.ListerWatcher(source.Resource{Group: policies.CRDs.Group, Version: policies.CRDs.Version,
			Kind: "CustomResourceDefinition", Plural: policies.CRDs.Resource}, source.ListOptions{Fields: policies.Fields(), Limit: 20})
		defer func() { go discovered.Run(ctx, crds) }()
	}
	if o.Collection != "watch" {
		return scrape.NewWithKinds(kinds, client, opts, tel, log), nil
	}
	for _, k := range plan.Kinds {
		if k.GVK.Version == "*" || k.GVK.Kind == "*" {
			return nil, fmt.Errorf("--collection=watch: %s:%d uses a \"*\" version or kind, which only list mode expands", k.File, k.Line)
		}
	}
	wc := watch.NewWithKinds(ctx, kinds, client, client, opts, tel, log)
	if discovered != nil {
		discovered.OnChange = wc.KindsChanged
	}
	return wc, nil
}

// serve binds both ports, serves them until ctx ends or one fails, and warms
// the collector (a first discovery makes /readyz meaningful at once and
// starts watch mode's reflectors).
func serve(ctx context.Context, o *Options, collector server.Collector, client *source.Client, tel *telemetry.Metrics, kinds int, apiserver string, log *slog.Logger) error {
	scfg := server.Config{Gzip: o.EnableGzip, ScrapeTimeout: o.ScrapeTimeout, MaxInFlight: o.MaxInFlight,
		Pprof: o.EnablePprof, Version: version.Version, Livez: client.Livez}
	mainMux, err := server.MainMux(collector, scfg, tel, log)
	if err != nil {
		return err
	}
	telMux, err := server.TelemetryMux(collector, scfg, tel)
	if err != nil {
		return err
	}
	mainL, err := net.Listen("tcp", net.JoinHostPort(o.Host, strconv.Itoa(o.Port)))
	if err != nil {
		return fmt.Errorf("--host/--port: %w", err)
	}
	telL, err := net.Listen("tcp", net.JoinHostPort(o.TelemetryHost, strconv.Itoa(o.TelemetryPort)))
	if err != nil {
		mainL.Close()
		return fmt.Errorf("--telemetry-host/--telemetry-port: %w", err)
	}
	log.Info("serving", "version", version.Version, "revision", version.GetRevision(), "metrics", mainL.Addr().String(), "telemetry", telL.Addr().String(),
		"kinds", kinds, "apiserver", apiserver)

	t := server.Timeouts{Read: o.ReadTimeout, Write: o.WriteTimeout, Idle: o.IdleTimeout, ReadHeader: o.HeaderTimeout, MaxHeaderBytes: o.MaxHeaderBytes}
	mainSrv, mainErr := server.Serve(mainL, mainMux, o.TLSConfig, t, log)
	telSrv, telErr := server.Serve(telL, telMux, o.TLSConfig, server.Timeouts{Read: time.Minute, Write: time.Minute, Idle: 5 * time.Minute, ReadHeader: 5 * time.Second, MaxHeaderBytes: o.MaxHeaderBytes}, log)
	if o.OnServing != nil {
		o.OnServing(mainL.Addr(), telL.Addr())
	}
	go func() {
		c, cancel := context.WithTimeout(ctx, o.ScrapeTimeout)
		defer cancel()
		collector.(interface{ Warm(context.Context) }).Warm(c)
	}()

	select {
	case <-ctx.Done():
	case err = <-mainErr:
	case err = <-telErr:
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = mainSrv.Shutdown(sctx)
	_ = telSrv.Shutdown(sctx)
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// autoShard reads the shard from this pod's StatefulSet, as KSM's --pod and
// --pod-namespace do: ordinal from the pod name, total from spec.replicas.
// It is re-read at most every 30 seconds so that scaling re-shards.
func autoShard(c *source.Client, pod, ns string, log *slog.Logger) func() (int, int) {
	var (
		mu            sync.Mutex
		shard, shards = 0, 1
		last          time.Time
	)
	i := strings.LastIndexByte(pod, '-')
	ordinal, err := strconv.Atoi(pod[i+1:])
	if i < 0 || err != nil {
		log.Error("--pod is not a StatefulSet pod name (<statefulset>-<ordinal>); sharding off", "pod", pod)
		return nil
	}
	return func() (int, int) {
		mu.Lock()
		defer mu.Unlock()
		if time.Since(last) < 30*time.Second {
			return shard, shards
		}
		last = time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		p, err := c.GetJSON(ctx, "/api/v1/namespaces/"+ns+"/pods/"+pod)
		if err != nil {
			log.Warn("auto-sharding: cannot read own pod; keeping the last shard", "err", err)
			return shard, shards
		}
		sts := ""
		refs, _ := objects.Dig(p, "metadata", "ownerReferences").([]any)
		for _, r := range refs {
			if m, ok := r.(map[string]any); ok && m["kind"] == "StatefulSet" && m["controller"] == true {
				sts, _ = m["name"].(string)
			}
		}
		if sts == "" {
			log.Warn("auto-sharding: pod has no controlling StatefulSet; keeping the last shard", "pod", pod)
			return shard, shards
		}
		s, err := c.GetJSON(ctx, "/apis/apps/v1/namespaces/"+ns+"/statefulsets/"+sts)
		if err != nil {
			log.Warn("auto-sharding: cannot read StatefulSet; keeping the last shard", "err", err)
			return shard, shards
		}
		spec, _ := s["spec"].(map[string]any)
		if n, ok := spec["replicas"].(int64); ok && n > 0 {
			shard, shards = ordinal, int(n)
		}
		return shard, shards
	}
}
