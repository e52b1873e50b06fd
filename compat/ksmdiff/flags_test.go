// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package ksmdiff

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/kube-state-metrics/v2/pkg/options"

	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/app"
)

// ourOwnFlags are the exporter's flags that kube-state-metrics does not have
// (README, "Flags": "Ours").
var ourOwnFlags = []string{"collection", "discover-policies", "enable-pprof", "max-concurrent-scrapes", "max-header-bytes", "max-series", "max-series-per-family", "scrape-timeout", "version"}

// ksmFlags are the flags kube-state-metrics v2.20.0 registers, from its own
// options package (klog's included), as its main does.
func ksmFlags(t *testing.T) *pflag.FlagSet {
	t.Helper()
	cmd := &cobra.Command{Use: "kube-state-metrics"}
	options.NewOptions().AddFlags(cmd)
	fs := cmd.Flags()
	if fs.Lookup("port") == nil || fs.Lookup("v") == nil {
		t.Fatal("kube-state-metrics' options registered no --port or -v: AddFlags changed")
	}
	return fs
}

// TestKSMFlagsAccepted is the drop-in promise for command lines: every flag
// kube-state-metrics v2.20.0 has is accepted with KSM's default value, and
// either means what KSM's default means (parsing --flag=<KSM default> gives
// exactly the options of an empty command line) or is named in a warning as
// not applicable.
func TestKSMFlagsAccepted(t *testing.T) {
	base, err := app.Parse(nil, io.Discard)
	if err != nil {
		t.Fatalf("empty command line: %v", err)
	}
	ours := app.FlagSet()
	n := 0
	ksmFlags(t).VisitAll(func(f *pflag.Flag) {
		if f.Name == "help" {
			return // TestKSMHelpFlag
		}
		n++
		t.Run(f.Name, func(t *testing.T) {
			of := ours.Lookup(f.Name)
			if of == nil {
				t.Fatalf("kube-state-metrics flag --%s (default %q) is unknown to the exporter", f.Name, f.DefValue)
			}
			if f.Shorthand != "" && of.Shorthand != f.Shorthand {
				t.Errorf("-%s: kube-state-metrics' shorthand for --%s; ours is %q", f.Shorthand, f.Name, of.Shorthand)
			}
			forms := [][]string{{"--" + f.Name + "=" + f.DefValue}}
			if f.NoOptDefVal == "" {
				forms = append(forms, []string{"--" + f.Name, f.DefValue})
			}
			if f.Shorthand != "" {
				forms = append(forms, []string{"-" + f.Shorthand + "=" + f.DefValue})
			}
			for _, args := range forms {
				o, err := app.Parse(args, io.Discard)
				if err != nil {
					t.Errorf("%q (kube-state-metrics' default): %v", args, err)
					continue
				}
				warned := slices.ContainsFunc(o.Warnings(), func(w string) bool {
					return strings.HasPrefix(w, "--"+f.Name+" is accepted but not applicable")
				})
				if warned {
					if !of.Hidden {
						t.Errorf("%q warns as not applicable, but --%s is listed in --help", args, f.Name)
					}
					continue
				}
				if len(o.Warnings()) > 0 {
					t.Errorf("%q: unexpected warnings %q", args, o.Warnings())
				}
				if got, want := fmt.Sprintf("%+v", *o), fmt.Sprintf("%+v", *base); got != want {
					t.Errorf("%q (kube-state-metrics' default) is not our default:\n got %s\nwant %s", args, got, want)
				}
			}
			if f.NoOptDefVal != "" {
				// A flag given bare, as in "--custom-resource-state-only",
				// means what it means with KSM's implied value.
				bare, err := app.Parse([]string{"--" + f.Name}, io.Discard)
				if err != nil {
					t.Fatalf("--%s given bare (kube-state-metrics reads %q): %v", f.Name, f.NoOptDefVal, err)
				}
				explicit, err := app.Parse([]string{"--" + f.Name + "=" + f.NoOptDefVal}, io.Discard)
				if err != nil {
					t.Fatalf("--%s=%s: %v", f.Name, f.NoOptDefVal, err)
				}
				if got, want := fmt.Sprintf("%+v", *bare), fmt.Sprintf("%+v", *explicit); got != want {
					t.Errorf("--%s given bare is not --%s=%s:\n got %s\nwant %s", f.Name, f.Name, f.NoOptDefVal, got, want)
				}
			}
		})
	})
	if n < 40 {
		t.Errorf("only %d kube-state-metrics flags seen; its options package changed shape", n)
	}

	// The other direction: every flag of ours that KSM lacks is a documented
	// extension, and none of them is hidden.
	ksm := ksmFlags(t)
	var extra []string
	ours.VisitAll(func(f *pflag.Flag) {
		if ksm.Lookup(f.Name) == nil {
			extra = append(extra, f.Name)
		}
	})
	slices.Sort(extra)
	if !slices.Equal(extra, ourOwnFlags) {
		t.Errorf("flags kube-state-metrics does not have: %q, want %q (document a new one in the README and here)", extra, ourOwnFlags)
	}
}

// TestKSMHelpFlag: kube-state-metrics prints its usage for -h and --help; so
// do we (pflag.ErrHelp, on which main exits 0).
func TestKSMHelpFlag(t *testing.T) {
	h := ksmFlags(t).Lookup("help")
	if h == nil || h.Shorthand != "h" {
		t.Fatalf("kube-state-metrics' --help changed: %+v", h)
	}
	for _, arg := range []string{"--help", "-h"} {
		var usage strings.Builder
		_, err := app.Parse([]string{arg}, &usage)
		if !errors.Is(err, pflag.ErrHelp) {
			t.Errorf("%s: %v, want pflag.ErrHelp", arg, err)
		}
		if !strings.Contains(usage.String(), "--custom-resource-state-config-file") {
			t.Errorf("%s printed no usage:\n%s", arg, usage.String())
		}
	}
}
