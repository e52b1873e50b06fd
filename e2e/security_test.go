// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/kuadrant/gateway-api-metrics-exporter/internal/testenv"
)

// selfSigned writes a certificate for 127.0.0.1 and its key into dir.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "gateway-api-metrics-exporter"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestTLSAndBasicAuth: --tls-config (exporter-toolkit's web config) covers
// both ports: a real TLS client with the right password is served, a wrong or
// missing password gets 401, and plain HTTP is refused.
func TestTLSAndBasicAuth(t *testing.T) {
	env := testenv.Current(t)
	dir := t.TempDir()
	certFile, keyFile, pool := selfSigned(t, dir)
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	webConfig := filepath.Join(dir, "web-config.yaml")
	if err := os.WriteFile(webConfig, []byte(fmt.Sprintf("tls_server_config:\n  cert_file: %s\n  key_file: %s\nbasic_auth_users:\n  prometheus: %s\n", certFile, keyFile, hash)), 0o600); err != nil {
		t.Fatal(err)
	}
	ns := nsFor(t)
	applySamples(t, env, ns)
	x := startExporter(t, "--kubeconfig="+env.Kubeconfig, "--namespaces="+ns, "--tls-config="+webConfig)
	tlsClient := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	plain := &http.Client{Timeout: 30 * time.Second}

	for _, base := range []string{x.MetricsURL, x.TelemetryURL} {
		httpsURL := strings.Replace(base, "http://", "https://", 1) + "/metrics"
		get := func(c *http.Client, url, user, pass string) (int, string) {
			req, _ := http.NewRequest(http.MethodGet, url, nil)
			if user != "" {
				req.SetBasicAuth(user, pass)
			}
			resp, err := c.Do(req)
			if err != nil {
				return 0, err.Error()
			}
			defer resp.Body.Close()
			b := new(strings.Builder)
			_, _ = fmt.Fprint(b, resp.Status)
			buf := make([]byte, 4096)
			n, _ := resp.Body.Read(buf)
			return resp.StatusCode, string(buf[:n])
		}
		if code, body := get(tlsClient, httpsURL, "prometheus", "s3cret"); code != http.StatusOK {
			t.Errorf("%s with TLS and the right password: %d %s", httpsURL, code, body)
		}
		if code, _ := get(tlsClient, httpsURL, "prometheus", "wrong"); code != http.StatusUnauthorized {
			t.Errorf("%s with a wrong password: %d, want 401", httpsURL, code)
		}
		if code, _ := get(tlsClient, httpsURL, "", ""); code != http.StatusUnauthorized {
			t.Errorf("%s without credentials: %d, want 401", httpsURL, code)
		}
		if code, body := get(plain, base+"/metrics", "prometheus", "s3cret"); code == http.StatusOK {
			t.Errorf("%s over plain HTTP was served: %s", base, body)
		}
	}
}

// TestPprofOnlyWhenEnabled: /debug/pprof is off by default, and only ever on
// the telemetry port.
func TestPprofOnlyWhenEnabled(t *testing.T) {
	env := testenv.Current(t)
	off := startExporter(t, "--kubeconfig="+env.Kubeconfig)
	on := startExporter(t, "--kubeconfig="+env.Kubeconfig, "--enable-pprof")
	for _, c := range []struct {
		url  string
		want int
	}{
		{off.TelemetryURL + "/debug/pprof/", http.StatusNotFound},
		{off.MetricsURL + "/debug/pprof/", http.StatusNotFound},
		{on.TelemetryURL + "/debug/pprof/", http.StatusOK},
		{on.MetricsURL + "/debug/pprof/", http.StatusNotFound},
	} {
		if got := off.get(t, c.url).Status; got != c.want {
			t.Errorf("GET %s: %d, want %d", c.url, got, c.want)
		}
	}
}

// TestRequestLimits: a request header over --max-header-bytes is refused,
// and scrapes beyond --max-concurrent-scrapes get 503 instead of piling up.
func TestRequestLimits(t *testing.T) {
	// An API server that never answers keeps the first scrape in flight
	// until its timeout.
	x := startExporter(t, "--kubeconfig="+writeKubeconfig(t, hangingServer(t)),
		"--max-concurrent-scrapes=1", "--max-header-bytes=4096", "--scrape-timeout=10s")

	big := x.get(t, x.MetricsURL+"/healthz", "X-Big", strings.Repeat("a", 64<<10))
	if big.Status != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("64 KiB header: %d, want 431", big.Status)
	}

	first := make(chan int, 1)
	go func() { first <- x.get(t, x.MetricsURL+"/metrics").Status }()
	for deadline := time.Now().Add(30 * time.Second); scrapesWaiting() < 1; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) { // a liveness bound
			t.Fatal("the first scrape is not in flight")
		}
	}
	for i := range 2 {
		if st := x.get(t, x.MetricsURL+"/metrics").Status; st != http.StatusServiceUnavailable {
			t.Errorf("scrape %d while one is in flight, with a limit of 1: %d, want 503", i+2, st)
		}
	}
	if st := <-first; st != http.StatusOK {
		t.Errorf("the scrape in flight: %d, want 200 (every kind down)", st)
	}
}
