// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

// Package exposition writes the Prometheus text and OpenMetrics formats the way
// kube-state-metrics does: the only place where sample bytes are formatted.
package exposition

import (
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/prometheus/common/expfmt"
)

// Format is a negotiated response format.
type Format int

const (
	Text Format = iota
	OpenMetrics
)

// EOF terminates an OpenMetrics body.
const EOF = "# EOF\n"

// AppendFloat formats a sample value like KSM's metric.writeFloat.
func AppendFloat(b []byte, f float64) []byte {
	switch {
	case f == 1:
		return append(b, '1')
	case f == 0:
		return append(b, '0')
	case f == -1:
		return append(b, "-1"...)
	case math.IsNaN(f):
		return append(b, "NaN"...)
	case math.IsInf(f, +1):
		return append(b, "+Inf"...)
	case math.IsInf(f, -1):
		return append(b, "-Inf"...)
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}

// AppendEscaped appends a label value with \, " and newline escaped.
func AppendEscaped(b []byte, v string) []byte {
	clean := true
	for i := 0; i < len(v); i++ {
		if c := v[i]; c == '\\' || c == '"' || c == '\n' {
			clean = false
			break
		}
	}
	if clean {
		return append(b, v...)
	}
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case '\\':
			b = append(b, `\\`...)
		case '"':
			b = append(b, `\"`...)
		case '\n':
			b = append(b, `\n`...)
		default:
			b = append(b, c)
		}
	}
	return b
}

var helpEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`)

// AppendHeader appends the HELP and TYPE lines of a family. In the text format
// KSM writes info and stateset families as gauge, so Prometheus' text parser
// accepts them; OpenMetrics keeps the type.
func AppendHeader(b []byte, name, help, typ string, f Format) []byte {
	b = append(b, "# HELP "...)
	b = append(b, name...)
	b = append(b, ' ')
	b = append(b, helpEscaper.Replace(help)...)
	b = append(b, "\n# TYPE "...)
	b = append(b, name...)
	b = append(b, ' ')
	if f == Text && (typ == "info" || typ == "stateset") {
		typ = "gauge"
	}
	b = append(b, typ...)
	return append(b, '\n')
}

// Negotiate picks the response format from the request headers exactly as
// KSM's metrics handler does: OpenMetrics when asked for, otherwise text
// (protobuf included). It returns the Content-Type to answer with.
func Negotiate(h http.Header) (Format, string) {
	ct := expfmt.NegotiateAccept(h, expfmt.DefaultOpenMetricsAcceptedFormats()...) // what KSM's NegotiateIncludingOpenMetrics does
	if ct.FormatType() != expfmt.TypeOpenMetrics {
		return Text, string(expfmt.NewFormat(expfmt.TypeTextPlain))
	}
	return OpenMetrics, string(ct)
}

// NegotiateAccept is Negotiate for a bare Accept header value.
func NegotiateAccept(accept string) (Format, string) {
	return Negotiate(http.Header{"Accept": []string{accept}})
}
