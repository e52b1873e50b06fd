// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package testenv

import (
	"bufio"
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	gwconsts "sigs.k8s.io/gateway-api/pkg/consts"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/kuadrant/gateway-api-metrics-exporter/internal/refdata"
)

// GatewayAPIVersion is the Gateway API release in go.mod (sigs.k8s.io/gateway-api),
// whose CRDs GatewayAPICRDDir finds. Importing the module's tiny consts package
// also keeps `go mod tidy` from dropping the module.
const GatewayAPIVersion = gwconsts.BundleVersion

// CRDGVR is apiextensions.k8s.io/v1 customresourcedefinitions.
var CRDGVR = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

//go:embed crds/kuadrant/*.yaml
var kuadrantCRDs embed.FS

// KuadrantCRDs returns our minimal Kuadrant CRDs (group kuadrant.io: AuthPolicy,
// RateLimitPolicy, DNSPolicy, TLSPolicy at v1; DNSRecord, DNSHealthCheckProbe at
// v1alpha1; namespaced, permissive schemas, status subresource) as an FS whose
// root holds the *.yaml files.
func KuadrantCRDs() fs.FS {
	sub, err := fs.Sub(kuadrantCRDs, "crds/kuadrant")
	if err != nil {
		panic(err)
	}
	return sub
}

// KuadrantCRDDir is the directory KuadrantCRDs are read from, for tools that
// want files (empty when the source tree is not there).
func KuadrantCRDDir() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return ""
	}
	dir := filepath.Join(filepath.Dir(file), "crds", "kuadrant")
	if _, err := os.Stat(dir); err != nil {
		return ""
	}
	return dir
}

// InstallKuadrantCRDs installs KuadrantCRDs and waits until they are Established.
func (e *Env) InstallKuadrantCRDs(ctx context.Context) error {
	docs, err := readFSDocs(KuadrantCRDs(), ".")
	if err != nil {
		return err
	}
	return e.installCRDDocs(ctx, docs)
}

//go:embed crds/kuadrant-newer/*.yaml
var newerKuadrantCRDs embed.FS

// DemoCRDs returns the CRD documents `make run-local` installs with its
// default Gateway API channel (experimental): the Gateway API CRDs of
// channel, KuadrantCRDs and the newer Kuadrant ones.
func DemoCRDs(channel string) ([][]byte, error) {
	dir, err := GatewayAPICRDDir(channel)
	if err != nil {
		return nil, err
	}
	docs, err := readFSDocs(os.DirFS(dir), ".")
	if err != nil {
		return nil, err
	}
	for _, fsys := range []fs.FS{KuadrantCRDs(), newerKuadrantCRDsFS()} {
		d, err := readFSDocs(fsys, ".")
		if err != nil {
			return nil, err
		}
		docs = append(docs, d...)
	}
	return docs, nil
}

func newerKuadrantCRDsFS() fs.FS {
	sub, err := fs.Sub(newerKuadrantCRDs, "crds/kuadrant-newer")
	if err != nil {
		panic(err)
	}
	return sub
}

// InstallNewerKuadrantCRDs installs our minimal CRDs of the Kuadrant kinds
// InstallKuadrantCRDs leaves out (the Kuadrant instance and
// TokenRateLimitPolicy in kuadrant.io, the extensions.kuadrant.io policies),
// which NewerSamples needs, and waits until they are Established. (The e2e
// packages run without them, to see kinds whose CRD is not installed.)
func (e *Env) InstallNewerKuadrantCRDs(ctx context.Context) error {
	docs, err := readFSDocs(newerKuadrantCRDsFS(), ".")
	if err != nil {
		return err
	}
	return e.installCRDDocs(ctx, docs)
}

// KuadrantCurrentCRDDir returns the directory of Kuadrant's CRDs as they ship
// today: anchors/kuadrant-current/crds in the project's reference data
// (refdata.Dir: ../shared beside the repository, or SHARED_DIR). They are
// kept out of the repository, so ok is false where the folder is absent;
// callers fail in CI (InCI) and skip otherwise.
func KuadrantCurrentCRDDir() (dir string, ok bool) {
	shared, err := refdata.Dir()
	if err != nil {
		return "", false
	}
	dir = filepath.Join(shared, "anchors", "kuadrant-current", "crds")
	if _, err := os.Stat(dir); err != nil {
		return dir, false
	}
	return dir, true
}

