// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package current

// One test per Kuadrant kind, on Kuadrant's current CRDs. Kuadrant's
// controllers write status.observedGeneration and leave the conditions'
// observedGeneration unset, so most objects here do the same; the
// per-condition freshness families then have no sample, and
// status_observed_generation says how fresh the status is.

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kuadrant/gateway-api-metrics-exporter/internal/testenv"
)

// policyWant is what a policy with policyStatus gives (plus its target_info).
// The legacy kinds' deleted family has no nilIsZero: no sample until the
// object is being deleted.
func policyWant(legacy bool) []string {
	var deleted []string
	if !legacy {
		deleted = []string{`deleted 0`}
	}
	return append(deleted,
		`created ${CREATED}`,
		`labels{app="shop"} 1`,
		`status{type="Accepted"} 1`,
		`status{type="Enforced"} 0`,
		`metadata_generation 1`,
		`status_observed_generation 1`,
		`status_condition_last_transition_time{type="Accepted"} `+t0900,
		`status_condition_last_transition_time{type="Enforced"} `+t0909,
	)
}

const policyStatus = `status:
  observedGeneration: 1
  conditions:
  - {type: Accepted, status: "True", reason: Accepted, message: accepted, lastTransitionTime: "2026-01-10T09:00:00Z"}
  - {type: Enforced, status: "False", reason: Unknown, message: not yet, lastTransitionTime: "2026-01-10T09:09:00Z"}
`

