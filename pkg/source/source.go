// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

// Package source talks to the Kubernetes API server: discovery of served
// versions, and paginated LISTs through client-go's REST client whose raw
// pages are decoded here rather than by client-go's typed machinery (which
// costs about 1.5x the decode itself).
package source

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"

	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/objects"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/once"
)

// Client lists custom resources page by page, through client-go's REST
// client: API Priority and Fairness' 429 with Retry-After is retried (within
// the caller's context), warnings reach a handler that logs each once per
// kind and version, and failures are client-go's typed API errors
// (k8s.io/apimachinery/pkg/api/errors), which decide `up` and the log line.
// Only decoding is ours: pages are read as raw bytes and decoded by the
// projected decoder of pkg/objects.
type Client struct {
	rest      *rest.RESTClient
	discovery discovery.DiscoveryInterface
	warnings  *once.Set
	// PageSize is the LIST limit; 500 is client-go's pager default.
	PageSize int
	// UseCache reads from the API server's watch cache (KSM's
	// --use-apiserver-cache), page by page: see listRequest.
	UseCache bool
	// Log receives the API server's warnings (deprecated versions, ...).
	Log *slog.Logger
}

// New builds a client from a rest.Config. client-go supplies auth, TLS,
// transport and retries; its client-side rate limiter is turned off, because
// one scrape needs several pages per kind at once and the API server's
// priority and fairness already protects it.
func New(cfg *rest.Config) (*Client, error) {
	c := &Client{PageSize: 500, warnings: once.New(1024), Log: slog.Default()}
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = -1, -1
	cfg.RateLimiter = nil
	cfg.WarningHandler = nil
	cfg.WarningHandlerWithContext = warningLogger{c}
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, err
	}
	rcfg := rest.CopyConfig(cfg)
	rcfg.APIPath = "/"
	rcfg.GroupVersion = &schema.GroupVersion{}
	rcfg.NegotiatedSerializer = scheme.Codecs.WithoutConversion()
	rc, err := rest.RESTClientForConfigAndClient(rcfg, hc)
	if err != nil {
		return nil, err
	}
	// Discovery's requests take no context: a timeout of their own bounds
	// them, so that an API server that accepts and never answers cannot
	// hold every later round (client-go applies its discovery default,
	// 32 s, only to a client it builds itself).
	dhc := *hc
	dhc.Timeout = discoveryTimeout
	dc, err := discovery.NewDiscoveryClientForConfigAndClient(cfg, &dhc)
	if err != nil {
		return nil, err
	}
	c.rest, c.discovery = rc, dc
	return c, nil
}

// discoveryTimeout bounds one discovery request (tests shorten it).
var discoveryTimeout = 30 * time.Second

type resourceKey struct{}

// warningLogger logs each API server warning once per kind and version (the
// resource being listed travels in the request's context), instead of on
// every LIST of every scrape.
type warningLogger struct{ c *Client }

func (w warningLogger) HandleWarningHeaderWithContext(ctx context.Context, code int, _ string, text string) {
	if code != 299 || text == "" {
		return
	}
	key, args := "\x00"+text, []any{"warning", text}
	if r, ok := ctx.Value(resourceKey{}).(Resource); ok {
		key = r.Group + "/" + r.Kind + "/" + r.Version
		args = append(args, "resource", r.Plural+"."+r.Group, "version", r.Version)
	}
	if first, _ := w.c.warnings.First(key); first && w.c.Log != nil {
		w.c.Log.Log(ctx, warningLevel(text), "API server warning (logged once per kind and version)", args...)
	}
}

// warningLevel is info for a deprecated version, which the exporter reads
// because the spec names it (kube-state-metrics' config does, and the
// customresource_version label is what dashboards match): nothing is wrong,
// and a healthy cluster logs no warning. Any other API server warning is one.
func warningLevel(text string) slog.Level {
	if strings.Contains(strings.ToLower(text), "deprecated") {
		return slog.LevelInfo
	}
	return slog.LevelWarn
}

// Resource is one served version of a kind.
type Resource struct {
	Group, Version, Kind string
	Plural               string
	Namespaced           bool
}

// Served maps "group/kind" to the versions the API server serves for it,
// preferred version first.
type Served map[string][]Resource

// Key is the Served key of a group and kind.
func Key(group, kind string) string { return group + "/" + kind }

