// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package compat

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/api/resource"
)

var errNil = errors.New("expected number but found nil value")

// ToFloat64 converts a decoded JSON value to a sample value like KSM's
// customresourcestate.toFloat64: booleans and condition strings ("True",
// "False", "Unknown", yes/no) become 1/0, RFC3339 times become Unix seconds,
// Kubernetes quantities and integer percentages are parsed.
func ToFloat64(v any, nilIsZero bool) (float64, error) {
	switch x := v.(type) {
	case nil:
		if nilIsZero {
			return 0, nil
		}
		return 0, errNil
	case bool:
		if x {
			return 1, nil
		}
		return 0, nil
	case string:
		return stringToFloat64(x)
	case int64:
		return float64(x), nil
	case float64:
		return x, nil
	case int:
		return float64(x), nil
	case int32:
		return float64(x), nil
	case uint64:
		return float64(x), nil
	case float32:
		return float64(x), nil
	}
	return 0, fmt.Errorf("expected number but was %v", v)
}

func stringToFloat64(s string) (float64, error) {
	switch lowerWord(s) {
	case "true", "yes":
		return 1, nil
	case "false", "no", "unknown":
		return 0, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return float64(t.Unix()), nil
	}
	if q, err := resource.ParseQuantity(s); err == nil {
		return q.AsApproximateFloat64(), nil
	}
	if isValidPercent(s) {
		f, err := strconv.ParseFloat(strings.TrimRight(s, "%"), 64)
		return f / 100, err
	}
	return strconv.ParseFloat(s, 64)
}

// lowerWord is strings.ToLower for the short words compared above, without an
// allocation for the ASCII "True"/"False" that every condition carries.
func lowerWord(s string) string {
	if len(s) > 7 {
		return ""
	}
	var buf [7]byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			return strings.ToLower(s)
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	switch string(buf[:len(s)]) { // no allocation: compiler-recognised conversion
	case "true":
		return "true"
	case "yes":
		return "yes"
	case "false":
		return "false"
	case "no":
		return "no"
	case "unknown":
		return "unknown"
	}
	return ""
}

// isValidPercent mirrors k8s.io/apimachinery/pkg/util/validation.IsValidPercent:
// ^[0-9]+%$.
func isValidPercent(s string) bool {
	if len(s) < 2 || s[len(s)-1] != '%' {
		return false
	}
	for i := 0; i < len(s)-1; i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// AppendLabelValue appends v formatted like fmt.Sprintf("%v", v), which is how
// KSM turns a resolved path into a label value. Scalars take a fast path; maps
// and lists (Go syntax such as "map[name:X]") go through fmt.
func AppendLabelValue(b []byte, v any) []byte {
	switch x := v.(type) {
	case string:
		return append(b, x...)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case float64:
		return strconv.AppendFloat(b, x, 'g', -1, 64)
	case bool:
		return strconv.AppendBool(b, x)
	}
	return fmt.Append(b, v)
}

// LabelValue is AppendLabelValue returning a string.
func LabelValue(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return string(AppendLabelValue(nil, v))
}

// SanitizeLabelName replaces every rune outside [a-zA-Z0-9_] with '_', as
// KSM's store.SanitizeLabelName does (a regexp, so one '_' per rune, and one per
// byte of invalid UTF-8).
func SanitizeLabelName(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if !validLabelByte(s[i]) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if r < utf8.RuneSelf && validLabelByte(byte(r)) {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

func validLabelByte(c byte) bool {
	return c == '_' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9')
}

// ValidLabelName reports whether KSM's sanitised name is also a valid
// Prometheus label name; KSM keeps a leading digit, which makes Prometheus
// reject the whole scrape.
func ValidLabelName(s string) bool {
	return s != "" && !(s[0] >= '0' && s[0] <= '9')
}

// FixLabelName makes a sanitised name valid for Prometheus: the one place we
// differ from KSM on purpose (see METRICS.md).
func FixLabelName(s string) string {
	if ValidLabelName(s) {
		return s
	}
	return "_" + s
}

// Pluralize lower-cases and pluralises a kind the way flect.Pluralize does for
// the kinds this exporter knows; the API server's discovery is authoritative
// when there is one.
func Pluralize(kind string) string {
	k := strings.ToLower(kind)
	switch {
	case k == "":
		return k
	case strings.HasSuffix(k, "s"), strings.HasSuffix(k, "x"), strings.HasSuffix(k, "ch"), strings.HasSuffix(k, "sh"):
		return k + "es"
	case strings.HasSuffix(k, "y") && len(k) > 1 && !strings.ContainsRune("aeiou", rune(k[len(k)-2])):
		return k[:len(k)-1] + "ies"
	}
	return k + "s"
}
