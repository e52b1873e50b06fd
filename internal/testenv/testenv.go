// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

// Package testenv runs a real etcd and kube-apiserver on loopback for tests and
// for local runs of the exporter. It uses client-go only (no controller-runtime).
//
// The binaries are built by hack/kube-bins.sh (make kube-bins) into BinDir().
// Typical use in a test package:
//
//	func TestMain(m *testing.M) {
//		testenv.Main(m, func(e *testenv.Env) error {
//			return e.InstallKuadrantCRDs(context.Background())
//		})
//	}
//
//	func TestX(t *testing.T) {
//		env := testenv.Current(t) // skips locally when the binaries are missing
//		...
//	}
package testenv

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/csv"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// KubeVersion is the version of kube-apiserver that hack/kube-bins.sh builds.
const KubeVersion = "v1.37.2"

// ErrBinariesMissing is returned (wrapped) by Start when etcd or kube-apiserver is not in BinDir().
var ErrBinariesMissing = errors.New("etcd/kube-apiserver binaries missing")

// BinDir returns the directory with etcd and kube-apiserver: $KUBE_BIN if set,
// else $KUBEBUILDER_ASSETS if set (setup-envtest's layout, which
// controller-runtime users already have: a directory holding etcd,
// kube-apiserver and kubectl), else
// ${XDG_CACHE_HOME:-$HOME/.cache}/gateway-api-metrics-exporter/kube-v1.37.2 (where
// hack/kube-bins.sh builds them). hack/kube-bins.sh picks the same directory.
func BinDir() string {
	if d := os.Getenv("KUBE_BIN"); d != "" {
		return d
	}
	if d := os.Getenv("KUBEBUILDER_ASSETS"); d != "" {
		return d
	}
	return filepath.Join(CacheDir(), "kube-"+KubeVersion)
}

// CacheDir returns ${XDG_CACHE_HOME:-$HOME/.cache}/gateway-api-metrics-exporter.
func CacheDir() string {
	base := os.Getenv("XDG_CACHE_HOME")
	if base == "" {
		home, err := os.UserHomeDir()
		if err != nil || home == "" {
			home = os.TempDir()
		}
		base = filepath.Join(home, ".cache")
	}
	return filepath.Join(base, "gateway-api-metrics-exporter")
}

// CheckBinaries returns an error wrapping ErrBinariesMissing if etcd or kube-apiserver
// is not an executable file in BinDir().
func CheckBinaries() error {
	dir := BinDir()
	var missing []string
	for _, name := range []string{"etcd", "kube-apiserver"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: %s not found in %s (build them with `make kube-bins` or hack/kube-bins.sh, "+
			"or point KUBEBUILDER_ASSETS or KUBE_BIN at a directory holding them)",
			ErrBinariesMissing, strings.Join(missing, " and "), dir)
	}
	return nil
}

// Token is a static bearer token for the apiserver's --token-auth-file.
type Token struct {
	Token, User, UID string
	Groups           []string
}

// Options configures Start.
type Options struct {
	// Dir holds certs, keys, etcd data and logs. If empty, a fresh temp dir is
	// created and removed again by Stop. A given Dir is kept by Stop.
	Dir string
	// ExtraTokens are more users (e.g. without any RBAC) for RBAC tests.
	ExtraTokens []Token
	// ExtraAPIServerArgs are appended to the kube-apiserver command line.
	ExtraAPIServerArgs []string
	// Out, if set, gets progress lines (e.g. os.Stderr).
	Out io.Writer
}

// Env is a running etcd + kube-apiserver.
type Env struct {
	Dir        string // working dir: certs/, etcd-data/, *.log, kubeconfig
	URL        string // https://127.0.0.1:PORT
	Kubeconfig string // admin kubeconfig file (CA = certs/apiserver.crt)
	Config     *rest.Config
	AdminToken string
	EtcdURL    string

	ownsDir bool
	caData  []byte
	apiArgs []string
	out     io.Writer
	keepDir bool

	mu     sync.Mutex
	etcd   *proc
	api    *proc
	mapper *restmapper.DeferredDiscoveryRESTMapper
	disco  *discovery.DiscoveryClient
	dyn    *dynamic.DynamicClient
	nsDone map[string]bool
}

