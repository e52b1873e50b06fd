// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

// Package app is the composition root: flags (kube-state-metrics' names and
// defaults), spec, API client, collector and the two HTTP servers.
package app

import (
	"fmt"
	"io"
	"net"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/spec"
)

// Options are the command-line flags. Names and defaults follow
// kube-state-metrics v2.20.0, so existing manifests keep working.
type Options struct {
	Host, TelemetryHost        string
	Port, TelemetryPort        int
	Kubeconfig, Apiserver      string
	Namespaces, NamespacesDeny []string
	CRSConfig, CRSConfigFile   string
	ContinueWithoutCRSFile     bool
	MetricAllowlist, Denylist  []string
	MetricOptIn                []string
	Shard, TotalShards         int
	Pod, PodNamespace          string
	UseAPIServerCache          bool
	TLSConfig                  string
	EnableGzip                 bool
	ReadTimeout, WriteTimeout  time.Duration
	IdleTimeout, HeaderTimeout time.Duration
	AutoGoMemLimit             bool
	AutoGoMemLimitRatio        float64
	Verbosity                  int
	ShowVersion                bool

	// Ours.
	Collection     string
	ScrapeTimeout  time.Duration
	MaxInFlight    int
	EnablePprof    bool
	MaxHeaderBytes int
	// The cardinality guard (scrape.Limits); 0 is no limit.
	MaxSeriesPerFamily, MaxSeries int
	// DiscoverPolicies adds every Policy Attachment CRD the spec does not
	// declare (pkg/policies).
	DiscoverPolicies bool

	// Accepted for compatibility, named in a warning when set.
	ignored []string

	// Not a flag: when set, Run calls it once both ports serve, with the
	// addresses they are bound to (the kernel's choice for port 0).
	OnServing func(metrics, telemetry net.Addr)
}

// notApplicable are KSM flags that mean nothing here: built-in kube_* families
// stay kube-state-metrics' job. They are accepted so manifests keep working.
var notApplicable = map[string]string{
	"resources":                        "built-in kube_* families are kube-state-metrics' job",
	"custom-resource-state-only":       "this exporter only serves custom-resource families",
	"metric-labels-allowlist":          "applies to built-in kube_*_labels families only",
	"metric-annotations-allowlist":     "applies to built-in kube_*_annotations families only",
	"node":                             "DaemonSet sharding applies to pods only",
	"track-unscheduled-pods":           "applies to pods only",
	"object-limit":                     "lists are never truncated here",
	"auth-filter":                      "not supported; use --tls-config (basic auth) or a network policy",
	"config":                           "options files are not supported; pass flags",
	"continue-without-config":          "options files are not supported",
	"vmodule":                          "klog is not used; -v sets the log level",
	"logtostderr":                      "logs always go to stderr",
	"alsologtostderr":                  "logs always go to stderr",
	"alsologtostderrthreshold":         "logs always go to stderr",
	"stderrthreshold":                  "logs always go to stderr",
	"legacy_stderr_threshold_behavior": "logs always go to stderr",
	"log_dir":                          "logs always go to stderr",
	"log_file":                         "logs always go to stderr",
	"log_file_max_size":                "logs always go to stderr",
	"log_backtrace_at":                 "not supported",
	"add_dir_header":                   "not supported",
	"one_output":                       "not supported",
	"skip_headers":                     "not supported",
	"skip_log_headers":                 "not supported",
}

// DefaultMaxSeriesPerFamily is --max-series-per-family's default. The
// largest family of the embedded spec on the benchmark fixture (2 parents x
// 6 conditions per HTTPRoute) is a route kind's status_parents_conditions,
// 12 samples per route: 1.2 million at 100k routes, as are its opt-in
// per-condition freshness families. Routes with 4 parents and 8 conditions
// each would make 3.2 million. 5 million leaves that headroom and still stops
// a family that multiplies objects by a long list (1,000 entries per object
// over more than 5,000 objects) before Prometheus ingests it.
const DefaultMaxSeriesPerFamily = 5_000_000