// A policy whose spec changed after Kuadrant reconciled it: generation 2,
// status.observedGeneration 1.
func TestAuthPolicy(t *testing.T) {
	runKindCase(t, kindCase{
		Group: "kuadrant.io", Kind: "AuthPolicy", Version: "v1",
		Prefix: "gatewayapi_authpolicy_",
		Objects: `apiVersion: kuadrant.io/v1
kind: AuthPolicy
metadata: {name: shop-auth, labels: {app: shop}}
spec:
  targetRef: {group: gateway.networking.k8s.io, kind: HTTPRoute, name: shop, sectionName: rule-1}
  rules:
    authorization:
      deny-all: {opa: {rego: "allow = false"}}
` + policyStatus,
		Prepare: func(t *testing.T, env *testenv.Env, ns string, objs []*unstructured.Unstructured) {
			ri, err := env.ResourceFor(ctxFor(t), objs[0])
			if err != nil {
				t.Fatal(err)
			}
			p, err := ri.Get(ctxFor(t), "shop-auth", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if err := unstructured.SetNestedField(p.Object, "allow = true", "spec", "rules", "authorization", "deny-all", "opa", "rego"); err != nil {
				t.Fatal(err)
			}
			if p, err = ri.Update(ctxFor(t), p, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
			if p.GetGeneration() != 2 {
				t.Fatalf("generation after a spec change: %d, want 2", p.GetGeneration())
			}
		},
		Want: map[string][]string{"shop-auth": {
			`created ${CREATED}`,
			`labels{app="shop"} 1`,
			`status{type="Accepted"} 1`,
			`status{type="Enforced"} 0`,
			// sectionName is labelled, as for every Kuadrant policy (a route
			// rule here; a listener for a Gateway target): a deliberate
			// difference from the old config, documented in METRICS.md.
			`target_info{target_group="gateway.networking.k8s.io",target_kind="HTTPRoute",target_name="shop",target_section_name="rule-1"} 1`,
			`metadata_generation 2`,
			`status_observed_generation 1`,
			`status_condition_last_transition_time{type="Accepted"} ` + t0900,
			`status_condition_last_transition_time{type="Enforced"} ` + t0909,
		}},
	})
}

func TestRateLimitPolicy(t *testing.T) {
	runKindCase(t, kindCase{
		Group: "kuadrant.io", Kind: "RateLimitPolicy", Version: "v1",
		Prefix: "gatewayapi_ratelimitpolicy_",
		Objects: `apiVersion: kuadrant.io/v1
kind: RateLimitPolicy
metadata: {name: shop-limits, labels: {app: shop}}
spec:
  targetRef: {group: gateway.networking.k8s.io, kind: HTTPRoute, name: shop}
  limits:
    per-user: {rates: [{limit: 10, window: 1m}]}
` + policyStatus,
		Want: map[string][]string{"shop-limits": append(policyWant(true),
			`target_info{target_group="gateway.networking.k8s.io",target_kind="HTTPRoute",target_name="shop"} 1`)},
	})
}

func TestTLSPolicy(t *testing.T) {
	runKindCase(t, kindCase{
		Group: "kuadrant.io", Kind: "TLSPolicy", Version: "v1",
		Prefix: "gatewayapi_tlspolicy_",
		Objects: `apiVersion: kuadrant.io/v1
kind: TLSPolicy
metadata: {name: edge-tls, labels: {app: shop}}
spec:
  targetRef: {group: gateway.networking.k8s.io, kind: Gateway, name: edge}
  issuerRef: {group: cert-manager.io, kind: ClusterIssuer, name: letsencrypt}
` + policyStatus,
		Want: map[string][]string{"edge-tls": append(policyWant(true),
			`target_info{target_group="gateway.networking.k8s.io",target_kind="Gateway",target_name="edge"} 1`)},
	})
}

// DNSPolicy: conditions per root host (a map of lists), record count and
// health checks; here the controller also sets each condition's
// observedGeneration.
func TestDNSPolicy(t *testing.T) {
	const probe = `probe_host="api.example.com",probe_id="probe-1",probe_ip_address="192.0.2.10"`
	runKindCase(t, kindCase{
		Group: "kuadrant.io", Kind: "DNSPolicy", Version: "v1",
		Prefix: "gatewayapi_dnspolicy_",
		Objects: `apiVersion: kuadrant.io/v1
kind: DNSPolicy
metadata: {name: edge-dns, labels: {app: shop}}
spec:
  targetRef: {group: gateway.networking.k8s.io, kind: Gateway, name: edge}
  providerRefs: [{name: aws-credentials}]
status:
  observedGeneration: 1
  totalRecords: 3
  conditions:
  - {type: Accepted, status: "True", reason: Accepted, message: ok, lastTransitionTime: "2026-01-10T09:00:00Z", observedGeneration: 1}
  - {type: Enforced, status: "False", reason: Unknown, message: partial, lastTransitionTime: "2026-01-10T09:09:00Z", observedGeneration: 1}
  recordConditions:
    api.example.com:
    - {type: Ready, status: "True", reason: ProviderSuccess, message: ok, lastTransitionTime: "2026-02-01T12:00:00Z", observedGeneration: 1}
    - {type: Healthy, status: "False", reason: HealthChecksFailed, message: probe down, lastTransitionTime: "2026-02-01T12:30:00Z", observedGeneration: 1}
    www.example.com:
    - {type: Ready, status: "False", reason: ProviderError, message: throttled, lastTransitionTime: "2026-01-10T09:09:00Z", observedGeneration: 1}
  healthCheck:
    conditions:
    - {type: Healthy, status: "False", reason: HealthChecksFailed, message: one probe down, lastTransitionTime: "2026-02-01T12:30:00Z"}
    probes:
    - id: probe-1
      host: api.example.com
      ipAddress: 192.0.2.10
      synced: true
      conditions:
      - {type: Healthy, status: "False", reason: Unhealthy, message: "status code 503", lastTransitionTime: "2026-02-01T12:30:00Z"}
`,
		Want: map[string][]string{"edge-dns": {
			`created ${CREATED}`,
			`labels{app="shop"} 1`,
			`status{type="Accepted"} 1`,
			`status{type="Enforced"} 0`,
			`target_info{target_group="gateway.networking.k8s.io",target_kind="Gateway",target_name="edge"} 1`,
			`metadata_generation 1`,
			`status_observed_generation 1`,
			`status_condition_observed_generation{type="Accepted"} 1`,
			`status_condition_observed_generation{type="Enforced"} 1`,
			`status_condition_last_transition_time{type="Accepted"} ` + t0900,
			`status_condition_last_transition_time{type="Enforced"} ` + t0909,
			`status_total_records 3`,
			`status_record_conditions{root_host="api.example.com",type="Healthy"} 0`,
			`status_record_conditions{root_host="api.example.com",type="Ready"} 1`,
			`status_record_conditions{root_host="www.example.com",type="Ready"} 0`,
			`status_record_conditions_observed_generation{root_host="api.example.com",type="Healthy"} 1`,
			`status_record_conditions_observed_generation{root_host="api.example.com",type="Ready"} 1`,
			`status_record_conditions_observed_generation{root_host="www.example.com",type="Ready"} 1`,
			`status_record_conditions_last_transition_time{root_host="api.example.com",type="Healthy"} ` + t1230,
			`status_record_conditions_last_transition_time{root_host="api.example.com",type="Ready"} ` + t1200,
			`status_record_conditions_last_transition_time{root_host="www.example.com",type="Ready"} ` + t0909,
			`status_health_check_conditions{type="Healthy"} 0`,
			`status_health_check_probes_conditions{` + probe + `,type="Healthy"} 0`,
			`status_health_check_probes_synced{` + probe + `} 1`,
		}},
	})
}

func TestDNSRecord(t *testing.T) {
	const probe = `probe_host="api.example.com",probe_id="probe-2",probe_ip_address="192.0.2.11"`
	runKindCase(t, kindCase{
		Group: "kuadrant.io", Kind: "DNSRecord", Version: "v1alpha1",
		Prefix: "kuadrant_dnsrecord_",
		Objects: `apiVersion: kuadrant.io/v1alpha1
kind: DNSRecord
metadata: {name: edge-api}
spec:
  rootHost: api.example.com
  providerRef: {name: aws-credentials}
status:
  observedGeneration: 1
  domainOwners: [owner1a2b]
  conditions:
  - {type: Ready, status: "True", reason: ProviderSuccess, message: ok, lastTransitionTime: "2026-01-10T09:00:00Z", observedGeneration: 1}
  healthCheck:
    conditions:
    - {type: Healthy, status: "True", reason: AllProbesSynced, message: ok, lastTransitionTime: "2026-02-01T12:00:00Z"}
    probes:
    - id: probe-2
      host: api.example.com
      ipAddress: 192.0.2.11
      synced: false
      conditions:
      - {type: Healthy, status: "True", reason: Healthy, message: ok, lastTransitionTime: "2026-02-01T12:00:00Z"}
`,
		Want: map[string][]string{"edge-api": {
			`created{rootDomain="api.example.com"} ${CREATED}`,
			`status_root_domain_owners{owner="owner1a2b",rootDomain="api.example.com"} 1`,
			`status{rootDomain="api.example.com",type="Ready"} 1`,
			`metadata_generation{rootDomain="api.example.com"} 1`,
			`status_observed_generation{rootDomain="api.example.com"} 1`,
			`status_condition_observed_generation{rootDomain="api.example.com",type="Ready"} 1`,
			`status_condition_last_transition_time{rootDomain="api.example.com",type="Ready"} ` + t0900,
			`status_health_check_conditions{rootDomain="api.example.com",type="Healthy"} 1`,
			`status_health_check_probes_conditions{` + probe + `,rootDomain="api.example.com",type="Healthy"} 1`,
			`status_health_check_probes_synced{` + probe + `,rootDomain="api.example.com"} 0`,
		}},
	})
}

func TestDNSHealthCheckProbe(t *testing.T) {
	runKindCase(t, kindCase{
		Group: "kuadrant.io", Kind: "DNSHealthCheckProbe", Version: "v1alpha1",
		Prefix: "kuadrant_dnshealthcheckprobe_",
		Objects: `apiVersion: kuadrant.io/v1alpha1
kind: DNSHealthCheckProbe
metadata: {name: edge-api-192.0.2.10}
spec: {address: 192.0.2.10, hostname: api.example.com, port: 443, protocol: HTTPS, path: /healthz, interval: 1m, failureThreshold: 3}
status:
  observedGeneration: 1
  healthy: false
  consecutiveFailures: 4
  reason: Status code 503
  status: 503
`,
		Want: map[string][]string{"edge-api-192.0.2.10": {
			`healthy_status 0`,
			`status_consecutive_failures 4`,
			`spec_failure_threshold 3`,
			`metadata_generation 1`,
			`status_observed_generation 1`,
		}},
	})
}

func TestKuadrant(t *testing.T) {
	runKindCase(t, kindCase{
		Group: "kuadrant.io", Kind: "Kuadrant", Version: "v1beta1",
		Prefix: "gatewayapi_kuadrant_",
		Objects: `apiVersion: kuadrant.io/v1beta1
kind: Kuadrant
metadata: {name: kuadrant, labels: {app: shop}}
spec: {mtls: {enable: true, authorino: true, limitador: false}}
status:
  observedGeneration: 1
  mtlsAuthorino: true
  mtlsLimitador: false
  conditions:
  - {type: Ready, status: "True", reason: Ready, message: ok, lastTransitionTime: "2026-01-10T09:00:00Z"}
`,
		Want: map[string][]string{"kuadrant": {
			`created ${CREATED}`,
			`deleted 0`,
			`labels{app="shop"} 1`,
			`status{type="Ready"} 1`,
			`status_mtls_authorino 1`,
			`status_mtls_limitador 0`,
			`metadata_generation 1`,
			`status_observed_generation 1`,
			`status_condition_last_transition_time{type="Ready"} ` + t0900,
		}},
	})
}

func TestTokenRateLimitPolicy(t *testing.T) {
	runKindCase(t, kindCase{
		Group: "kuadrant.io", Kind: "TokenRateLimitPolicy", Version: "v1alpha1",
		Prefix: "gatewayapi_tokenratelimitpolicy_",
		Objects: `apiVersion: kuadrant.io/v1alpha1
kind: TokenRateLimitPolicy
metadata: {name: llm-tokens, labels: {app: shop}}
spec:
  targetRef: {group: gateway.networking.k8s.io, kind: Gateway, name: edge, sectionName: https}
  limits:
    free: {rates: [{limit: 20000, window: 24h}]}
` + policyStatus,
		Want: map[string][]string{"llm-tokens": append(policyWant(false),
			`target_info{target_group="gateway.networking.k8s.io",target_kind="Gateway",target_name="edge",target_section_name="https"} 1`)},
	})
}

func TestOIDCPolicy(t *testing.T) {
	runKindCase(t, kindCase{
		Group: "extensions.kuadrant.io", Kind: "OIDCPolicy", Version: "v1alpha1",
		Prefix: "gatewayapi_oidcpolicy_",
		Objects: `apiVersion: extensions.kuadrant.io/v1alpha1
kind: OIDCPolicy
metadata: {name: shop-oidc, labels: {app: shop}}
spec:
  targetRef: {group: gateway.networking.k8s.io, kind: HTTPRoute, name: shop}
  provider: {issuerURL: "https://issuer.example.com", clientID: shop}
` + policyStatus,
		Want: map[string][]string{"shop-oidc": append(policyWant(false),
			`target_info{target_group="gateway.networking.k8s.io",target_kind="HTTPRoute",target_name="shop"} 1`)},
	})
}

func TestPlanPolicy(t *testing.T) {
	runKindCase(t, kindCase{
		Group: "extensions.kuadrant.io", Kind: "PlanPolicy", Version: "v1alpha1",
		Prefix: "gatewayapi_planpolicy_",
		Objects: `apiVersion: extensions.kuadrant.io/v1alpha1
kind: PlanPolicy
metadata: {name: shop-plans, labels: {app: shop}}
spec:
  targetRef: {group: gateway.networking.k8s.io, kind: HTTPRoute, name: shop}
  plans: [{tier: gold, predicate: "true", limits: {daily: 1000}}]
` + policyStatus,
		Want: map[string][]string{"shop-plans": append(policyWant(false),
			`target_info{target_group="gateway.networking.k8s.io",target_kind="HTTPRoute",target_name="shop"} 1`)},
	})
}

func TestTelemetryPolicy(t *testing.T) {
	runKindCase(t, kindCase{
		Group: "extensions.kuadrant.io", Kind: "TelemetryPolicy", Version: "v1alpha1",
		Prefix: "gatewayapi_telemetrypolicy_",
		Objects: `apiVersion: extensions.kuadrant.io/v1alpha1
kind: TelemetryPolicy
metadata: {name: edge-telemetry, labels: {app: shop}}
spec:
  targetRef: {group: gateway.networking.k8s.io, kind: Gateway, name: edge}
  metrics: {default: {labels: {user: auth.identity.userid}}}
` + policyStatus,
		Want: map[string][]string{"edge-telemetry": append(policyWant(false),
			`target_info{target_group="gateway.networking.k8s.io",target_kind="Gateway",target_name="edge"} 1`)},
	})
}

func TestThreatPolicy(t *testing.T) {
	runKindCase(t, kindCase{
		Group: "extensions.kuadrant.io", Kind: "ThreatPolicy", Version: "v1alpha1",
		Prefix: "gatewayapi_threatpolicy_",
		Objects: `apiVersion: extensions.kuadrant.io/v1alpha1
kind: ThreatPolicy
metadata: {name: edge-threats, labels: {app: shop}}
spec:
  targetRef: {group: gateway.networking.k8s.io, kind: Gateway, name: edge}
  threshold: 5
` + policyStatus,
		Want: map[string][]string{"edge-threats": append(policyWant(false),
			`target_info{target_group="gateway.networking.k8s.io",target_kind="Gateway",target_name="edge"} 1`)},
	})
}
