// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package envoygateway

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/kuadrant/gateway-api-metrics-exporter/internal/testenv"
)

// The chart's objects applied as they are. Its Deployment and certgen Job are
// run by this package instead (a kubelet's part); its PodDisruptionBudget,
// HorizontalPodAutoscaler and the CRDs' safe-upgrade ValidatingAdmissionPolicy
// act on nothing here.
var appliedKinds = map[string]bool{
	"ServiceAccount": true, "ClusterRole": true, "ClusterRoleBinding": true,
	"Role": true, "RoleBinding": true, "ConfigMap": true, "Service": true,
}

var (
	serviceAccountGVR = schema.GroupVersionResource{Version: "v1", Resource: "serviceaccounts"}
	configMapGVR      = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	secretGVR         = schema.GroupVersionResource{Version: "v1", Resource: "secrets"}
	leaseGVR          = schema.GroupVersionResource{Group: "coordination.k8s.io", Version: "v1", Resource: "leases"}
)

// leaderElectionID is the Lease the controller holds while it leads
// (internal/provider/kubernetes: LeaderElectionID); Start waits for it.
const leaderElectionID = "5b9825d2.gateway.envoyproxy.io"

// Controller is a running Envoy Gateway control plane.
type Controller struct {
	env     *testenv.Env
	dir     string
	logPath string
	pod     *podProc
}

// Start installs the chart's objects in Namespace, runs certgen as the chart's
// Job would, then starts the controller as the chart's Deployment would, and
// waits until it holds its leader-election Lease (its controllers run from
// then on). The CRDs must be installed (InstallCRDs). Its log is LogPath().
func Start(ctx context.Context, env *testenv.Env) (_ *Controller, retErr error) {
	if err := CheckBinary(); err != nil {
		return nil, err
	}
	if err := checkSandbox(); err != nil {
		return nil, err
	}
	c := &Controller{env: env, dir: filepath.Join(env.Dir, "envoy-gateway")}
	c.logPath = filepath.Join(c.dir, "envoy-gateway.log")
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return nil, err
	}
	objs, err := readChart()
	if err != nil {
		return nil, err
	}
	if err := env.EnsureNamespace(ctx, Namespace); err != nil { // helm install --create-namespace
		return nil, err
	}
	var deployment, job *unstructured.Unstructured
	for _, o := range objs {
		switch {
		case appliedKinds[o.GetKind()]:
			ri, err := env.ResourceFor(ctx, o)
			if err != nil {
				return nil, err
			}
			if _, err := ri.Create(ctx, o, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
				return nil, fmt.Errorf("envoygateway: create %s %s: %w", o.GetKind(), o.GetName(), err)
			}
		case o.GetKind() == "Deployment" && o.GetName() == "envoy-gateway":
			deployment = o
		case o.GetKind() == "Job" && strings.HasSuffix(o.GetName(), "-certgen"):
			job = o
		}
	}
	if deployment == nil || job == nil {
		return nil, fmt.Errorf("envoygateway: %s has no envoy-gateway Deployment or certgen Job", chartFile())
	}

	certgen, err := podOf(job)
	if err != nil {
		return nil, err
	}
	if err := c.runToCompletion(ctx, "certgen", certgen); err != nil {
		return nil, err
	}

	server, err := podOf(deployment)
	if err != nil {
		return nil, err
	}
	p, err := c.startPod(ctx, "envoy-gateway", server, c.logPath)
	if err != nil {
		return nil, err
	}
	c.pod = p
	defer func() {
		if retErr != nil {
			_ = c.Stop()
		}
	}()
	if err := c.waitLeader(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// LogPath is the controller's log file (in the Env's directory).
func (c *Controller) LogPath() string { return c.logPath }

// LogTail returns the last n lines of the controller's log.
func (c *Controller) LogTail(n int) string { return testenv.LogTail(c.logPath, n) }

// Stop ends the controller with SIGTERM, as a kubelet does, and waits for it
// (SIGKILL after 20s).
func (c *Controller) Stop() error {
	if c.pod == nil {
		return nil
	}
	p := c.pod
	c.pod = nil
	return p.stop(20 * time.Second)
}

// Running reports whether the controller's process is still running.
func (c *Controller) Running() bool {
	if c.pod == nil {
		return false
	}
	select {
	case <-c.pod.done:
		return false
	default:
		return true
	}
}

func (c *Controller) waitLeader(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		l, err := c.env.Dynamic().Resource(leaseGVR).Namespace(Namespace).Get(ctx, leaderElectionID, metav1.GetOptions{})
		if err == nil {
			if h, _, _ := unstructured.NestedString(l.Object, "spec", "holderIdentity"); h != "" {
				return nil
			}
		}
		select {
		case <-c.pod.done:
			return fmt.Errorf("envoygateway: the controller exited (%v) before it led; last lines of %s:\n%s", c.pod.err, c.logPath, c.LogTail(30))
		case <-ctx.Done():
			return fmt.Errorf("envoygateway: the controller holds no Lease %s/%s: %w; last lines of %s:\n%s", Namespace, leaderElectionID, ctx.Err(), c.logPath, c.LogTail(30))
		case <-tick.C:
		}
	}
}

