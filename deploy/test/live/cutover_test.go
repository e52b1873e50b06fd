// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package live

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kuadrant/gateway-api-metrics-exporter/deploy/test/render"
	"github.com/kuadrant/gateway-api-metrics-exporter/internal/testenv"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/spec"
)

// oldDefaultConfigRel is the config the old example's ClusterRole covers:
// the Gateway API kinds only (the kuadrant one also needs kuadrant.io, which
// that role does not grant: TestDropInSwapOldRBAC).
const oldDefaultConfigRel = "anchors/gateway-api-state-metrics/config/default/custom-resource-state.yaml"

// ksmBinary is the real kube-state-metrics v2.20.0 (make ksm-bin; KSM_BIN
// overrides). Without it the test skips, and fails in CI.
func ksmBinary(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("KSM_BIN")
	if bin == "" {
		bin = filepath.Join(testenv.CacheDir(), "ksm-v2.20.0", "kube-state-metrics")
	}
	if _, err := os.Stat(bin); err != nil {
		msg := fmt.Sprintf("the real kube-state-metrics binary is not at %s (run make ksm-bin): %v", bin, err)
		if inCI() {
			t.Fatalf("CI=true: %s", msg)
		}
		t.Skip("skipping: " + msg)
	}
	return bin
}

// startKSM runs the kube-state-metrics binary with args on loopback ports and
// returns its metrics URL; it is stopped when the test ends.
func startKSM(t *testing.T, bin string, args ...string) string {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	tport, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(t.TempDir(), "kube-state-metrics.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	args = append(slices.Clone(args), "--host=127.0.0.1", "--port="+strconv.Itoa(port),
		"--telemetry-host=127.0.0.1", "--telemetry-port="+strconv.Itoa(tport))
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = testenv.SysProcAttr()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("kube-state-metrics log tail:\n%s", tailFile(logPath, 30))
		}
	})
	url := "http://127.0.0.1:" + strconv.Itoa(port)
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := httpClient.Get(url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return url
			}
		}
		select {
		case <-exited:
			t.Fatalf("kube-state-metrics exited:\n%s", tailFile(logPath, 30))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("kube-state-metrics not serving after 60s: %v\n%s", err, tailFile(logPath, 30))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// families groups the gatewayapi_* lines of a text exposition by family:
// its HELP and TYPE lines, and its sample lines sorted (KSM writes objects
// in random order).
type family struct {
	header  []string
	samples []string
}

func gatewayFamilies(body []byte) map[string]*family {
	out := map[string]*family{}
	get := func(name string) *family {
		if out[name] == nil {
			out[name] = &family{}
		}
		return out[name]
	}
	for _, l := range strings.Split(string(body), "\n") {
		switch {
		case strings.HasPrefix(l, "# HELP gatewayapi_"), strings.HasPrefix(l, "# TYPE gatewayapi_"):
			get(strings.Fields(l)[2]).header = append(get(strings.Fields(l)[2]).header, l)
		case strings.HasPrefix(l, "gatewayapi_"):
			name := l[:strings.IndexAny(l, "{ ")]
			get(name).samples = append(get(name).samples, l)
		}
	}
	for _, f := range out {
		sort.Strings(f.samples)
	}
	return out
}

// sameOldLines compares every gatewayapi_* family kube-state-metrics serves
// with ours: identical HELP/TYPE lines and identical sample lines. It
// returns the differences, and the families only we serve.
func sameOldLines(ksm, ours []byte) (diffs, extra []string, lines int) {
	k, o := gatewayFamilies(ksm), gatewayFamilies(ours)
	for name, kf := range k {
		of := o[name]
		switch {
		case of == nil:
			diffs = append(diffs, name+": not served by us")
		case !slices.Equal(kf.header, of.header):
			diffs = append(diffs, fmt.Sprintf("%s: header %q, KSM's %q", name, of.header, kf.header))
		case !slices.Equal(kf.samples, of.samples):
			onlyK, onlyO := diffLines(kf.samples, of.samples)
			diffs = append(diffs, fmt.Sprintf("%s: only KSM's %s; only ours %s", name, firstN(onlyK, 5), firstN(onlyO, 5)))
		}
		lines += len(kf.samples)
	}
	for name := range o {
		if k[name] == nil {
			extra = append(extra, name)
		}
	}
	sort.Strings(diffs)
	sort.Strings(extra)
	return diffs, extra, lines
}

// alertSet is the alerts a Prometheus has pending or firing, without the
// labels that name the target.
func alertSet(t *testing.T, p *prometheus) []string {
	t.Helper()
	r, err := p.query(`ALERTS`)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, s := range r.Series {
		delete(s.Labels, "alertstate")
		out = append(out, canonical(result{Series: []series{s}}, false)...)
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// TestCutoverOldExample is the cutover of gateway-api-state-metrics' own
// example (config/examples/kube-state-metrics), on the real API server:
//
//   - its manifests are applied as they are but for the image (strict
//     server-side apply), with its own ServiceAccount, ClusterRole and binding;
//   - the real kube-state-metrics v2.20.0 and the exporter (both collection
//     modes) run side by side with the Deployment's arguments and the
//     mounted old config, each authenticated by a token of that
//     ServiceAccount (TokenRequest), as in the pod;
//   - every gatewayapi_* line kube-state-metrics serves, we serve
//     identically (HELP, TYPE, samples);
//   - no kind is reported down: the policy kinds found by --discover-policies
//     that the old ClusterRole does not grant are skipped (logged once, no
//     series), and the config's kinds are all readable with it;
//   - Prometheus with our alert rules, scraping kube-state-metrics and
//     scraping us, has no alert pending or firing with us that it does not
//     have with kube-state-metrics.
func TestCutoverOldExample(t *testing.T) {
	shared := sharedDir(t, oldKSMRel)
	sharedDir(t, oldDefaultConfigRel)
	env := testenv.Current(t)
	ksmBin := ksmBinary(t)
	promBin := requireTool(t, "prometheus")
	root := repoRoot(t)
	dir := filepath.Join(shared, oldKSMRel)

	// 1. The example's manifests, the image swapped, applied.
	var objs []render.Object
	var sa render.Object
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) != 5 {
		t.Fatalf("the old example has %d manifests (%v), want 5", len(files), err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		o, err := render.Objects(data)
		if err != nil {
			t.Fatal(err)
		}
		for _, obj := range o {
			switch obj.Kind() {
			case "Deployment":
				cs := render.List(obj, "spec", "template", "spec", "containers")
				cs[0].(map[string]any)["image"] = ourImage
			case "ServiceAccount":
				sa = obj
			}
		}
		objs = append(objs, o...)
	}
	serverSideApply(t, env, objs)
	dep := readOldDeployment(t, filepath.Join(dir, "deployment.yaml"))

	// 2. A token of its ServiceAccount, as the kubelet mounts in the pod.
	cs, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := cs.CoreV1().ServiceAccounts(sa.Namespace()).CreateToken(context.Background(), sa.Name(),
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: new(int64(3600))}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig, err := env.KubeconfigFor(tr.Status.Token)
	if err != nil {
		t.Fatal(err)
	}
	saCS, err := kubernetes.NewForConfig(env.ConfigFor(tr.Status.Token))
	if err != nil {
		t.Fatal(err)
	}
	review, err := saCS.AuthenticationV1().SelfSubjectReviews().Create(context.Background(), &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	user := review.Status.UserInfo.Username
	if want, _ := serviceAccountUser(sa.Namespace(), sa.Name()); user != want {
		t.Fatalf("the token authenticates as %q, want %q", user, want)
	}
	waitAllowed(t, saCS, access{verb: "list", group: "gateway.networking.k8s.io", resource: "httproutes"}, true)

	// 3. The old config at the path the Deployment mounts it.
	crs, err := os.ReadFile(filepath.Join(shared, oldDefaultConfigRel))
	if err != nil {
		t.Fatal(err)
	}
	mountRoot := t.TempDir()
	args := slices.Clone(dep.Args)
	for _, mp := range dep.VolumeMounts {
		for i, a := range args {
			args[i] = strings.ReplaceAll(a, mp+"/", filepath.Join(mountRoot, mp)+"/")
		}
		if err := os.MkdirAll(filepath.Join(mountRoot, mp), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(mountRoot, "custom-resource-state", "custom-resource-state.yaml"), crs, 0o644); err != nil {
		t.Fatal(err)
	}
	plan, _, err := spec.Load(oldDefaultConfigRel, crs)
	if err != nil {
		t.Fatal(err)
	}

	// 4. Side by side: kube-state-metrics (built-in collectors off: the
	// comparison is of the custom-resource-state lines) and us.
	ksmURL := startKSM(t, ksmBin, append(slices.Clone(args), "--kubeconfig="+kubeconfig, "--custom-resource-state-only")...)
	ourArgs := append(slices.Clone(args), append(slices.Clone(loopbackArgs), "--kubeconfig="+kubeconfig)...)
	list := startExporter(t, "exporter(cutover, list)", ourArgs...)
	watch := startExporter(t, "exporter(cutover, watch)", append(slices.Clone(ourArgs), "--collection=watch")...)

	// kube-state-metrics has read everything once its lines stay the same
	// for three scrapes in a row; then ours must match.
	var ksmBody, listBody, watchBody []byte
	var last string
	same := 0
	deadline := time.Now().Add(90 * time.Second)
	for {
		_, _, kb := get(t, ksmURL+"/metrics")
		ksmBody, listBody, watchBody = kb, list.scrape(t), watch.scrape(t)
		diffs, _, n := sameOldLines(ksmBody, listBody)
		wdiffs, _, _ := sameOldLines(ksmBody, watchBody)
		if c := canonicalFamilies(ksmBody); c == last && n > 0 {
			same++
		} else {
			last, same = c, 0
		}
		if same >= 2 && len(diffs) == 0 && len(wdiffs) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 90s, kube-state-metrics' %d gatewayapi lines and ours differ:\nlist mode:\n  %s\nwatch mode:\n  %s",
				n, strings.Join(diffs, "\n  "), strings.Join(wdiffs, "\n  "))
		}
		time.Sleep(time.Second)
	}
	_, extra, n := sameOldLines(ksmBody, listBody)
	t.Logf("every one of kube-state-metrics' %d gatewayapi_* sample lines (%d families) is served identically by us in list and watch mode; families only we serve: %v",
		n, len(gatewayFamilies(ksmBody)), extra)

	// 5. Nothing is down; the policy kinds we found and may not list are
	// skipped, the same in both modes.
	for mode, body := range map[string][]byte{"list": listBody, "watch": watchBody} {
		up := upByKind(t, body)
		for k, v := range up {
			if v != 1 {
				t.Errorf("%s mode: gateway_metrics_up{%s} = %v after the swap", mode, k, v)
			}
		}
		for _, k := range plan.Kinds {
			if _, ok := up[k.GVK.Group+"/"+k.GVK.Kind]; !ok {
				t.Logf("%s mode: %s/%s has no up series (the API server serves no version of it)", mode, k.GVK.Group, k.GVK.Kind)
			}
		}
		if !slices.Equal(upLinesSorted(listBody), upLinesSorted(body)) {
			t.Errorf("%s mode reports other kinds than list mode:\n%s\nvs\n%s", mode, upLines(body), upLines(listBody))
		}
	}
	skipped := list.LogLines("discovered policy kind not readable")
	if len(skipped) == 0 {
		t.Errorf("no discovered policy kind was skipped: the test's cluster has some the old ClusterRole does not grant (e.g. policies.example.test), so the rule was not exercised")
	}
	t.Logf("skipped, not down (list mode log):\n%s", strings.Join(skipped, "\n"))

	// 6. Our alerts: Prometheus scraping us has no alert that Prometheus
	// scraping kube-state-metrics has not.
	alerts := filepath.Join(root, "deploy/rules/alerts.yaml")
	pk := startPrometheus(t, promBin, "cutover-ksm", []scrapeJob{{Name: "kube-state-metrics", Target: hostPort(ksmURL)}}, []string{alerts})
	po := startPrometheus(t, promBin, "cutover-ours", []scrapeJob{{Name: "kube-state-metrics", Target: hostPort(list.MetricsURL)}}, []string{alerts})
	for _, p := range []*prometheus{pk, po} {
		p.waitScraped(t, 60*time.Second)
	}
	// Rules evaluated after both targets were scraped twice.
	for _, p := range []*prometheus{pk, po} {
		since := time.Now()
		deadline := since.Add(60 * time.Second)
		for {
			rules := p.waitRulesEvaluated(t, 60*time.Second)
			fresh := true
			for _, r := range rules {
				if ts, err := time.Parse(time.RFC3339Nano, r.LastEvaluation); err != nil || ts.Before(since) {
					fresh = false
				}
			}
			if fresh {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("prometheus %s: rules not evaluated again within 60s", p.Name)
			}
			time.Sleep(300 * time.Millisecond)
		}
	}
	// Kinds kube-state-metrics cannot read (the API server no longer serves
	// the config's version: GRPCRoute and BackendTLSPolicy v1alpha2 on
	// Gateway API v1.6) we read at the served version: alerts about their
	// objects are new to the user, not caused by a failure of the swap.
	ksmKinds := map[string]bool{}
	for _, f := range gatewayFamilies(ksmBody) {
		for _, l := range f.samples {
			if m := kindLabel.FindStringSubmatch(l); m != nil {
				ksmKinds[m[1]] = true
			}
		}
	}
	withKSM, withUs := alertSet(t, pk), alertSet(t, po)
	onlyUs, _ := diffLines(withUs, withKSM)
	var newlyVisible, unexplained []string
	for _, a := range onlyUs {
		m := kindLabel.FindStringSubmatch(a)
		if m == nil {
			m = routeKindLabel.FindStringSubmatch(a)
		}
		if m != nil && !ksmKinds[m[1]] {
			newlyVisible = append(newlyVisible, a)
			continue
		}
		unexplained = append(unexplained, a)
	}
	if len(unexplained) > 0 {
		t.Errorf("alerts pending or firing with us but not with kube-state-metrics:\n  %s", strings.Join(unexplained, "\n  "))
	}
	if len(newlyVisible) > 0 {
		t.Logf("alerts about objects of kinds kube-state-metrics could not read at the config's version (kinds it read: %v):\n  %s", ksmKinds, strings.Join(newlyVisible, "\n  "))
	}
	for _, a := range withUs {
		if strings.Contains(a, `alertname="GatewayMetricsExporterKindDown"`) {
			t.Errorf("GatewayMetricsExporterKindDown after the swap: %s", a)
		}
	}
	t.Logf("alerts pending or firing: %d with kube-state-metrics, %d with us, %d only with us, all about kinds kube-state-metrics could not read", len(withKSM), len(withUs), len(newlyVisible))
}

var (
	kindLabel      = regexp.MustCompile(`customresource_kind="([^"]+)"`)
	routeKindLabel = regexp.MustCompile(`route_kind="([^"]+)"`)
)

func canonicalFamilies(body []byte) string {
	fams := gatewayFamilies(body)
	names := make([]string, 0, len(fams))
	for n := range fams {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		b.WriteString(strings.Join(fams[n].header, "\n") + "\n" + strings.Join(fams[n].samples, "\n") + "\n")
	}
	return b.String()
}

func upLinesSorted(body []byte) []string {
	l := strings.Split(strings.TrimSpace(upLines(body)), "\n")
	sort.Strings(l)
	return l
}
