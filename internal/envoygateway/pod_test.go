// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package envoygateway

import (
	"reflect"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	sigsyaml "sigs.k8s.io/yaml"
)

func decode(t *testing.T, y string) *unstructured.Unstructured {
	t.Helper()
	o := &unstructured.Unstructured{}
	j, err := sigsyaml.YAMLToJSON([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	if err := o.UnmarshalJSON(j); err != nil {
		t.Fatal(err)
	}
	return o
}

// podOf reads what a kubelet would run: the one container's command, args and
// environment (a metadata.namespace fieldRef resolved), the pod's user, and
// each volume mount with its source.
func TestPodOf(t *testing.T) {
	p, err := podOf(decode(t, `
apiVersion: apps/v1
kind: Deployment
metadata: {name: envoy-gateway, namespace: envoy-gateway-system}
spec:
  template:
    spec:
      serviceAccountName: envoy-gateway
      securityContext: {runAsUser: 65532, fsGroup: 65532}
      containers:
      - args: [server, --config-path=/config/envoy-gateway.yaml]
        env:
        - name: ENVOY_GATEWAY_NAMESPACE
          valueFrom: {fieldRef: {apiVersion: v1, fieldPath: metadata.namespace}}
        - {name: KUBERNETES_CLUSTER_DOMAIN, value: cluster.local}
        volumeMounts:
        - {mountPath: /config, name: config}
        - {mountPath: /certs, name: certs}
        - {mountPath: /var/lib/eg/wasm, name: wasm}
      volumes:
      - {name: config, configMap: {name: envoy-gateway-config}}
      - {name: certs, secret: {secretName: envoy-gateway}}
      - {name: wasm, emptyDir: {}}
`))
	if err != nil {
		t.Fatal(err)
	}
	want := pod{
		Namespace: "envoy-gateway-system", ServiceAccountName: "envoy-gateway", AutomountToken: true, RunAsUser: 65532,
		Args: []string{"server", "--config-path=/config/envoy-gateway.yaml"},
		Env:  []string{"ENVOY_GATEWAY_NAMESPACE=envoy-gateway-system", "KUBERNETES_CLUSTER_DOMAIN=cluster.local"},
		Mounts: []mount{
			{Path: "/config", ConfigMap: "envoy-gateway-config", FSUser: 65532},
			{Path: "/certs", Secret: "envoy-gateway", FSUser: 65532},
			{Path: "/var/lib/eg/wasm", EmptyDir: true, FSUser: 65532},
		},
	}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("podOf:\n got %+v\nwant %+v", p, want)
	}
}

// What podOf cannot honour is an error, never a container run differently.
func TestPodOfRefusesWhatItCannotRun(t *testing.T) {
	for name, y := range map[string]string{
		"two containers": `
kind: Job
metadata: {name: j}
spec: {template: {spec: {containers: [{name: a}, {name: b}]}}}`,
		"env from a secret": `
kind: Job
metadata: {name: j}
spec: {template: {spec: {containers: [{env: [{name: X, valueFrom: {secretKeyRef: {name: s, key: k}}}]}]}}}`,
		"a mount without its volume": `
kind: Job
metadata: {name: j}
spec: {template: {spec: {containers: [{volumeMounts: [{name: v, mountPath: /v}]}]}}}`,
		"a hostPath volume": `
kind: Job
metadata: {name: j}
spec: {template: {spec: {containers: [{volumeMounts: [{name: h, mountPath: /h}]}], volumes: [{name: h, hostPath: {path: /}}]}}}`,
	} {
		if _, err := podOf(decode(t, "apiVersion: batch/v1\n"+y)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
