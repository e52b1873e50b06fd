// Package source talks to the Kubernetes API server: discovery of served
// versions, and paginated LISTs whose raw pages are decoded here rather than by
// client-go's typed machinery (which costs about 1.5x the decode itself).
package source

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"

	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/objects"
)

// Client lists custom resources page by page.
type Client struct {
	http      *http.Client
	host      *url.URL
	discovery discovery.DiscoveryInterface
	// PageSize is the LIST limit; 500 is client-go's pager default.
	PageSize int
	// UseCache lists with resourceVersion=0, served from the API server's watch
	// cache (KSM's --use-apiserver-cache).
	UseCache bool
}

// New builds a client from a rest.Config. client-go supplies auth, TLS and
// transport; its client-side rate limiter is turned off, because one scrape
// needs several pages per kind at once and the API server's priority and
// fairness already protects it.
func New(cfg *rest.Config) (*Client, error) {
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = -1, -1
	cfg.RateLimiter = nil
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, err
	}
	host, _, err := rest.DefaultServerUrlFor(cfg)
	if err != nil {
		return nil, err
	}
	dc, err := discovery.NewDiscoveryClientForConfigAndClient(cfg, hc)
	if err != nil {
		return nil, err
	}
	return &Client{http: hc, host: host, discovery: dc, PageSize: 500}, nil
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

// StatusError is a non-2xx answer from the API server.
type StatusError struct {
	Code int
	URL  string
	Body string
}

func (e *StatusError) Error() string {
	msg := e.Body
	if len(msg) > 300 {
		msg = msg[:300] + "..."
	}
	return fmt.Sprintf("GET %s: HTTP %d: %s", e.URL, e.Code, strings.TrimSpace(msg))
}

// IsGone reports an expired continue token (HTTP 410): the list must restart.
func IsGone(err error) bool {
	var se *StatusError
	return errors.As(err, &se) && se.Code == http.StatusGone
}

// IsForbidden reports an RBAC refusal.
func IsForbidden(err error) bool {
	var se *StatusError
	return errors.As(err, &se) && se.Code == http.StatusForbidden
}

// ListOptions select what one LIST returns.
type ListOptions struct {
	Namespace     string // "" for all namespaces or a cluster-scoped kind
	FieldSelector string
	// Fields is the part of each object to decode (nil: all of it).
	Fields *objects.Fields
}

// List reads every page of a resource and hands the items of each page to
// fn, in order. Three stages overlap: the next page is fetched while this one
// is decoded, and decoded while fn renders the previous one, so a scrape uses
// both cores of a small node.
func (c *Client) List(ctx context.Context, r Resource, opts ListOptions, fn func(items []any) error) (pages int, err error) {
	type fetched struct {
		body []byte
		err  error
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	page := pageFields(opts.Fields)
	fetch := func(cont string) <-chan fetched {
		ch := make(chan fetched, 1)
		go func() {
			body, err := c.get(ctx, c.listURL(r, opts, cont))
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
	finish := func(err error) (int, error) {
		close(decoded)
		if ferr := <-rendered; ferr != nil && (err == nil || errors.Is(err, context.Canceled)) {
			err = ferr
		}
		return pages, err
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
		cont := ""
		if md, ok := list["metadata"].(map[string]any); ok {
			cont, _ = md["continue"].(string)
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

func (c *Client) listURL(r Resource, opts ListOptions, cont string) string {
	u := *c.host
	path := "/apis/" + r.Group + "/" + r.Version
	if r.Group == "" {
		path = "/api/" + r.Version
	}
	if r.Namespaced && opts.Namespace != "" {
		path += "/namespaces/" + url.PathEscape(opts.Namespace)
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + path + "/" + r.Plural
	q := url.Values{}
	q.Set("limit", fmt.Sprint(c.PageSize))
	if cont != "" {
		q.Set("continue", cont)
	} else if c.UseCache {
		q.Set("resourceVersion", "0")
	}
	if opts.FieldSelector != "" && r.Namespaced {
		q.Set("fieldSelector", opts.FieldSelector)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

func (c *Client) get(ctx context.Context, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := readAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &StatusError{Code: resp.StatusCode, URL: u, Body: string(body)}
	}
	return body, nil
}

// Livez proxies the API server's /livez, as KSM's /livez does.
func (c *Client) Livez(ctx context.Context) error {
	u := *c.host
	u.Path = strings.TrimSuffix(u.Path, "/") + "/livez"
	_, err := c.get(ctx, u.String())
	return err
}

// GetJSON reads one object by its API path (e.g. /api/v1/namespaces/x/pods/y).
func (c *Client) GetJSON(ctx context.Context, path string) (map[string]any, error) {
	u := *c.host
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	body, err := c.get(ctx, u.String())
	if err != nil {
		return nil, err
	}
	v, err := objects.DecodeJSON(body)
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
