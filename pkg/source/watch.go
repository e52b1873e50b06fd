package source

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"strconv"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/objects"
)

// ListAt is List that also returns the list's resourceVersion, from which a
// watch of the same resource and scope follows it. fn sees one page at a
// time: watch mode renders a page and drops it, so a sync never holds a
// whole kind decoded.
func (c *Client) ListAt(ctx context.Context, r Resource, opts ListOptions, fn func(items []any) error) (rv string, err error) {
	_, rv, err = c.list(ctx, r, opts, fn)
	return rv, err
}

// Event is one change a watch reports, its object decoded with the watch's
// projection.
type Event struct {
	Type            string // ADDED, MODIFIED, DELETED or BOOKMARK
	Object          map[string]any
	ResourceVersion string // of the object: where a new watch resumes
}

// Events is an open watch.
type Events interface {
	// Next blocks for the next event. It returns io.EOF when the API server
	// ended the watch (its timeout), the API server's error (a typed API
	// error: 410 Gone means the version is too old, relist) for an ERROR
	// event, or the connection's error.
	Next() (Event, error)
	Close() error
}

// Watch opens a watch of a resource from resourceVersion rv (a LIST's), with
// bookmarks. Each event's object is decoded from the raw stream with
// opts.Fields plus metadata.resourceVersion, so a watch never decodes a
// whole object either.
func (c *Client) Watch(ctx context.Context, r Resource, opts ListOptions, rv string) (Events, error) {
	ctx = context.WithValue(ctx, resourceKey{}, r)
	path := "/apis/" + r.Group + "/" + r.Version
	if r.Group == "" {
		path = "/api/" + r.Version
	}
	if r.Namespaced && opts.Namespace != "" {
		path += "/namespaces/" + url.PathEscape(opts.Namespace)
	}
	// The API server ends a watch after timeoutSeconds; spread over 5-10
	// minutes as client-go's reflector does, so watches do not reopen together.
	timeout := 300 + rand.IntN(300)
	req := c.rest.Get().AbsPath(path, r.Plural).Param("watch", "true").
		Param("resourceVersion", rv).Param("allowWatchBookmarks", "true").
		Param("timeoutSeconds", strconv.Itoa(timeout))
	if opts.FieldSelector != "" && r.Namespaced {
		req.Param("fieldSelector", opts.FieldSelector)
	}
	body, err := req.SetHeader("Accept", "application/json").Stream(ctx)
	if err != nil {
		return nil, err
	}
	return &events{body: body, dec: json.NewDecoder(body), fields: eventFields(opts.Fields)}, nil
}

type events struct {
	body   io.ReadCloser
	dec    *json.Decoder
	raw    json.RawMessage
	fields *objects.Fields
	dd     objects.Decoder
}

func (e *events) Close() error { return e.body.Close() }

func (e *events) Next() (Event, error) {
	e.raw = e.raw[:0]
	if err := e.dec.Decode(&e.raw); err != nil {
		return Event{}, err
	}
	v, err := e.dd.Decode(e.raw, e.fields)
	if err != nil {
		return Event{}, fmt.Errorf("decoding a watch event: %w", err)
	}
	m, _ := v.(map[string]any)
	typ, _ := m["type"].(string)
	obj, _ := m["object"].(map[string]any)
	if typ == "ERROR" {
		return Event{}, statusError(obj)
	}
	ev := Event{Type: typ, Object: obj}
	if md, ok := obj["metadata"].(map[string]any); ok {
		ev.ResourceVersion, _ = md["resourceVersion"].(string)
	}
	return ev, nil
}

// statusError is the typed API error of an ERROR event's Status.
func statusError(obj map[string]any) error {
	st := metav1.Status{Status: metav1.StatusFailure}
	if code, ok := obj["code"].(int64); ok {
		st.Code = int32(code)
	}
	if reason, ok := obj["reason"].(string); ok {
		st.Reason = metav1.StatusReason(reason)
	}
	st.Message, _ = obj["message"].(string)
	return &apierrors.StatusError{ErrStatus: st}
}

// eventFields is the projection of a watch event: its type, the given
// projection of its object with the object's resourceVersion, and the
// fields of a Status (an ERROR event's object).
func eventFields(item *objects.Fields) *objects.Fields {
	obj := &objects.Fields{All: true}
	if item != nil && !item.All {
		obj = &objects.Fields{Any: item.Any, Children: map[string]*objects.Fields{}}
		for k, v := range item.Children {
			obj.Children[k] = v
		}
		md := &objects.Fields{Children: map[string]*objects.Fields{}}
		if old := item.Children["metadata"]; old != nil {
			if old.All {
				md = old
			} else {
				md.Any = old.Any
				for k, v := range old.Children {
					md.Children[k] = v
				}
			}
		}
		if !md.All {
			md.Child("resourceVersion").All = true
		}
		obj.Children["metadata"] = md
		for _, k := range []string{"code", "reason", "message"} {
			if obj.Children[k] == nil {
				obj.Child(k).All = true
			}
		}
	}
	return &objects.Fields{Children: map[string]*objects.Fields{"type": {All: true}, "object": obj}}
}