const (
	adminUser = "testenv-admin"
	startWait = 90 * time.Second
)

// Start starts etcd and kube-apiserver on free loopback ports and waits for /readyz.
// On error everything started is stopped again, and the error includes the tail of
// the failing process' log.
func Start(ctx context.Context, opts Options) (_ *Env, retErr error) {
	if err := CheckBinaries(); err != nil {
		return nil, err
	}
	e := &Env{Dir: opts.Dir, out: opts.Out, nsDone: map[string]bool{}}
	if e.Dir == "" {
		removeStaleTempDirs()
		d, err := os.MkdirTemp("", tempPrefix)
		if err != nil {
			return nil, err
		}
		e.Dir, e.ownsDir = d, true
		if err := os.WriteFile(filepath.Join(d, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
			return nil, err
		}
	} else if err := os.MkdirAll(e.Dir, 0o755); err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(e.Dir)
	if err != nil {
		return nil, err
	}
	e.Dir = abs
	defer func() {
		if retErr != nil {
			// Keep the logs named in the error; a later Start removes the dir
			// once this process is gone (see removeStaleTempDirs).
			e.keepDir = true
			_ = e.Stop()
		}
	}()
	t0 := time.Now()

	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	if err := e.startEtcd(ctx, ports[0], ports[1]); err != nil {
		return nil, err
	}
	tEtcd := time.Since(t0)

	if err := e.writeAuthFiles(opts.ExtraTokens); err != nil {
		return nil, err
	}
	e.URL = "https://127.0.0.1:" + strconv.Itoa(ports[2])
	e.apiArgs = []string{
		"--etcd-servers=" + e.EtcdURL,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--endpoint-reconciler-type=none",
		"--secure-port=" + strconv.Itoa(ports[2]),
		"--cert-dir=" + filepath.Join(e.Dir, "certs"),
		"--token-auth-file=" + filepath.Join(e.Dir, "tokens.csv"),
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + filepath.Join(e.Dir, "sa.pub"),
		"--service-account-signing-key-file=" + filepath.Join(e.Dir, "sa.key"),
		"--service-cluster-ip-range=10.0.0.0/24",
	}
	e.apiArgs = append(e.apiArgs, opts.ExtraAPIServerArgs...)
	if err := e.startAPIServer(ctx); err != nil {
		return nil, err
	}

	e.caData, err = os.ReadFile(filepath.Join(e.Dir, "certs", "apiserver.crt"))
	if err != nil {
		return nil, err
	}
	e.Config = e.ConfigFor(e.AdminToken)
	e.Kubeconfig = filepath.Join(e.Dir, "kubeconfig")
	if err := e.writeKubeconfig(e.Kubeconfig, adminUser, e.AdminToken); err != nil {
		return nil, err
	}
	e.dyn, err = dynamic.NewForConfig(e.Config)
	if err != nil {
		return nil, err
	}
	dc, err := discovery.NewDiscoveryClientForConfig(e.Config)
	if err != nil {
		return nil, err
	}
	e.disco = dc
	e.mapper = restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	e.logf("testenv: control plane ready at %s in %.1fs (etcd %.1fs), dir %s",
		e.URL, time.Since(t0).Seconds(), tEtcd.Seconds(), e.Dir)
	return e, nil
}

func (e *Env) logf(format string, args ...any) {
	if e.out != nil {
		fmt.Fprintf(e.out, format+"\n", args...)
	}
}

// Dynamic returns the admin dynamic client.
func (e *Env) Dynamic() *dynamic.DynamicClient { return e.dyn }

// ConfigFor returns a rest.Config for the apiserver that authenticates with token
// (QPS/Burst raised to 1000/2000).
func (e *Env) ConfigFor(token string) *rest.Config {
	return &rest.Config{
		Host:            e.URL,
		BearerToken:     token,
		TLSClientConfig: rest.TLSClientConfig{CAData: append([]byte(nil), e.caData...)},
		QPS:             1000,
		Burst:           2000,
	}
}

// KubeconfigFor writes a kubeconfig that uses token (e.g. one of Options.ExtraTokens)
// and returns its path.
func (e *Env) KubeconfigFor(token string) (string, error) {
	if token == "" {
		return "", errors.New("testenv: empty token")
	}
	sum := sha256.Sum256([]byte(token))
	path := filepath.Join(e.Dir, "kubeconfig-"+hex.EncodeToString(sum[:6]))
	if err := e.writeKubeconfig(path, "user", token); err != nil {
		return "", err
	}
	return path, nil
}

func (e *Env) writeKubeconfig(path, user, token string) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["testenv"] = &clientcmdapi.Cluster{
		Server:               e.URL,
		CertificateAuthority: filepath.Join(e.Dir, "certs", "apiserver.crt"),
	}
	cfg.AuthInfos[user] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts["testenv"] = &clientcmdapi.Context{Cluster: "testenv", AuthInfo: user}
	cfg.CurrentContext = "testenv"
	return clientcmd.WriteToFile(*cfg, path)
}

