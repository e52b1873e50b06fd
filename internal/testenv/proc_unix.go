// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

//go:build unix && !linux

package testenv

import "syscall"

// procAttr puts a child in its own process group; Pdeathsig is Linux-only.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// SysProcAttr returns the process attributes this package uses for its servers
// (own process group), for other helper processes such as the exporter in
// hack/run-local.
func SysProcAttr() *syscall.SysProcAttr { return procAttr() }