// GatewayAPICRDDir returns <sigs.k8s.io/gateway-api module dir>/config/crd/<channel>
// for the version in this module's go.mod (channel "standard" or "experimental"),
// found with ModuleDir.
func GatewayAPICRDDir(channel string) (string, error) {
	if channel != "standard" && channel != "experimental" {
		return "", fmt.Errorf("testenv: gateway-api channel %q: want standard or experimental", channel)
	}
	dir, err := ModuleDir("sigs.k8s.io/gateway-api", GatewayAPIVersion)
	if err != nil {
		return "", err
	}
	crdDir := filepath.Join(dir, "config", "crd", channel)
	if _, err := os.Stat(crdDir); err != nil {
		return "", fmt.Errorf("testenv: gateway-api CRDs: %w", err)
	}
	return crdDir, nil
}

// EnvoyGatewayVersion is the Envoy Gateway release whose CRDs
// EnvoyGatewayCRDDir reads: real CRDs of a Gateway API implementation, large
// ones (EnvoyProxy's is 1.4 MB of YAML), with policies among them.
const EnvoyGatewayVersion = "v1.9.1"

// EnvoyGatewayCRDDir returns the directory of Envoy Gateway's own CRDs
// (gateway.envoyproxy.io, plain YAML) in its Go module
// github.com/envoyproxy/gateway at EnvoyGatewayVersion, from the module cache
// (ModuleDir downloads it when missing: the module is not in go.mod).
func EnvoyGatewayCRDDir() (string, error) {
	dir, err := ModuleDir("github.com/envoyproxy/gateway", EnvoyGatewayVersion)
	if err != nil {
		return "", err
	}
	crdDir := filepath.Join(dir, "charts", "gateway-helm", "charts", "crds", "crds", "generated")
	if _, err := os.Stat(crdDir); err != nil {
		return "", fmt.Errorf("testenv: Envoy Gateway CRDs: %w", err)
	}
	return crdDir, nil
}

// ModuleDir returns the module cache directory of module modPath at the version
// the go.mod of the calling test's module requires. It runs `go list -m`, so it
// should run inside that module (tests and `go run` do). When the module is not
// in the cache yet, or outside a module, it runs `go mod download`: of the
// required version, or of version if the build list has none.
func ModuleDir(modPath, version string) (string, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		//lint:ignore SA1019 a test binary runs on the machine that built it, so its GOROOT is meaningful
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	var listed struct{ Version, Dir string }
	out, err := exec.Command(goBin, "list", "-m", "-json", modPath).Output()
	if err == nil {
		if err := json.Unmarshal(out, &listed); err == nil && listed.Dir != "" {
			return listed.Dir, nil
		}
	}
	query := modPath
	if listed.Version != "" {
		query += "@" + listed.Version
	} else if version != "" {
		query += "@" + version
	}
	out2, err2 := exec.Command(goBin, "mod", "download", "-json", query).Output()
	if err2 != nil {
		return "", fmt.Errorf("testenv: locating %s: go list: %v %s; go mod download: %v %s",
			modPath, err, exitStderr(err), err2, exitStderr(err2))
	}
	var info struct{ Dir string }
	if err := json.Unmarshal(out2, &info); err != nil || info.Dir == "" {
		return "", fmt.Errorf("testenv: go mod download %s: no Dir in %q", query, out2)
	}
	return info.Dir, nil
}

func exitStderr(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return strings.TrimSpace(string(ee.Stderr))
	}
	return ""
}

// InstallGatewayAPICRDs installs the Gateway API CRDs of channel ("standard" or
// "experimental") from the module cache (see GatewayAPICRDDir).
func (e *Env) InstallGatewayAPICRDs(ctx context.Context, channel string) error {
	dir, err := GatewayAPICRDDir(channel)
	if err != nil {
		return err
	}
	return e.InstallCRDs(ctx, dir)
}

// InstallCRDs creates the CustomResourceDefinitions found in paths (YAML files, or
// directories whose *.yaml/*.yml/*.json files are read, not recursively; multi-doc
// files are fine) and waits until all are Established. Documents of other kinds are
// skipped: the Gateway API directories also hold a ValidatingAdmissionPolicy
// (vap_safeupgrades) that only guards CRD upgrades, which tests do not need. CRDs
// that already exist are left as they are.
func (e *Env) InstallCRDs(ctx context.Context, paths ...string) error {
	var docs [][]byte
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		if fi.IsDir() {
			d, err := readFSDocs(os.DirFS(p), ".")
			if err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			docs = append(docs, d...)
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		d, err := SplitYAML(b)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		docs = append(docs, d...)
	}
	return e.installCRDDocs(ctx, docs)
}