// Parse reads flags; errors name the flag.
func Parse(args []string, stderr io.Writer) (*Options, error) {
	o := &Options{}
	fs := o.flagSet(stderr)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if o.ShowVersion {
		// Like kube-state-metrics: --version answers whatever else is set.
		return o, nil
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q (flags only; the render subcommand comes first)", fs.Arg(0))
	}
	fs.Visit(func(f *pflag.Flag) {
		if why, ok := notApplicable[f.Name]; ok && why != "" {
			o.ignored = append(o.ignored, fmt.Sprintf("--%s is accepted but not applicable: %s", f.Name, why))
		}
	})
	return o, o.validate()
}

// FlagSet is the exporter's flags with their defaults, bound to a throwaway
// Options: for comparing them with kube-state-metrics' (compat/ksmdiff).
func FlagSet() *pflag.FlagSet { return (&Options{}).flagSet(io.Discard) }

// Warnings are the messages Run logs first: one per not-applicable
// kube-state-metrics flag that was set.
func (o *Options) Warnings() []string { return o.ignored }

func (o *Options) flagSet(stderr io.Writer) *pflag.FlagSet {
	fs := pflag.NewFlagSet("gateway-api-metrics-exporter", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.Host, "host", "::", "Host to expose metrics on.")
	fs.IntVar(&o.Port, "port", 8080, "Port to expose metrics on.")
	fs.StringVar(&o.TelemetryHost, "telemetry-host", "::", "Host to expose the exporter's own metrics on.")
	fs.IntVar(&o.TelemetryPort, "telemetry-port", 8081, "Port to expose the exporter's own metrics on.")
	fs.StringVar(&o.Kubeconfig, "kubeconfig", "", "Absolute path to the kubeconfig file (default: in-cluster config).")
	fs.StringVar(&o.Apiserver, "apiserver", "", "The URL of the apiserver to use as a master.")
	fs.StringSliceVar(&o.Namespaces, "namespaces", nil, "Comma-separated list of namespaces to list (default: all).")
	fs.StringSliceVar(&o.NamespacesDeny, "namespaces-denylist", nil, "Comma-separated list of namespaces not to list.")
	fs.StringVar(&o.CRSConfig, "custom-resource-state-config", "", "Inline CustomResourceStateMetrics YAML (wins over the file).")
	fs.StringVar(&o.CRSConfigFile, "custom-resource-state-config-file", "", "Path to a CustomResourceStateMetrics YAML file (default: the embedded metrics-spec).")
	fs.BoolVar(&o.ContinueWithoutCRSFile, "continue-without-custom-resource-state-config-file", false, "When --custom-resource-state-config-file is missing or unreadable, serve the embedded metrics-spec (with a warning) instead of exiting.")
	fs.StringSliceVar(&o.MetricAllowlist, "metric-allowlist", nil, "Comma-separated list of family names or regular expressions to serve.")
	fs.StringSliceVar(&o.Denylist, "metric-denylist", nil, "Comma-separated list of family names or regular expressions not to serve.")
	fs.StringSliceVar(&o.MetricOptIn, "metric-opt-in-list", nil, "Comma-separated list of opt-in families (names or regular expressions) to serve as well; METRICS.md marks them. A mounted CRS config has none, as in kube-state-metrics.")
	fs.IntVar(&o.Shard, "shard", 0, "This instance's shard, 0 to total-shards-1, of objects hashed by UID.")
	fs.IntVar(&o.TotalShards, "total-shards", 1, "The total number of shards.")
	fs.StringVar(&o.Pod, "pod", "", "Name of this pod, for automatic sharding from its StatefulSet (with --pod-namespace).")
	fs.StringVar(&o.PodNamespace, "pod-namespace", "", "Namespace of this pod, for automatic sharding.")
	fs.BoolVar(&o.UseAPIServerCache, "use-apiserver-cache", false, "LIST from the API server's watch cache: resourceVersion=1&resourceVersionMatch=NotOlderThan, any cached version (as kube-state-metrics' resourceVersion=0), but paged.")
	fs.StringVar(&o.TLSConfig, "tls-config", "", "Path to an exporter-toolkit web config file (TLS and basic auth) for both ports.")
	fs.BoolVar(&o.EnableGzip, "enable-gzip-encoding", false, "Gzip /metrics when the client accepts it.")
	fs.DurationVar(&o.ReadTimeout, "server-read-timeout", time.Minute, "Read timeout of the metrics server.")
	fs.DurationVar(&o.WriteTimeout, "server-write-timeout", time.Minute, "Write timeout of the metrics server.")
	fs.DurationVar(&o.IdleTimeout, "server-idle-timeout", 5*time.Minute, "Idle (keep-alive) timeout of the metrics server.")
	fs.DurationVar(&o.HeaderTimeout, "server-read-header-timeout", 5*time.Second, "Header read timeout of the metrics server.")
	fs.BoolVar(&o.AutoGoMemLimit, "auto-gomemlimit", false, "Set GOMEMLIMIT from the container's memory limit.")
	fs.Float64Var(&o.AutoGoMemLimitRatio, "auto-gomemlimit-ratio", 0.9, "Share of the memory limit to use for GOMEMLIMIT.")
	fs.IntVarP(&o.Verbosity, "v", "v", 0, "Log verbosity: 0 info, 4 and above debug.")
	fs.BoolVar(&o.ShowVersion, "version", false, "Print version, revision, build date and Go version, and exit.")
	fs.StringVar(&o.Collection, "collection", "list", "How objects are read: list (one paginated LIST per kind on each scrape) or watch (reflectors keep pre-rendered bytes; for very large clusters).")
	fs.DurationVar(&o.ScrapeTimeout, "scrape-timeout", 10*time.Second, "Bound on a collection when the scraper sends no X-Prometheus-Scrape-Timeout-Seconds.")
	fs.IntVar(&o.MaxInFlight, "max-concurrent-scrapes", 64, "Concurrent /metrics requests served; more get 503 (they share one collection anyway).")
	fs.BoolVar(&o.EnablePprof, "enable-pprof", false, "Serve /debug/pprof on the telemetry port.")
	fs.IntVar(&o.MaxHeaderBytes, "max-header-bytes", 64<<10, "Largest request header accepted.")
	fs.IntVar(&o.MaxSeriesPerFamily, "max-series-per-family", DefaultMaxSeriesPerFamily, "A family with more samples is not served at all in that scrape (never a truncated subset), and named once in the log and by gateway_metrics_family_over_limit; 0: no limit.")
	fs.IntVar(&o.MaxSeries, "max-series", 0, "A body with more samples drops whole families, largest first, until it fits, and names them as --max-series-per-family does; 0: no limit.")
	fs.BoolVar(&o.DiscoverPolicies, "discover-policies", true, "Serve gatewayapi_policy_* families for every Policy Attachment CRD (GEP-713) the spec does not declare, found by watching CRDs.")

	var sink string
	var sinkBool bool
	for name := range notApplicable {
		if fs.Lookup(name) != nil {
			continue
		}
		switch name {
		case "custom-resource-state-only", "track-unscheduled-pods", "auth-filter", "continue-without-config",
			"logtostderr", "alsologtostderr", "add_dir_header", "one_output", "skip_headers", "skip_log_headers", "legacy_stderr_threshold_behavior":
			fs.BoolVar(&sinkBool, name, false, "Accepted for kube-state-metrics compatibility; ignored.")
			fs.Lookup(name).NoOptDefVal = "true"
		default:
			fs.StringVar(&sink, name, "", "Accepted for kube-state-metrics compatibility; ignored.")
		}
		fs.Lookup(name).Hidden = true
	}
	return fs
}

