// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

//go:build linux

package envoygateway

// The sandbox: how a pod's container runs here without a container runtime.
//
// Envoy Gateway's Kubernetes provider loads its TLS certificates from the
// fixed path /certs (internal/xds/runner, internal/gatewayapi/runner), writes
// its Wasm cache under /var/lib/eg/wasm, and listens on fixed ports on every
// interface (8081 health probes, 18000 xDS, 18002 Wasm, 19001 metrics;
// 19000 admin on loopback). Running it as a plain process would write keys
// into the machine's /certs, clobber whatever is there, expose those ports on
// the machine's interfaces, and make two runs at once (two checkouts, or a
// developer's and CI's) fight over them. So each container runs as its pod
// would: the test binary re-executes itself (sandboxEnv set; Main dispatches
// to runSandbox before anything else) in new mount and network namespaces,
// brings up the loopback interface there, bind-mounts the envoy-gateway
// binary, the basic device nodes and a procfs into the root directory prepareRoot laid out (the pod's
// volumes, its service-account token), chroots into it and starts the
// container as the pod's user. Nothing is written outside the Env's
// directory, no port is opened on the machine, and everything ends with the
// test (Pdeathsig). The API server, on the machine's loopback, is reached
// through a Unix socket in that root that the test process bridges to it;
// inside, the sandbox serves it on podAPIServerHost:podAPIServerPort, the
// address a kubelet gives pods in KUBERNETES_SERVICE_HOST/PORT.
//
// Placing the certificates in the machine's /certs as root (CI runs as root)
// was the other way; it was not taken for the reasons above.

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"unsafe"
)

// devices are the device nodes a container runtime gives every container
// (the rest of its /dev is not needed here), bind-mounted from the machine's.
var devices = []string{"/dev/null", "/dev/zero", "/dev/random", "/dev/urandom"}

// sandboxEnv holds the sandboxSpec (JSON) of a re-executed test binary.
const sandboxEnv = "ENVOYGATEWAY_SANDBOX"

type sandboxSpec struct {
	Root     string   // the pod's root directory (prepareRoot)
	Binary   string   // the envoy-gateway binary on the machine
	BinaryAt string   // where the image has it (bind-mounted there)
	Argv     []string // the container's command and args
	Env      []string // the container's environment
	UID      int      // the pod's runAsUser (and group)
	Socket   string   // the bridge to the API server, inside Root
	Listen   string   // the API server's address inside the sandbox
}

// checkSandbox tells early when the sandbox cannot be made.
func checkSandbox() error {
	if os.Geteuid() != 0 {
		return errNoSandbox
	}
	return nil
}

// sandboxCommand is the test binary re-executed as the sandbox of spec.
func sandboxCommand(spec sandboxSpec) (*exec.Cmd, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self)
	cmd.Env = []string{sandboxEnv + "=" + string(b)}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		// Own process group, so that stop can SIGKILL the sandbox and its
		// container together; SIGKILL when the test process dies.
		Setpgid:   true,
		Pdeathsig: syscall.SIGKILL,
		// New mount and network namespaces (Go makes the mounts private to
		// the new namespace before exec, so none propagates back).
		Unshareflags: syscall.CLONE_NEWNS | syscall.CLONE_NEWNET,
	}
	return cmd, nil
}

// runSandbox is the re-executed test binary: it sets up the sandbox described
// by $ENVOYGATEWAY_SANDBOX, runs the container in it and returns its exit
// code. Its stdout and stderr are the pod's log.
func runSandbox() int {
	var spec sandboxSpec
	if err := json.Unmarshal([]byte(os.Getenv(sandboxEnv)), &spec); err != nil {
		fmt.Fprintln(os.Stderr, "sandbox:", err)
		return 2
	}
	cmd, err := enterSandbox(spec)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sandbox:", err)
		return 2
	}
	// Pass SIGTERM/SIGINT on to the container, once each.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "sandbox:", err)
		return 2
	}
	go func() {
		for s := range sigs {
			_ = cmd.Process.Signal(s)
		}
	}()
	err = cmd.Wait()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "sandbox:", err)
		return 2
	}
	return 0
}

func enterSandbox(spec sandboxSpec) (*exec.Cmd, error) {
	if err := loopbackUp(); err != nil {
		return nil, fmt.Errorf("loopback: %w", err)
	}
	if err := syscall.Mount(spec.Binary, filepath.Join(spec.Root, spec.BinaryAt), "", syscall.MS_BIND, ""); err != nil {
		return nil, fmt.Errorf("bind %s: %w", spec.Binary, err)
	}
	for _, d := range devices {
		if err := syscall.Mount(d, filepath.Join(spec.Root, d), "", syscall.MS_BIND, ""); err != nil {
			return nil, fmt.Errorf("bind %s: %w", d, err)
		}
	}
	if err := syscall.Mount("proc", filepath.Join(spec.Root, "proc"), "proc", syscall.MS_NOSUID|syscall.MS_NODEV|syscall.MS_NOEXEC, ""); err != nil {
		return nil, fmt.Errorf("mount proc: %w", err)
	}
	if err := syscall.Chroot(spec.Root); err != nil {
		return nil, fmt.Errorf("chroot %s: %w", spec.Root, err)
	}
	if err := os.Chdir("/"); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", spec.Listen)
	if err != nil {
		return nil, err
	}
	go bridge(ln, func() (net.Conn, error) { return net.Dial("unix", spec.Socket) })

	// The image's PATH, for a command named without a directory (the
	// certgen Job runs "envoy-gateway").
	for _, kv := range spec.Env {
		if len(kv) > 5 && kv[:5] == "PATH=" {
			_ = os.Setenv("PATH", kv[5:])
		}
	}
	path, err := exec.LookPath(spec.Argv[0])
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(path, spec.Argv[1:]...)
	cmd.Args[0] = spec.Argv[0]
	cmd.Env = spec.Env
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if spec.UID != 0 {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(spec.UID), Gid: uint32(spec.UID)}
	}
	return cmd, nil
}

// loopbackUp sets IFF_UP on lo, which a new network namespace has down.
func loopbackUp() error {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer syscall.Close(fd)
	var ifr struct {
		name  [syscall.IFNAMSIZ]byte
		flags uint16
		_     [22]byte // the rest of struct ifreq's union
	}
	copy(ifr.name[:], "lo")
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.SIOCGIFFLAGS, uintptr(unsafe.Pointer(&ifr))); e != 0 {
		return e
	}
	ifr.flags |= syscall.IFF_UP
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.SIOCSIFFLAGS, uintptr(unsafe.Pointer(&ifr))); e != 0 {
		return e
	}
	return nil
}
