// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package live

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kuadrant/gateway-api-metrics-exporter/internal/testenv"
)

// prometheus is one Prometheus server started for a test.
type prometheus struct {
	Name string
	URL  string // http://127.0.0.1:PORT
	Jobs []string
	dir  string
	cmd  *exec.Cmd
	exit chan error
}

// scrapeJob is one static scrape job of a test Prometheus.
type scrapeJob struct {
	Name   string
	Target string // host:port
	// More are more targets of the job (an exporter's telemetry port).
	More []string
	// Labels are target labels, as service discovery would attach (e.g.
	// namespace: Prometheus then renames the exported objects' namespace
	// label to exported_namespace, as without honorLabels).
	Labels map[string]string
}

// startPrometheus writes a prometheus.yml with the given jobs (1s scrape and
// evaluation interval) and rule files and starts the server on a free
// loopback port. It is stopped when the test ends.
func startPrometheus(t *testing.T, bin, name string, jobs []scrapeJob, ruleFiles []string) *prometheus {
	t.Helper()
	dir := t.TempDir()
	var cfg strings.Builder
	cfg.WriteString("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n")
	if len(ruleFiles) > 0 {
		cfg.WriteString("rule_files:\n")
		for _, f := range ruleFiles {
			q, _ := json.Marshal(f)
			fmt.Fprintf(&cfg, "  - %s\n", q)
		}
	}
	cfg.WriteString("scrape_configs:\n")
	p := &prometheus{Name: name, dir: dir}
	for _, j := range jobs {
		targets := fmt.Sprintf("%q", j.Target)
		for _, m := range j.More {
			targets += fmt.Sprintf(", %q", m)
		}
		fmt.Fprintf(&cfg, "  - job_name: %q\n    static_configs:\n      - targets: [%s]\n", j.Name, targets)
		if len(j.Labels) > 0 {
			cfg.WriteString("        labels:\n")
			keys := make([]string, 0, len(j.Labels))
			for k := range j.Labels {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				fmt.Fprintf(&cfg, "          %s: %q\n", k, j.Labels[k])
			}
		}
		p.Jobs = append(p.Jobs, j.Name)
	}
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		logPath := filepath.Join(dir, fmt.Sprintf("prometheus-%d.log", attempt))
		logf, err := os.Create(logPath)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin,
			"--config.file="+cfgPath,
			"--storage.tsdb.path="+filepath.Join(dir, fmt.Sprintf("data-%d", attempt)),
			"--web.listen-address=127.0.0.1:"+strconv.Itoa(port),
			"--log.level=warn",
		)
		cmd.Stdout, cmd.Stderr = logf, logf
		cmd.SysProcAttr = testenv.SysProcAttr()
		if err := cmd.Start(); err != nil {
			logf.Close()
			t.Fatalf("start %s: %v", bin, err)
		}
		p.cmd, p.URL, p.exit = cmd, "http://127.0.0.1:"+strconv.Itoa(port), make(chan error, 1)
		go func() { p.exit <- cmd.Wait(); logf.Close() }()
		if lastErr = p.waitReady(30 * time.Second); lastErr == nil {
			t.Cleanup(func() { p.stop(t) })
			return p
		}
		p.stop(t)
		t.Logf("prometheus %s (attempt %d): %v\n%s", name, attempt+1, lastErr, tailFile(logPath, 20))
	}
	t.Fatalf("prometheus %s did not start: %v", name, lastErr)
	return nil
}

func (p *prometheus) stop(t *testing.T) {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exit:
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exit
		t.Logf("prometheus %s killed after 15s", p.Name)
	}
	p.cmd = nil
}

func (p *prometheus) waitReady(within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		select {
		case err := <-p.exit:
			p.exit <- err
			return fmt.Errorf("exited: %v", err)
		default:
		}
		resp, err := httpClient.Get(p.URL + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %v: %v", within, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// waitScraped waits until every job's targets are up and each has been
// scraped at least twice.
func (p *prometheus) waitScraped(t *testing.T, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		var pending []string
		for _, job := range p.Jobs {
			up, err := p.query(fmt.Sprintf(`min(up{job=%q})`, job))
			n, err2 := p.query(fmt.Sprintf(`min(count_over_time(up{job=%q}[10m]))`, job))
			switch {
			case err != nil || err2 != nil:
				pending = append(pending, fmt.Sprintf("%s (query: %v %v)", job, err, err2))
			case len(up.Series) != 1 || up.Series[0].Value != "1":
				pending = append(pending, job+" (not up)")
			case len(n.Series) != 1 || atof(n.Series[0].Value) < 2:
				pending = append(pending, job+" (fewer than 2 scrapes)")
			}
		}
		if len(pending) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus %s: after %v: %s\ntargets: %s", p.Name, within, strings.Join(pending, ", "), p.targets())
		}
		time.Sleep(300 * time.Millisecond)
	}
}