func (o *Options) validate() error {
	switch {
	case o.Port < 0 || o.Port > 65535:
		return fmt.Errorf("--port %d is not a port", o.Port)
	case o.TelemetryPort < 0 || o.TelemetryPort > 65535:
		return fmt.Errorf("--telemetry-port %d is not a port", o.TelemetryPort)
	case o.TotalShards < 1:
		return fmt.Errorf("--total-shards must be at least 1, got %d", o.TotalShards)
	case o.Shard < 0 || o.Shard >= o.TotalShards:
		return fmt.Errorf("--shard must be between 0 and --total-shards-1 (%d), got %d", o.TotalShards-1, o.Shard)
	case (o.Pod == "") != (o.PodNamespace == ""):
		return fmt.Errorf("--pod and --pod-namespace go together")
	case len(o.MetricAllowlist) > 0 && len(o.Denylist) > 0:
		return fmt.Errorf("--metric-allowlist and --metric-denylist are mutually exclusive")
	case o.Collection != "list" && o.Collection != "watch":
		return fmt.Errorf("--collection must be list or watch, got %q", o.Collection)
	case o.AutoGoMemLimitRatio <= 0 || o.AutoGoMemLimitRatio > 1:
		return fmt.Errorf("--auto-gomemlimit-ratio must be in (0, 1], got %v", o.AutoGoMemLimitRatio)
	case o.MaxSeriesPerFamily < 0:
		return fmt.Errorf("--max-series-per-family must be 0 (no limit) or more, got %d", o.MaxSeriesPerFamily)
	case o.MaxSeries < 0:
		return fmt.Errorf("--max-series must be 0 (no limit) or more, got %d", o.MaxSeries)
	}
	for _, list := range [][]string{o.MetricAllowlist, o.Denylist, o.MetricOptIn} {
		for _, re := range list {
			if _, err := regexp.Compile(strings.TrimSpace(re)); err != nil {
				return fmt.Errorf("metric allow/deny/opt-in list entry %q: %w (Go RE2 syntax; lookarounds are not supported)", re, err)
			}
		}
	}
	return nil
}