func (e *Env) installCRDDocs(ctx context.Context, docs [][]byte) error {
	var names []string
	served := map[string][]string{} // group/version -> plurals
	for _, doc := range docs {
		// Not an object (the Gateway API CRD directories also hold a
		// kustomization.yaml): not a CRD either.
		var head struct{ Kind string }
		if err := sigsyaml.Unmarshal(doc, &head); err == nil && head.Kind == "" {
			continue
		}
		obj, err := decodeDoc(doc)
		if err != nil {
			return err
		}
		if obj == nil || obj.GetKind() != "CustomResourceDefinition" || !strings.HasPrefix(obj.GetAPIVersion(), "apiextensions.k8s.io/") {
			continue
		}
		obj.SetAPIVersion("apiextensions.k8s.io/v1")
		unstructured.RemoveNestedField(obj.Object, "status")
		_, err = e.dyn.Resource(CRDGVR).Create(ctx, obj, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("testenv: create CRD %s: %w", obj.GetName(), err)
		}
		names = append(names, obj.GetName())
		group, _, _ := unstructured.NestedString(obj.Object, "spec", "group")
		plural, _, _ := unstructured.NestedString(obj.Object, "spec", "names", "plural")
		versions, _, _ := unstructured.NestedSlice(obj.Object, "spec", "versions")
		for _, v := range versions {
			m, _ := v.(map[string]any)
			if name, _ := m["name"].(string); name != "" && m["served"] == true {
				served[group+"/"+name] = append(served[group+"/"+name], plural)
			}
		}
	}
	if len(names) == 0 {
		return errors.New("testenv: no CustomResourceDefinition found")
	}
	for _, n := range names {
		if err := e.waitEstablished(ctx, n); err != nil {
			return err
		}
	}
	// Established does not mean discovery shows the resources yet; wait for that
	// too, so clients (RESTMappers, the exporter) see them once this returns.
	if err := e.waitDiscovery(ctx, served); err != nil {
		return err
	}
	e.mapper.Reset()
	return nil
}

func (e *Env) waitDiscovery(ctx context.Context, served map[string][]string) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for gv, plurals := range served {
		for {
			var missing []string
			list, err := e.disco.ServerResourcesForGroupVersion(gv)
			if err == nil {
				have := map[string]bool{}
				for _, r := range list.APIResources {
					have[r.Name] = true
				}
				for _, p := range plurals {
					if !have[p] {
						missing = append(missing, p)
					}
				}
				if len(missing) == 0 {
					break
				}
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("testenv: discovery of %s does not list %v: %w (last error: %v)", gv, missing, ctx.Err(), err)
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	return nil
}

func (e *Env) waitEstablished(ctx context.Context, name string) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for {
		obj, err := e.dyn.Resource(CRDGVR).Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			conds, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
			for _, c := range conds {
				m, _ := c.(map[string]any)
				if m["type"] == "Established" && m["status"] == "True" {
					return nil
				}
				if m["type"] == "NamesAccepted" && m["status"] == "False" {
					return fmt.Errorf("testenv: CRD %s names not accepted: %v", name, m["message"])
				}
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("testenv: CRD %s not Established: %w (last get error: %v)", name, ctx.Err(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// readFSDocs reads the YAML/JSON documents of the files directly in dir of fsys,
// in name order.
func readFSDocs(fsys fs.FS, dir string) ([][]byte, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	var docs [][]byte
	for _, en := range entries {
		n := en.Name()
		if en.IsDir() || !(strings.HasSuffix(n, ".yaml") || strings.HasSuffix(n, ".yml") || strings.HasSuffix(n, ".json")) {
			continue
		}
		if n == "kustomization.yaml" || n == "kustomization.yml" {
			continue // the experimental channel's directory has one; it is no object
		}
		b, err := fs.ReadFile(fsys, path.Join(dir, n))
		if err != nil {
			return nil, err
		}
		d, err := SplitYAML(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
		docs = append(docs, d...)
	}
	return docs, nil
}

// SplitYAML splits a multi-document YAML stream into its non-empty documents.
func SplitYAML(b []byte) ([][]byte, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(b)))
	var docs [][]byte
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		if len(bytes.TrimSpace(doc)) > 0 {
			docs = append(docs, doc)
		}
	}
}

// decodeDoc parses one YAML or JSON document; it returns nil for documents that
// are empty or only comments.
func decodeDoc(doc []byte) (*unstructured.Unstructured, error) {
	j, err := sigsyaml.YAMLToJSON(doc)
	if err != nil {
		return nil, err
	}
	if t := bytes.TrimSpace(j); len(t) == 0 || bytes.Equal(t, []byte("null")) || bytes.Equal(t, []byte("{}")) {
		return nil, nil
	}
	obj := &unstructured.Unstructured{}
	if err := obj.UnmarshalJSON(j); err != nil {
		return nil, fmt.Errorf("testenv: decoding document: %w", err)
	}
	return obj, nil
}
