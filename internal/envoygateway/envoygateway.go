// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

// Package envoygateway runs a real Gateway API controller, Envoy Gateway's
// control plane (github.com/envoyproxy/gateway, built from its Go module by
// hack/eg-bin.sh), against the API server of internal/testenv, so that tests
// can compare what the exporter serves with the statuses a controller writes
// as it reconciles.
//
// It installs what `helm install eg oci://docker.io/envoyproxy/gateway-helm
// -n envoy-gateway-system --create-namespace` installs, from the chart
// rendered by Helm's engine (hack/egbin): its CRDs (read from the module
// cache), its namespace, ServiceAccounts, RBAC, ConfigMap and Service. In
// place of a kubelet it runs the certgen Job's container and then the
// Deployment's, each authenticated as its own ServiceAccount with a token from
// the TokenRequest API, the controller with the pod's volumes (its config,
// the certificates certgen wrote, the Wasm cache) and service-account token
// mounted where the Deployment mounts them (see sandbox_linux.go).
//
// A bare API server has no kubelets, scheduler or kube-controller-manager: the
// Envoy Deployments the controller creates never get pods, so its Gateways
// stay Programmed=False without an address, and no EndpointSlices are made
// for Services (its routes report BackendsAvailable=False). That is a real
// state of a cluster, and the one tests see. What the controller needs beyond
// that, and how it gets it:
//   - its leader-election Lease, Events, kube-system: the API server serves
//     them itself;
//   - ServiceAccount tokens (no token controller): the TokenRequest API, as a
//     kubelet asks for a pod's projected token;
//   - the pod topology injector, a mutating webhook on pods being bound to
//     nodes: never called without a scheduler, so it is off, by the chart's
//     own value (hack/egbin);
//   - /certs, its fixed certificate path, and its fixed ports: a sandbox per
//     container (sandbox_linux.go), which needs root.
package envoygateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/kuadrant/gateway-api-metrics-exporter/internal/testenv"
)

const (
	// Version is the Envoy Gateway release hack/eg-bin.sh builds (the one
	// hack/egbin/go.mod requires).
	Version = "v1.9.1"
	// Module is Envoy Gateway's Go module.
	Module = "github.com/envoyproxy/gateway"
	// Namespace is the controller's namespace (its chart's quickstart).
	Namespace = "envoy-gateway-system"
	// ControllerName is the controllerName its GatewayClasses name (the
	// chart's default config).
	ControllerName = "gateway.envoyproxy.io/gatewayclass-controller"
	// PolicyGroup is the group of its policy kinds.
	PolicyGroup = "gateway.envoyproxy.io"
)

// ErrBinaryMissing is returned (wrapped) when hack/eg-bin.sh has not run.
var ErrBinaryMissing = errors.New("envoy-gateway binary missing")

// BinDir returns the directory hack/eg-bin.sh builds into: $EG_BIN if set,
// else envoy-gateway-<Version> beside the control-plane binaries
// (testenv.CacheDir()).
func BinDir() string {
	if d := os.Getenv("EG_BIN"); d != "" {
		return d
	}
	return filepath.Join(testenv.CacheDir(), "envoy-gateway-"+Version)
}

// Binary is the envoy-gateway binary in BinDir.
func Binary() string { return filepath.Join(BinDir(), "envoy-gateway") }

// chartFile is the chart as hack/eg-bin.sh rendered it.
func chartFile() string { return filepath.Join(BinDir(), "gateway-helm.yaml") }

// CheckBinary returns an error wrapping ErrBinaryMissing unless the binary
// and the rendered chart are in BinDir.
func CheckBinary() error {
	var missing []string
	if fi, err := os.Stat(Binary()); err != nil || fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
		missing = append(missing, "envoy-gateway")
	}
	if _, err := os.Stat(chartFile()); err != nil {
		missing = append(missing, "gateway-helm.yaml")
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: %s not found in %s (build it with `make eg-bin` or hack/eg-bin.sh, or set EG_BIN)",
			ErrBinaryMissing, strings.Join(missing, " and "), BinDir())
	}
	return nil
}

// ModuleDir returns the module cache directory of Envoy Gateway at the
// version hack/egbin/go.mod requires, by `go list -m` in that module (its
// own, outside go.work), downloading it if needed.
func ModuleDir() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("envoygateway: cannot locate the source tree")
	}
	// internal/envoygateway/envoygateway.go -> <repository>/hack/egbin
	dir := filepath.Join(filepath.Dir(file), "..", "..", "hack", "egbin")
	goBin, err := exec.LookPath("go")
	if err != nil {
		//lint:ignore SA1019 a test binary runs on the machine that built it, so its GOROOT is meaningful
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	cmd := exec.Command(goBin, "list", "-m", "-json", Module)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off")
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			err = fmt.Errorf("%w: %s", err, strings.TrimSpace(string(ee.Stderr)))
		}
		return "", fmt.Errorf("envoygateway: go list -m %s in %s: %v", Module, dir, err)
	}
	var m struct{ Version, Dir string }
	if err := json.Unmarshal(out, &m); err != nil {
		return "", err
	}
	if m.Version != Version {
		return "", fmt.Errorf("envoygateway: hack/egbin requires %s %s, this package expects %s", Module, m.Version, Version)
	}
	if m.Dir == "" {
		// Listed but not downloaded yet.
		cmd := exec.Command(goBin, "mod", "download", "-json", Module+"@"+Version)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOWORK=off")
		out, err := cmd.Output()
		if err != nil {
			return "", fmt.Errorf("envoygateway: go mod download %s@%s: %v", Module, Version, err)
		}
		if err := json.Unmarshal(out, &m); err != nil || m.Dir == "" {
			return "", fmt.Errorf("envoygateway: go mod download %s@%s: no Dir in %q", Module, Version, out)
		}
	}
	return m.Dir, nil
}

// CRDPaths are the CRD files Envoy Gateway's chart installs, in its module:
// the Gateway API experimental channel at the version it is built against
// (v1.6.1 for v1.9.1) and its own kinds.
func CRDPaths() ([]string, error) {
	dir, err := ModuleDir()
	if err != nil {
		return nil, err
	}
	crds := filepath.Join(dir, "charts", "gateway-helm", "charts", "crds", "crds")
	return []string{filepath.Join(crds, "gatewayapi-crds.yaml"), filepath.Join(crds, "generated")}, nil
}

// InstallCRDs installs CRDPaths on env's API server.
func InstallCRDs(ctx context.Context, env *testenv.Env) error {
	paths, err := CRDPaths()
	if err != nil {
		return err
	}
	return env.InstallCRDs(ctx, paths...)
}
