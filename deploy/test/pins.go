// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

//go:build tools

package deploytest

// The Prometheus Operator's root module is required for its CRD files
// (example/prometheus-operator-crd), which package live installs in its
// control plane from the module cache; this import keeps `go mod tidy` from
// dropping the requirement, and go.mod pins the version.
import _ "github.com/prometheus-operator/prometheus-operator/pkg/versionutil"
