// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

//go:build !linux

package envoygateway

import (
	"os/exec"
)

// sandboxEnv: see sandbox_linux.go.
const sandboxEnv = "ENVOYGATEWAY_SANDBOX"

var devices []string

type sandboxSpec struct {
	Root, Binary, BinaryAt string
	Argv, Env              []string
	UID                    int
	Socket, Listen         string
}

func checkSandbox() error                           { return errNoSandbox }
func sandboxCommand(sandboxSpec) (*exec.Cmd, error) { return nil, errNoSandbox }
func runSandbox() int                               { return 2 }
