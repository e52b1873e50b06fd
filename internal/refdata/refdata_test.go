// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package refdata

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// recorder is a testing.TB that records how a test ended.
type recorder struct {
	testing.TB
	ended string // "fatal: ..." or "skip: ..."
	logs  []string
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, args ...any) {
	r.ended = "fatal: " + fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (r *recorder) Skipf(format string, args ...any) {
	r.ended = "skip: " + fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (r *recorder) Logf(format string, args ...any) {
	r.logs = append(r.logs, fmt.Sprintf(format, args...))
}

// run calls f with a recorder in its own goroutine (Fatalf and Skipf end it).
func run(f func(tb testing.TB)) *recorder {
	r := &recorder{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	return r
}

func TestRequireAndOptional(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "anchors", "ksm-golden"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SHARED_DIR", dir)
	for _, ci := range []string{"", "false", "true", "1"} {
		t.Run("CI="+ci, func(t *testing.T) {
			t.Setenv("CI", ci)
			inCI := ci == "true" || ci == "1"
			if InCI() != inCI {
				t.Fatalf("InCI() = %v with CI=%q", InCI(), ci)
			}

			var got string
			r := run(func(tb testing.TB) { got = Require(tb, "anchors/ksm-golden") })
			if r.ended != "" || got != dir {
				t.Errorf("present data: Require = %q, ended %q; want %q and the test going on", got, r.ended, dir)
			}
			r = run(func(tb testing.TB) { got, _ = Optional(tb, "anchors/ksm-golden") })
			if r.ended != "" || got != dir {
				t.Errorf("present data: Optional = %q, ended %q; want %q", got, r.ended, dir)
			}

			want := "skip: "
			if inCI {
				want = "fatal: "
			}
			r = run(func(tb testing.TB) { Require(tb, "anchors/ksm-golden", "anchors/missing") })
			if !strings.HasPrefix(r.ended, want) || !strings.Contains(r.ended, filepath.Join(dir, "anchors/missing")) {
				t.Errorf("missing data: Require ended %q, want %q naming the missing path", r.ended, want)
			}

			ok := true
			r = run(func(tb testing.TB) { _, ok = Optional(tb, "anchors/missing") })
			switch {
			case inCI && !strings.HasPrefix(r.ended, "fatal: "):
				t.Errorf("missing data in CI: Optional ended %q, want a failure", r.ended)
			case !inCI && (r.ended != "" || ok || len(r.logs) != 1):
				t.Errorf("missing data outside CI: Optional ended %q, ok=%v, logs %q; want false and one log line", r.ended, ok, r.logs)
			}
		})
	}
}

// Without SHARED_DIR the folder is ../shared beside the repository root,
// whichever module's directory the test runs in.
func TestDirBesideRepository(t *testing.T) {
	t.Setenv("SHARED_DIR", "")
	dir, err := Dir()
	if err != nil {
		t.Fatal(err)
	}
	wd, _ := os.Getwd() // internal/refdata
	if want := filepath.Join(wd, "..", "..", "..", "shared"); dir != filepath.Clean(want) {
		t.Errorf("Dir() = %s, want %s", dir, want)
	}
}
