// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package testenv

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
)

var namespaceGVR = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}

// RESTMapping maps gvk to its resource via discovery. Right after a CRD is
// installed, discovery can lag behind, so a missing kind is retried for a few
// seconds with a fresh discovery cache.
func (e *Env) RESTMapping(ctx context.Context, gvk schema.GroupVersionKind) (*meta.RESTMapping, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		m, err := e.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err == nil {
			return m, nil
		}
		if !meta.IsNoMatchError(err) || time.Now().After(deadline) {
			return nil, fmt.Errorf("testenv: mapping %s: %w", gvk, err)
		}
		e.mapper.Reset()
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// ResourceFor returns the dynamic client for obj's kind, in obj's namespace if
// the kind is namespaced.
func (e *Env) ResourceFor(ctx context.Context, obj *unstructured.Unstructured) (dynamic.ResourceInterface, error) {
	m, err := e.RESTMapping(ctx, obj.GroupVersionKind())
	if err != nil {
		return nil, err
	}
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		return e.dyn.Resource(m.Resource).Namespace(obj.GetNamespace()), nil
	}
	return e.dyn.Resource(m.Resource), nil
}

// EnsureNamespace creates namespace name unless it exists.
func (e *Env) EnsureNamespace(ctx context.Context, name string) error {
	e.mu.Lock()
	done := e.nsDone[name]
	e.mu.Unlock()
	if done {
		return nil
	}
	ns := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": name},
	}}
	if _, err := e.dyn.Resource(namespaceGVR).Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("testenv: create namespace %s: %w", name, err)
	}
	e.mu.Lock()
	e.nsDone[name] = true
	e.mu.Unlock()
	return nil
}

// Apply creates the objects in yamlDocs (multi-doc YAML or JSON) with the dynamic
// client and returns them as stored. Namespaced objects without a namespace go to
// namespace ("default" if empty); namespaces are created as needed. Where a
// document has a status, it is then written through the status subresource
// (UpdateStatus on the created object with the document's status copied in), as
// `kubectl replace --subresource=status` would; for kinds without a status
// subresource the status is stored by the create itself. Existing objects are an
// error (except Namespaces, which are left as they are).
func (e *Env) Apply(ctx context.Context, namespace string, yamlDocs []byte) ([]*unstructured.Unstructured, error) {
	docs, err := SplitYAML(yamlDocs)
	if err != nil {
		return nil, err
	}
	if namespace == "" {
		namespace = "default"
	}
	var out []*unstructured.Unstructured
	for _, doc := range docs {
		obj, err := decodeDoc(doc)
		if err != nil {
			return out, err
		}
		if obj == nil {
			continue
		}
		created, err := e.applyOne(ctx, namespace, obj)
		if err != nil {
			return out, err
		}
		out = append(out, created)
	}
	return out, nil
}

func (e *Env) applyOne(ctx context.Context, namespace string, obj *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	gvk := obj.GroupVersionKind()
	m, err := e.RESTMapping(ctx, gvk)
	if err != nil {
		return nil, err
	}
	var ri dynamic.ResourceInterface
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		if obj.GetNamespace() == "" {
			obj.SetNamespace(namespace)
		}
		if err := e.EnsureNamespace(ctx, obj.GetNamespace()); err != nil {
			return nil, err
		}
		ri = e.dyn.Resource(m.Resource).Namespace(obj.GetNamespace())
	} else {
		obj.SetNamespace("")
		ri = e.dyn.Resource(m.Resource)
	}
	id := fmt.Sprintf("%s %s", gvk.Kind, key(obj))
	status, hasStatus := obj.Object["status"]
	created, err := ri.Create(ctx, obj.DeepCopy(), metav1.CreateOptions{})
	if err != nil {
		if gvk.Group == "" && gvk.Kind == "Namespace" && apierrors.IsAlreadyExists(err) {
			return ri.Get(ctx, obj.GetName(), metav1.GetOptions{})
		}
		return nil, fmt.Errorf("testenv: create %s: %w", id, err)
	}
	if gvk.Group == "" && gvk.Kind == "Namespace" {
		e.mu.Lock()
		e.nsDone[obj.GetName()] = true
		e.mu.Unlock()
	}
	if !hasStatus || status == nil {
		return created, nil
	}
	for attempt := 0; ; attempt++ {
		created.Object["status"] = runtimeDeepCopy(status)
		updated, err := ri.UpdateStatus(ctx, created, metav1.UpdateOptions{})
		switch {
		case err == nil:
			return updated, nil
		case apierrors.IsNotFound(err) || apierrors.IsMethodNotSupported(err):
			// No status subresource: Create stored the status already.
			return created, nil
		case apierrors.IsConflict(err) && attempt < 5:
			if created, err = ri.Get(ctx, obj.GetName(), metav1.GetOptions{}); err != nil {
				return nil, fmt.Errorf("testenv: get %s: %w", id, err)
			}
		default:
			return nil, fmt.Errorf("testenv: update status of %s: %w", id, err)
		}
	}
}

func key(obj *unstructured.Unstructured) string {
	if obj.GetNamespace() == "" {
		return obj.GetName()
	}
	return obj.GetNamespace() + "/" + obj.GetName()
}

func runtimeDeepCopy(v any) any {
	return (&unstructured.Unstructured{Object: map[string]any{"v": v}}).DeepCopy().Object["v"]
}