// readChart decodes the rendered chart.
func readChart() ([]*unstructured.Unstructured, error) {
	b, err := os.ReadFile(chartFile())
	if err != nil {
		return nil, err
	}
	docs, err := testenv.SplitYAML(b)
	if err != nil {
		return nil, err
	}
	var out []*unstructured.Unstructured
	for _, d := range docs {
		j, err := sigsyaml.YAMLToJSON(d)
		if err != nil {
			return nil, err
		}
		if s := strings.TrimSpace(string(j)); s == "null" || s == "{}" || s == "" {
			continue
		}
		o := &unstructured.Unstructured{}
		if err := o.UnmarshalJSON(j); err != nil {
			return nil, fmt.Errorf("envoygateway: %s: %w", chartFile(), err)
		}
		out = append(out, o)
	}
	return out, nil
}

// pod is what this package reads of a Deployment's or Job's pod template: its
// one container and the volumes it mounts.
type pod struct {
	Namespace          string
	ServiceAccountName string
	AutomountToken     bool
	RunAsUser          int
	Command, Args      []string
	Env                []string
	Mounts             []mount
}

type mount struct {
	Path                string
	ConfigMap, Secret   string
	EmptyDir            bool
	DefaultMode, FSUser int
}

func podOf(o *unstructured.Unstructured) (pod, error) {
	var w struct {
		Spec struct {
			Template struct {
				Spec struct {
					ServiceAccountName           string
					AutomountServiceAccountToken *bool
					SecurityContext              struct{ RunAsUser, FSGroup *int }
					Containers                   []struct {
						Command, Args []string
						Env           []struct {
							Name, Value string
							ValueFrom   *struct{ FieldRef *struct{ FieldPath string } }
						}
						VolumeMounts []struct{ Name, MountPath string }
					}
					Volumes []struct {
						Name      string
						ConfigMap *struct{ Name string }
						Secret    *struct{ SecretName string }
						EmptyDir  *struct{}
					}
				}
			}
		}
	}
	b, err := json.Marshal(o.Object)
	if err != nil {
		return pod{}, err
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return pod{}, err
	}
	s := w.Spec.Template.Spec
	if len(s.Containers) != 1 {
		return pod{}, fmt.Errorf("envoygateway: %s %s: want one container, have %d", o.GetKind(), o.GetName(), len(s.Containers))
	}
	ct := s.Containers[0]
	p := pod{
		Namespace:          o.GetNamespace(),
		ServiceAccountName: s.ServiceAccountName,
		AutomountToken:     s.AutomountServiceAccountToken == nil || *s.AutomountServiceAccountToken,
		Command:            ct.Command,
		Args:               ct.Args,
	}
	if s.SecurityContext.RunAsUser != nil {
		p.RunAsUser = *s.SecurityContext.RunAsUser
	}
	for _, e := range ct.Env {
		switch {
		case e.ValueFrom == nil:
			p.Env = append(p.Env, e.Name+"="+e.Value)
		case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.namespace":
			p.Env = append(p.Env, e.Name+"="+p.Namespace)
		default:
			return pod{}, fmt.Errorf("envoygateway: %s %s: env %s: only values and metadata.namespace are supported", o.GetKind(), o.GetName(), e.Name)
		}
	}
	for _, vm := range ct.VolumeMounts {
		m := mount{Path: vm.MountPath}
		if s.SecurityContext.FSGroup != nil {
			m.FSUser = *s.SecurityContext.FSGroup
		}
		found := false
		for _, v := range s.Volumes {
			if v.Name != vm.Name {
				continue
			}
			found = true
			switch {
			case v.ConfigMap != nil:
				m.ConfigMap = v.ConfigMap.Name
			case v.Secret != nil:
				m.Secret = v.Secret.SecretName
			case v.EmptyDir != nil:
				m.EmptyDir = true
			default:
				return pod{}, fmt.Errorf("envoygateway: %s %s: volume %s: only configMap, secret and emptyDir are supported", o.GetKind(), o.GetName(), v.Name)
			}
		}
		if !found {
			return pod{}, fmt.Errorf("envoygateway: %s %s: no volume %s for mount %s", o.GetKind(), o.GetName(), vm.Name, vm.MountPath)
		}
		p.Mounts = append(p.Mounts, m)
	}
	return p, nil
}

