// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

//go:build linux

package testenv

import "syscall"

// procAttr puts a child in its own process group (so Stop can signal the whole
// group) and has the kernel SIGKILL it if this process dies, so a crashed or
// timed-out test does not leave servers behind. Go never retires the OS thread
// that forked the child (threads only exit for goroutines that end while locked
// with runtime.LockOSThread, which this package does not do), so Pdeathsig does
// not fire early.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// SysProcAttr returns the process attributes this package uses for its servers
// (own process group; SIGKILL when the parent dies), for other helper processes
// such as the exporter in hack/run-local.
func SysProcAttr() *syscall.SysProcAttr { return procAttr() }
