// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package policies_test

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	sigsyaml "sigs.k8s.io/yaml"

	"github.com/kuadrant/gateway-api-metrics-exporter/internal/testenv"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/objects"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/policies"
)

// crdJSON reads every CustomResourceDefinition of the YAML files in dir, as
// the API server serves them (JSON, Established).
func crdJSON(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".yaml") || strings.HasPrefix(e.Name(), "kustomization") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		docs, err := testenv.SplitYAML(b)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range docs {
			var crd map[string]any
			if err := sigsyaml.Unmarshal(doc, &crd); err != nil {
				t.Fatalf("%s: %v", e.Name(), err)
			}
			if crd["kind"] != "CustomResourceDefinition" {
				continue
			}
			crd["status"] = map[string]any{"conditions": []any{
				map[string]any{"type": "NamesAccepted", "status": "True"},
				map[string]any{"type": "Established", "status": "True"},
			}}
			js, err := sigsyaml.Marshal(crd)
			if err == nil {
				js, err = sigsyaml.YAMLToJSON(js)
			}
			if err != nil {
				t.Fatal(err)
			}
			out[fmt.Sprintf("%s/%s#%d", filepath.Base(dir), e.Name(), i)] = js
		}
	}
	return out
}

// Read through Fields, real CRDs (Gateway API's experimental and standard
// channels, Kuadrant's, Envoy Gateway's) and this package's test CRDs are
// detected exactly as when decoded whole, and far fewer bytes are kept.
func TestFieldsReadWhatDetectNeeds(t *testing.T) {
	all := map[string][]byte{}
	for _, channel := range []string{"standard", "experimental"} {
		dir, err := testenv.GatewayAPICRDDir(channel)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range crdJSON(t, dir) {
			all[channel+"/"+k] = v
		}
	}
	eg, err := testenv.EnvoyGatewayCRDDir()
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range crdJSON(t, eg) {
		all[k] = v
	}
	for k, v := range crdJSON(t, testenv.KuadrantCRDDir()) {
		all[k] = v
	}
	test, err := objects.Parse([]byte(crds))
	if err != nil {
		t.Fatal(err)
	}
	for i, o := range test {
		js, err := sigsyaml.Marshal(o)
		if err == nil {
			js, err = sigsyaml.YAMLToJSON(js)
		}
		if err != nil {
			t.Fatal(err)
		}
		all[fmt.Sprint("test#", i)] = js
	}
	policiesFound, whole, kept := 0, 0, 0
	for name, js := range all {
		full, err := objects.DecodeJSON(js)
		if err != nil {
			t.Fatal(err)
		}
		proj, err := objects.DecodeProjected(js, policies.Fields())
		if err != nil {
			t.Fatal(err)
		}
		fc, fok := policies.Detect(full.(map[string]any))
		pc, pok := policies.Detect(proj.(map[string]any))
		if fok != pok || !reflect.DeepEqual(fc, pc) {
			t.Errorf("%s: decoded whole: %+v %v; through Fields: %+v %v", name, fc, fok, pc, pok)
		}
		if fe, pe := policies.Established(full.(map[string]any)), policies.Established(proj.(map[string]any)); fe != pe {
			t.Errorf("%s: established %v whole, %v through Fields", name, fe, pe)
		}
		if fok {
			policiesFound++
		}
		b, _ := sigsyaml.Marshal(proj)
		whole += len(js)
		kept += len(b)
	}
	if policiesFound < 10 {
		t.Errorf("only %d policies among %d CRDs: the test reads too few", policiesFound, len(all))
	}
	t.Logf("%d CRDs (%d policies): %d bytes of JSON, %d kept through Fields", len(all), policiesFound, whole, kept)
	if kept*20 > whole {
		t.Errorf("Fields keeps %d of %d bytes: schemas are being read", kept, whole)
	}
}