// The image's entrypoint and PATH (the envoyproxy/gateway image is
// distroless with the binary in /usr/local/bin).
const (
	imageBinary = "/usr/local/bin/envoy-gateway"
	imagePATH   = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	// Where a pod's container reaches the API server: the kubernetes
	// Service's address that a kubelet puts in KUBERNETES_SERVICE_HOST/PORT.
	podAPIServerHost = "127.0.0.1"
	podAPIServerPort = "443"
	saTokenDir       = "/var/run/secrets/kubernetes.io/serviceaccount"
)

// prepareRoot writes the pod's root directory as a kubelet and the image
// would lay it out: its volumes (ConfigMaps and Secrets read from the API
// server, emptyDirs), its service-account token, and the mount points the
// sandbox fills. It returns the container's environment.
func (c *Controller) prepareRoot(ctx context.Context, name string, p pod) (root string, env []string, err error) {
	root = filepath.Join(c.dir, name, "root")
	if err := os.RemoveAll(filepath.Join(c.dir, name)); err != nil {
		return "", nil, err
	}
	for _, d := range []string{"proc", "tmp", "run", filepath.Dir(imageBinary)} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return "", nil, err
		}
	}
	if err := os.Chmod(filepath.Join(root, "tmp"), 0o1777); err != nil {
		return "", nil, err
	}
	if err := os.WriteFile(filepath.Join(root, imageBinary), nil, 0o755); err != nil {
		return "", nil, err
	}
	if err := os.MkdirAll(filepath.Join(root, "dev"), 0o755); err != nil {
		return "", nil, err
	}
	for _, d := range devices {
		if err := os.WriteFile(filepath.Join(root, d), nil, 0o666); err != nil {
			return "", nil, err
		}
	}
	dyn := c.env.Dynamic()
	for _, m := range p.Mounts {
		dir := filepath.Join(root, m.Path)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", nil, err
		}
		files := map[string][]byte{}
		switch {
		case m.ConfigMap != "":
			cm, err := dyn.Resource(configMapGVR).Namespace(p.Namespace).Get(ctx, m.ConfigMap, metav1.GetOptions{})
			if err != nil {
				return "", nil, fmt.Errorf("envoygateway: volume %s: %w", m.Path, err)
			}
			data, _, _ := unstructured.NestedStringMap(cm.Object, "data")
			for k, v := range data {
				files[k] = []byte(v)
			}
		case m.Secret != "":
			s, err := dyn.Resource(secretGVR).Namespace(p.Namespace).Get(ctx, m.Secret, metav1.GetOptions{})
			if err != nil {
				return "", nil, fmt.Errorf("envoygateway: volume %s: %w", m.Path, err)
			}
			data, _, _ := unstructured.NestedStringMap(s.Object, "data")
			for k, v := range data {
				b, err := base64.StdEncoding.DecodeString(v)
				if err != nil {
					return "", nil, fmt.Errorf("envoygateway: secret %s key %s: %w", m.Secret, k, err)
				}
				files[k] = b
			}
		case m.EmptyDir:
			if err := os.Chown(dir, m.FSUser, m.FSUser); err != nil {
				return "", nil, err
			}
		}
		for k, v := range files {
			if err := os.WriteFile(filepath.Join(dir, k), v, 0o644); err != nil {
				return "", nil, err
			}
		}
	}
	env = append([]string{"PATH=" + imagePATH, "HOSTNAME=" + name,
		"KUBERNETES_SERVICE_HOST=" + podAPIServerHost, "KUBERNETES_SERVICE_PORT=" + podAPIServerPort}, p.Env...)
	if p.AutomountToken && p.ServiceAccountName != "" {
		token, err := c.serviceAccountToken(ctx, p.Namespace, p.ServiceAccountName)
		if err != nil {
			return "", nil, err
		}
		ca, err := os.ReadFile(filepath.Join(c.env.Dir, "certs", "apiserver.crt"))
		if err != nil {
			return "", nil, err
		}
		dir := filepath.Join(root, saTokenDir)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", nil, err
		}
		for k, v := range map[string][]byte{"token": []byte(token), "ca.crt": ca, "namespace": []byte(p.Namespace)} {
			if err := os.WriteFile(filepath.Join(dir, k), v, 0o644); err != nil {
				return "", nil, err
			}
		}
	}
	return root, env, nil
}

// serviceAccountToken asks the TokenRequest API for a token of the
// ServiceAccount, as a kubelet does for a pod's projected token: the
// controller authenticates as its own ServiceAccount and gets exactly what
// the chart's RBAC grants it.
func (c *Controller) serviceAccountToken(ctx context.Context, ns, name string) (string, error) {
	tr := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
		"metadata": map[string]any{"name": name},
		"spec":     map[string]any{"expirationSeconds": int64(24 * 3600)},
	}}
	out, err := c.env.Dynamic().Resource(serviceAccountGVR).Namespace(ns).Create(ctx, tr, metav1.CreateOptions{}, "token")
	if err != nil {
		return "", fmt.Errorf("envoygateway: token for ServiceAccount %s/%s: %w", ns, name, err)
	}
	token, _, _ := unstructured.NestedString(out.Object, "status", "token")
	if token == "" {
		return "", fmt.Errorf("envoygateway: token for ServiceAccount %s/%s: empty", ns, name)
	}
	return token, nil
}

