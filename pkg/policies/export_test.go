// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package policies

// Established is established, for the tests of the projection.
var Established = established