func (p *prometheus) targets() string {
	resp, err := httpClient.Get(p.URL + "/api/v1/targets")
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	var v struct {
		Data struct {
			ActiveTargets []struct {
				ScrapePool, ScrapeURL, Health, LastError string
			} `json:"activeTargets"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		return err.Error()
	}
	var b strings.Builder
	for _, tg := range v.Data.ActiveTargets {
		fmt.Fprintf(&b, "\n  %s %s %s %s", tg.ScrapePool, tg.ScrapeURL, tg.Health, tg.LastError)
	}
	return b.String()
}

func atof(s string) float64 { f, _ := strconv.ParseFloat(s, 64); return f }

// series is one element of a query result.
type series struct {
	Labels map[string]string
	Value  string
}

// result is an instant query's answer.
type result struct {
	Type     string
	Series   []series
	Warnings []string
}

// query evaluates expr at the current time with /api/v1/query.
func (p *prometheus) query(expr string) (result, error) {
	resp, err := httpClient.PostForm(p.URL+"/api/v1/query", url.Values{"query": {expr}})
	if err != nil {
		return result{}, err
	}
	defer resp.Body.Close()
	var v struct {
		Status    string   `json:"status"`
		ErrorType string   `json:"errorType"`
		Error     string   `json:"error"`
		Warnings  []string `json:"warnings"`
		Data      struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		return result{}, fmt.Errorf("decode: %w (HTTP %d)", err, resp.StatusCode)
	}
	if v.Status != "success" {
		return result{}, fmt.Errorf("%s: %s", v.ErrorType, v.Error)
	}
	r := result{Type: v.Data.ResultType, Warnings: v.Warnings}
	switch v.Data.ResultType {
	case "vector":
		var vec []struct {
			Metric map[string]string `json:"metric"`
			Value  [2]any            `json:"value"`
		}
		if err := json.Unmarshal(v.Data.Result, &vec); err != nil {
			return r, err
		}
		for _, s := range vec {
			val, _ := s.Value[1].(string)
			r.Series = append(r.Series, series{Labels: s.Metric, Value: val})
		}
	case "scalar", "string":
		var sv [2]any
		if err := json.Unmarshal(v.Data.Result, &sv); err != nil {
			return r, err
		}
		val, _ := sv[1].(string)
		r.Series = []series{{Labels: map[string]string{}, Value: val}}
	default:
		return r, fmt.Errorf("unexpected result type %s for an instant query", v.Data.ResultType)
	}
	return r, nil
}

// canonical renders a result as sorted lines "{labels} value", without the
// job and instance labels.
func canonical(r result, withValues bool) []string {
	out := make([]string, 0, len(r.Series))
	for _, s := range r.Series {
		keys := make([]string, 0, len(s.Labels))
		for k := range s.Labels {
			if k != "job" && k != "instance" {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		var b strings.Builder
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "%s=%q", k, s.Labels[k])
		}
		b.WriteByte('}')
		if withValues {
			b.WriteString(" " + s.Value)
		}
		out = append(out, b.String())
	}
	sort.Strings(out)
	return out
}

// rule is one rule of /api/v1/rules.
type rule struct {
	Group          string
	Name           string `json:"name"`
	Type           string `json:"type"`
	Health         string `json:"health"`
	LastError      string `json:"lastError"`
	LastEvaluation string `json:"lastEvaluation"`
	State          string `json:"state"`
	Alerts         []any  `json:"alerts"`
}

func (p *prometheus) rules() ([]rule, error) {
	resp, err := httpClient.Get(p.URL + "/api/v1/rules")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var v struct {
		Status string `json:"status"`
		Data   struct {
			Groups []struct {
				Name  string `json:"name"`
				File  string `json:"file"`
				Rules []rule `json:"rules"`
			} `json:"groups"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		return nil, err
	}
	var out []rule
	for _, g := range v.Data.Groups {
		for _, r := range g.Rules {
			r.Group = g.Name
			out = append(out, r)
		}
	}
	return out, nil
}

// freePort returns a free loopback TCP port (closed again: there is a small
// window in which someone else can take it; startPrometheus retries).
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func tailFile(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