func (c *Controller) runToCompletion(ctx context.Context, name string, p pod) error {
	logPath := filepath.Join(c.dir, name+".log")
	proc, err := c.startPod(ctx, name, p, logPath)
	if err != nil {
		return err
	}
	select {
	case <-proc.done:
	case <-ctx.Done():
		_ = proc.stop(5 * time.Second)
		return fmt.Errorf("envoygateway: %s: %w", name, ctx.Err())
	case <-time.After(2 * time.Minute):
		_ = proc.stop(5 * time.Second)
		return fmt.Errorf("envoygateway: %s did not finish within 2m; last lines of %s:\n%s", name, logPath, testenv.LogTail(logPath, 20))
	}
	if proc.err != nil {
		return fmt.Errorf("envoygateway: %s failed (%v); last lines of %s:\n%s", name, proc.err, logPath, testenv.LogTail(logPath, 20))
	}
	return nil
}

// startPod runs the pod's container in a sandbox (sandbox_linux.go): its own
// network and mount namespaces, chrooted into the root prepareRoot wrote, with
// the API server reachable at podAPIServerHost:podAPIServerPort through a
// bridge this process serves on a Unix socket in that root.
func (c *Controller) startPod(ctx context.Context, name string, p pod, logPath string) (*podProc, error) {
	root, env, err := c.prepareRoot(ctx, name, p)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(c.env.URL)
	if err != nil {
		return nil, err
	}
	const socket = "/run/kube-apiserver.sock"
	ln, err := net.Listen("unix", filepath.Join(root, socket))
	if err != nil {
		return nil, err
	}
	go bridge(ln, func() (net.Conn, error) { return net.Dial("tcp", u.Host) })

	argv := p.Command
	if len(argv) == 0 {
		argv = []string{imageBinary}
	}
	argv = append(append([]string(nil), argv...), p.Args...)
	spec := sandboxSpec{
		Root: root, Binary: Binary(), BinaryAt: imageBinary, Argv: argv, Env: env, UID: p.RunAsUser,
		Socket: socket, Listen: net.JoinHostPort(podAPIServerHost, podAPIServerPort),
	}
	lf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		ln.Close()
		return nil, err
	}
	fmt.Fprintf(lf, "==== %s %s\n", time.Now().Format(time.RFC3339), strings.Join(argv, " "))
	cmd, err := sandboxCommand(spec)
	if err != nil {
		ln.Close()
		lf.Close()
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = lf, lf
	if err := cmd.Start(); err != nil {
		ln.Close()
		lf.Close()
		return nil, fmt.Errorf("envoygateway: start %s: %w", name, err)
	}
	pp := &podProc{name: name, cmd: cmd, done: make(chan struct{}), ln: ln}
	go func() {
		pp.err = cmd.Wait()
		lf.Close()
		ln.Close()
		close(pp.done)
	}()
	return pp, nil
}

type podProc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	err  error
	ln   net.Listener
}

// stop sends SIGTERM to the sandbox, which passes it to the container once
// (a second SIGTERM would make controller-runtime exit at once), waits up to
// timeout, then SIGKILLs the process group.
func (p *podProc) stop(timeout time.Duration) error {
	select {
	case <-p.done:
		return nil
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		if p.err != nil {
			return fmt.Errorf("envoygateway: %s exited with %v after SIGTERM", p.name, p.err)
		}
		return nil
	case <-time.After(timeout):
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
	return fmt.Errorf("envoygateway: %s did not stop within %s of SIGTERM; killed", p.name, timeout)
}

// bridge accepts connections on ln and copies each both ways to a new
// connection from dial, until ln is closed.
func bridge(ln net.Listener, dial func() (net.Conn, error)) {
	for {
		in, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer in.Close()
			out, err := dial()
			if err != nil {
				return
			}
			defer out.Close()
			var wg sync.WaitGroup
			wg.Add(2)
			pipe := func(dst, src net.Conn) {
				defer wg.Done()
				_, _ = io.Copy(dst, src)
				if cw, ok := dst.(interface{ CloseWrite() error }); ok {
					_ = cw.CloseWrite()
				}
			}
			go pipe(out, in)
			go pipe(in, out)
			wg.Wait()
		}()
	}
}

var errNoSandbox = errors.New("envoygateway: the sandbox needs Linux and root (CAP_SYS_ADMIN for mount and network namespaces)")