// familyFilter is what the flags serve of a spec: the opt-in families
// --metric-opt-in-list names besides the others, then what
// --metric-allowlist/--metric-denylist keep (KSM applies its opt-in filter in
// addition to them too).
func (o *Options) familyFilter() func(f *spec.Family) bool {
	optIn, _ := OptInFilter(o.MetricOptIn) // validate checked the entries
	list, allow := o.Denylist, false
	if len(o.MetricAllowlist) > 0 {
		list, allow = o.MetricAllowlist, true
	}
	res := compileAll(list)
	return func(f *spec.Family) bool {
		if !optIn(f) {
			return false
		}
		if len(res) == 0 {
			return true
		}
		return matchesAny(res, f.Name) == allow
	}
}

// OptInFilter is --metric-opt-in-list with kube-state-metrics' meaning: an
// entry is a regular expression matching anywhere in the family name, and a
// family marked opt-in is served only when an entry matches it.
func OptInFilter(list []string) (func(f *spec.Family) bool, error) {
	for _, s := range list {
		if _, err := regexp.Compile(strings.TrimSpace(s)); err != nil {
			return nil, fmt.Errorf("--metric-opt-in-list entry %q: %w (Go RE2 syntax)", s, err)
		}
	}
	res := compileAll(list)
	return func(f *spec.Family) bool { return !f.OptIn || matchesAny(res, f.Name) }, nil
}

// entries are KSM's: comma-separated, trimmed, regular expressions matching
// anywhere in the name.
func compileAll(list []string) []*regexp.Regexp {
	var res []*regexp.Regexp
	for _, s := range list {
		if s = strings.TrimSpace(s); s != "" {
			res = append(res, regexp.MustCompile(s))
		}
	}
	return res
}

func matchesAny(res []*regexp.Regexp, name string) bool {
	for _, re := range res {
		if re.MatchString(name) {
			return true
		}
	}
	return false
}