// Stop stops kube-apiserver and then etcd (SIGTERM, SIGKILL after a timeout) and,
// if Start created the directory, removes it (unless TESTENV_KEEP_DIR is set).
func (e *Env) Stop() error {
	e.mu.Lock()
	api, etcd := e.api, e.etcd
	e.api, e.etcd = nil, nil
	e.mu.Unlock()
	var errs []error
	if api != nil {
		errs = append(errs, api.stop(20*time.Second))
	}
	if etcd != nil {
		errs = append(errs, etcd.stop(10*time.Second))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if e.ownsDir && !e.keepDir && os.Getenv("TESTENV_KEEP_DIR") == "" {
		return os.RemoveAll(e.Dir)
	}
	return nil
}

// StopAPIServer stops only kube-apiserver (etcd keeps running), e.g. to test an
// apiserver outage. RestartAPIServer brings it back on the same port.
func (e *Env) StopAPIServer() error {
	e.mu.Lock()
	api := e.api
	e.api = nil
	e.mu.Unlock()
	if api == nil {
		return nil
	}
	return api.stop(20 * time.Second)
}

// RestartAPIServer starts kube-apiserver again with the same flags, port and etcd
// (stopping it first if it runs) and waits for /readyz.
func (e *Env) RestartAPIServer(ctx context.Context) error {
	if err := e.StopAPIServer(); err != nil {
		return err
	}
	if err := e.startAPIServer(ctx); err != nil {
		return err
	}
	e.mapper.Reset()
	return nil
}

// ---- processes ----

type proc struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
	err     error
}