// Discover asks the API server which versions of the given groups it serves
// (one request with aggregated discovery).
func (c *Client) Discover(groups map[string]bool) (Served, error) {
	apiGroups, lists, err := c.discovery.ServerGroupsAndResources()
	if err != nil && !discovery.IsGroupDiscoveryFailedError(err) {
		return nil, err
	}
	preferred := map[string]string{}
	for _, g := range apiGroups {
		if groups[g.Name] {
			preferred[g.Name] = g.PreferredVersion.Version
		}
	}
	out := Served{}
	for _, l := range lists {
		gv, perr := parseGV(l.GroupVersion)
		if perr != nil || !groups[gv[0]] {
			continue
		}
		for _, r := range l.APIResources {
			if strings.Contains(r.Name, "/") || !hasVerb(r, "list") {
				continue // a subresource, or not listable
			}
			res := Resource{Group: gv[0], Version: gv[1], Kind: r.Kind, Plural: r.Name, Namespaced: r.Namespaced}
			k := Key(res.Group, res.Kind)
			if preferred[res.Group] == res.Version {
				out[k] = append([]Resource{res}, out[k]...)
			} else {
				out[k] = append(out[k], res)
			}
		}
	}
	return out, err
}

func parseGV(s string) ([2]string, error) {
	g, v, ok := strings.Cut(s, "/")
	if !ok {
		return [2]string{"", s}, nil
	}
	return [2]string{g, v}, nil
}

func hasVerb(r metav1.APIResource, verb string) bool {
	for _, v := range r.Verbs {
		if v == verb {
			return true
		}
	}
	return false
}

// Pick chooses what to read for a spec entry: the spec's version when served,
// else the kind's preferred served version.
func (s Served) Pick(group, version, kind string) (Resource, bool) {
	rs := s[Key(group, kind)]
	for _, r := range rs {
		if r.Version == version {
			return r, true
		}
	}
	if len(rs) > 0 {
		return rs[0], true
	}
	return Resource{}, false
}

// Resolve is what KSM's discovery does with a configured GVK: "*" as the
// version or the kind expands to every served match, each read on its own.
// Without a wildcard it is Pick.
func (s Served) Resolve(group, version, kind string) []Resource {
	if version != "*" && kind != "*" {
		if r, ok := s.Pick(group, version, kind); ok {
			return []Resource{r}
		}
		return nil
	}
	var out []Resource
	for key, rs := range s {
		if !strings.HasPrefix(key, group+"/") {
			continue
		}
		for _, r := range rs {
			if (kind == "*" || r.Kind == kind) && (version == "*" || r.Version == version) {
				out = append(out, r)
			}
		}
	}
	slices.SortFunc(out, func(a, b Resource) int { return strings.Compare(a.Kind+"/"+a.Version, b.Kind+"/"+b.Version) })
	return out
}

// IsGone reports an expired continue token (HTTP 410): the list must restart.
func IsGone(err error) bool { return apierrors.IsResourceExpired(err) || apierrors.IsGone(err) }

// ListOptions select what one LIST returns.
type ListOptions struct {
	Namespace     string // "" for all namespaces or a cluster-scoped kind
	FieldSelector string
	// Fields is the part of each object to decode (nil: all of it).
	Fields *objects.Fields
	// Limit is the page size (0: the client's PageSize); smaller for a kind
	// whose objects are large, since a page is read whole before it is
	// decoded.
	Limit int
}

// List reads every page of a resource and hands the items of each page to
// fn, in order. Three stages overlap: the next page is fetched while this one
// is decoded, and decoded while fn renders the previous one, so a scrape uses
// both cores of a small node.
func (c *Client) List(ctx context.Context, r Resource, opts ListOptions, fn func(items []any) error) (pages int, err error) {
	pages, _, err = c.list(ctx, r, opts, fn)
	return pages, err
}

// list is List that also returns the list's resourceVersion (of its first
// page: later pages are read at the same version), from which a watch starts.
func (c *Client) list(ctx context.Context, r Resource, opts ListOptions, fn func(items []any) error) (pages int, rv string, err error) {
	type fetched struct {
		body []byte
		err  error
	}
	ctx, cancel := context.WithCancel(context.WithValue(ctx, resourceKey{}, r))
	defer cancel()
	page := pageFields(opts.Fields)
	fetch := func(cont string) <-chan fetched {
		ch := make(chan fetched, 1)
		go func() {
			body, err := c.get(ctx, c.listRequest(r, opts, cont))
			ch <- fetched{body, err}
		}()
		return ch
	}

	decoded := make(chan []any, 1)
	rendered := make(chan error, 1)
	go func() {
		var ferr error
		for items := range decoded {
			if ferr == nil {
				if ferr = fn(items); ferr != nil {
					cancel()
				}
			}
		}
		rendered <- ferr
	}()
	finish := func(err error) (int, string, error) {
		close(decoded)
		if ferr := <-rendered; ferr != nil && (err == nil || errors.Is(err, context.Canceled)) {
			err = ferr
		}
		return pages, rv, err
	}

	next := fetch("")
	for {
		var p fetched
		select {
		case p = <-next:
		case <-ctx.Done():
			return finish(ctx.Err())
		}
		if p.err != nil {
			return finish(p.err)
		}
		pages++
		v, err := objects.DecodeProjected(p.body, page)
		putBuffer(p.body) // decoded values hold copies, never the page bytes
		if err != nil {
			return finish(fmt.Errorf("decoding %s page %d: %w", r.Plural, pages, err))
		}
		list, _ := v.(map[string]any)
		cont := objects.Meta(list, "continue")
		if pages == 1 {
			rv = objects.Meta(list, "resourceVersion")
		}
		if cont != "" {
			next = fetch(cont)
		}
		items, _ := list["items"].([]any)
		select {
		case decoded <- items:
		case <-ctx.Done():
			return finish(ctx.Err())
		}
		if cont == "" {
			return finish(nil)
		}
	}
}

// path is the API path of r's objects in namespace ("" for all, or a
// cluster-scoped kind), without the plural.
func (r Resource) path(namespace string) string {
	p := "/apis/" + r.Group + "/" + r.Version
	if r.Group == "" {
		p = "/api/" + r.Version
	}
	if r.Namespaced && namespace != "" {
		p += "/namespaces/" + url.PathEscape(namespace)
	}
	return p
}

func (c *Client) listRequest(r Resource, opts ListOptions, cont string) *rest.Request {
	path := r.path(opts.Namespace)
	limit := c.PageSize
	if opts.Limit > 0 {
		limit = opts.Limit
	}
	req := c.rest.Get().AbsPath(path, r.Plural).Param("limit", strconv.Itoa(limit))
	if cont != "" {
		req.Param("continue", cont)
	} else if c.UseCache {
		// Any version the watch cache holds, as resourceVersion=0 asks; but the
		// API server ignores limit for resourceVersion=0 and answers the whole
		// kind at once. NotOlderThan a version every cache holds is served from
		// the cache too and honours limit; the continue tokens carry the
		// snapshot's version, which the cache serves from its snapshots
		// (ListFromCacheSnapshot, on by default since v1.34).
		req.Param("resourceVersion", "1").Param("resourceVersionMatch", "NotOlderThan")
	}
	if opts.FieldSelector != "" && r.Namespaced {
		req.Param("fieldSelector", opts.FieldSelector)
	}
	return req
}

// get runs a request and reads its body into a pooled buffer. Stream, not
// Do: client-go's Result would copy and decode the body.
func (c *Client) get(ctx context.Context, req *rest.Request) ([]byte, error) {
	body, err := req.SetHeader("Accept", "application/json").Stream(ctx)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	return readAll(body)
}

// Livez proxies the API server's /livez, as KSM's /livez does.
func (c *Client) Livez(ctx context.Context) error {
	_, err := c.get(ctx, c.rest.Get().AbsPath("/livez"))
	return err
}

// GetJSON reads one object by its API path (e.g. /api/v1/namespaces/x/pods/y).
func (c *Client) GetJSON(ctx context.Context, path string) (map[string]any, error) {
	body, err := c.get(ctx, c.rest.Get().AbsPath(path))
	if err != nil {
		return nil, err
	}
	v, err := objects.DecodeJSON(body)
	putBuffer(body)
	if err != nil {
		return nil, err
	}
	m, _ := v.(map[string]any)
	return m, nil
}

// pageFields is the projection of a LIST page: its continue token and the
// given projection of each item.
func pageFields(item *objects.Fields) *objects.Fields {
	if item == nil {
		item = &objects.Fields{All: true}
	}
	f := &objects.Fields{Children: map[string]*objects.Fields{"items": item}}
	f.Child("metadata").Child("continue").All = true
	f.Child("metadata").Child("resourceVersion").All = true
	return f
}

// Page buffers are reused: growing a fresh multi-megabyte buffer for every
// page costs more than decoding it.
var buffers sync.Pool

func readAll(r io.Reader) ([]byte, error) {
	b, _ := buffers.Get().(*bytes.Buffer)
	if b == nil {
		b = new(bytes.Buffer)
	}
	b.Reset()
	if _, err := b.ReadFrom(r); err != nil {
		buffers.Put(b)
		return nil, err
	}
	return b.Bytes(), nil
}

func putBuffer(body []byte) {
	if cap(body) > 0 && cap(body) <= 64<<20 {
		buffers.Put(bytes.NewBuffer(body[:0]))
	}
}