func (e *Env) spawn(name string, args []string) (*proc, error) {
	logPath := filepath.Join(e.Dir, name+".log")
	lf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(filepath.Join(BinDir(), name), args...)
	cmd.Dir = e.Dir
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.SysProcAttr = procAttr()
	fmt.Fprintf(lf, "==== %s %s\n", time.Now().Format(time.RFC3339), strings.Join(cmd.Args, " "))
	if err := cmd.Start(); err != nil {
		lf.Close()
		return nil, fmt.Errorf("testenv: start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		lf.Close()
		close(p.done)
	}()
	return p, nil
}

// stop sends SIGTERM to the process group, waits up to timeout, then SIGKILLs it.
func (p *proc) stop(timeout time.Duration) error {
	select {
	case <-p.done:
		return nil // already exited
	default:
	}
	pid := p.cmd.Process.Pid
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	select {
	case <-p.done:
		return nil
	case <-time.After(timeout):
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	select {
	case <-p.done:
		return fmt.Errorf("testenv: %s did not stop within %s after SIGTERM; killed", p.name, timeout)
	case <-time.After(5 * time.Second):
		return fmt.Errorf("testenv: %s (pid %d) did not die after SIGKILL", p.name, pid)
	}
}

// failure describes a failed start, with the tail of the log.
func (p *proc) failure(what string) error {
	return fmt.Errorf("testenv: %s %s; last lines of %s:\n%s", p.name, what, p.logPath, LogTail(p.logPath, 25))
}

// LogTail is the last n lines of the log file at path, indented, for an
// error message (or the error reading it).
func LogTail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "  " + strings.Join(lines, "\n  ")
}

// waitHTTP polls url until it answers 200 (and body contains want, if set), the
// process exits, or ctx/the start timeout ends.
func waitHTTP(ctx context.Context, p *proc, url, want string) error {
	client := &http.Client{
		Timeout: 2 * time.Second,
		Transport: &http.Transport{
			// Only for this probe: the serving cert is generated by the apiserver at start.
			TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, //nolint:gosec
			DisableKeepAlives: true,
		},
	}
	deadline := time.NewTimer(startWait)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, err := client.Get(url)
		if err == nil {
			body := make([]byte, 512)
			n, _ := resp.Body.Read(body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && (want == "" || bytes.Contains(body[:n], []byte(want))) {
				return nil
			}
		}
		select {
		case <-p.done:
			return p.failure(fmt.Sprintf("exited (%v) before %s was ready", p.err, url))
		case <-ctx.Done():
			return p.failure(fmt.Sprintf("not ready (%s): %v", url, ctx.Err()))
		case <-deadline.C:
			return p.failure(fmt.Sprintf("not ready after %s (%s)", startWait, url))
		case <-tick.C:
		}
	}
}

func (e *Env) startEtcd(ctx context.Context, clientPort, peerPort int) error {
	client := "http://127.0.0.1:" + strconv.Itoa(clientPort)
	peer := "http://127.0.0.1:" + strconv.Itoa(peerPort)
	e.EtcdURL = client
	p, err := e.spawn("etcd", []string{
		"--name=testenv",
		"--data-dir=" + filepath.Join(e.Dir, "etcd-data"),
		"--listen-client-urls=" + client,
		"--advertise-client-urls=" + client,
		"--listen-peer-urls=" + peer,
		"--initial-advertise-peer-urls=" + peer,
		"--initial-cluster=testenv=" + peer,
		"--unsafe-no-fsync=true",
		"--log-level=warn",
	})
	if err != nil {
		return err
	}
	e.mu.Lock()
	e.etcd = p
	e.mu.Unlock()
	return waitHTTP(ctx, p, client+"/health", `"health":"true"`)
}

func (e *Env) startAPIServer(ctx context.Context) error {
	p, err := e.spawn("kube-apiserver", e.apiArgs)
	if err != nil {
		return err
	}
	e.mu.Lock()
	e.api = p
	e.mu.Unlock()
	return waitHTTP(ctx, p, e.URL+"/readyz", "")
}

// writeAuthFiles writes sa.key/sa.pub (RSA, generated here) and tokens.csv.
func (e *Env) writeAuthFiles(extra []Token) error {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(e.Dir, "sa.key"),
		pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(e.Dir, "sa.pub"),
		pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o644); err != nil {
		return err
	}
	rnd := make([]byte, 16)
	if _, err := rand.Read(rnd); err != nil {
		return err
	}
	e.AdminToken = "admin-" + hex.EncodeToString(rnd)
	tokens := append([]Token{{Token: e.AdminToken, User: adminUser, UID: adminUser, Groups: []string{"system:masters"}}}, extra...)
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	for _, t := range tokens {
		if t.Token == "" || t.User == "" {
			return fmt.Errorf("testenv: token %+v needs Token and User", t)
		}
		uid := t.UID
		if uid == "" {
			uid = t.User
		}
		rec := []string{t.Token, t.User, uid}
		if len(t.Groups) > 0 { // an empty 4th column would mean the group ""
			rec = append(rec, strings.Join(t.Groups, ","))
		}
		if err := w.Write(rec); err != nil {
			return err
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(e.Dir, "tokens.csv"), buf.Bytes(), 0o600)
}

const (
	tempPrefix = "testenv-"
	ownerFile  = "owner.pid"
)

// removeStaleTempDirs removes temp dirs of earlier Envs whose owning process is
// gone (a test binary killed by -timeout or a panic cannot clean up; its etcd
// data dir is >100 MB). Its servers died with it (Pdeathsig).
func removeStaleTempDirs() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), tempPrefix+"*"))
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, ownerFile))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			_ = os.RemoveAll(d)
		}
	}
}

// freePorts returns n distinct free loopback TCP ports (all listeners are held
// until all ports are picked, so they differ).
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// LogTail returns the last n lines of the named process log ("etcd" or "kube-apiserver").
func (e *Env) LogTail(name string, n int) string {
	return LogTail(filepath.Join(e.Dir, name+".log"), n)
}
