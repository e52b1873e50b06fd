// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package envoygateway

// The scenario Envoy Gateway reconciles (issue 19). Three namespaces: the
// Gateways and most routes in egInfra, a route from another namespace in
// egApps, cross-namespace backends in egBackends. Services stand for the
// backends; no EndpointSlices are made (no kube-controller-manager runs).
const (
	egInfra    = "eg-infra"
	egApps     = "eg-apps"
	egBackends = "eg-backends"
	className  = "eg-e2e"
)

const scenarioYAML = `
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: eg-e2e}
spec:
  controllerName: gateway.envoyproxy.io/gatewayclass-controller
---
# gw-a: a listener for every namespace, one for its own namespace only, and
# one with a protocol Envoy Gateway does not support.
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw-a, namespace: eg-infra}
spec:
  gatewayClassName: eg-e2e
  listeners:
  - name: http
    port: 80
    protocol: HTTP
    allowedRoutes: {namespaces: {from: All}}
  - name: same-only
    port: 8080
    protocol: HTTP
    hostname: same.example.com
    allowedRoutes: {namespaces: {from: Same}}
  - name: invalid
    port: 9000
    protocol: example.com/custom
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw-b, namespace: eg-infra}
spec:
  gatewayClassName: eg-e2e
  listeners:
  - name: http
    port: 80
    protocol: HTTP
    allowedRoutes: {namespaces: {from: All}}
  - name: grpc
    port: 9090
    protocol: HTTP
    hostname: grpc.example.com
---
apiVersion: v1
kind: Service
metadata: {name: svc-local, namespace: eg-infra}
spec:
  selector: {app: local}
  ports: [{name: http, port: 8080, protocol: TCP}]
---
apiVersion: v1
kind: Service
metadata: {name: svc-grpc, namespace: eg-infra}
spec:
  selector: {app: grpc}
  ports: [{name: grpc, port: 9000, protocol: TCP, appProtocol: kubernetes.io/h2c}]
---
apiVersion: v1
kind: Service
metadata: {name: svc-apps, namespace: eg-apps}
spec:
  selector: {app: apps}
  ports: [{name: http, port: 8080, protocol: TCP}]
---
apiVersion: v1
kind: Service
metadata: {name: svc-granted, namespace: eg-backends}
spec:
  selector: {app: granted}
  ports: [{name: http, port: 8080, protocol: TCP}]
---
apiVersion: v1
kind: Service
metadata: {name: svc-refused, namespace: eg-backends}
spec:
  selector: {app: refused}
  ports: [{name: http, port: 8080, protocol: TCP}]
---
# Attached to the whole Gateway: every listener that admits it.
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: direct, namespace: eg-infra}
spec:
  parentRefs: [{name: gw-a}]
  rules: [{backendRefs: [{name: svc-local, port: 8080}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: by-section, namespace: eg-infra}
spec:
  parentRefs: [{name: gw-a, sectionName: same-only}]
  rules: [{backendRefs: [{name: svc-local, port: 8080}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: missing-listener, namespace: eg-infra}
spec:
  parentRefs: [{name: gw-a, sectionName: nope}]
  rules: [{backendRefs: [{name: svc-local, port: 8080}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: missing-gateway, namespace: eg-infra}
spec:
  parentRefs: [{name: gw-missing}]
  rules: [{backendRefs: [{name: svc-local, port: 8080}]}]
---
# From another namespace: refused by same-only, admitted by http.
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: refused, namespace: eg-apps}
spec:
  parentRefs: [{name: gw-a, namespace: eg-infra, sectionName: same-only}]
  rules: [{backendRefs: [{name: svc-apps, port: 8080}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: cross-ok, namespace: eg-apps}
spec:
  parentRefs: [{name: gw-a, namespace: eg-infra, sectionName: http}]
  rules: [{backendRefs: [{name: svc-apps, port: 8080}]}]
---
# Backends in another namespace, one with a ReferenceGrant, one without.
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: xns-granted, namespace: eg-infra}
spec:
  parentRefs: [{name: gw-b, sectionName: http}]
  hostnames: [granted.example.com]
  rules: [{backendRefs: [{name: svc-granted, namespace: eg-backends, port: 8080}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: xns-refused, namespace: eg-infra}
spec:
  parentRefs: [{name: gw-b, sectionName: http}]
  hostnames: [refused.example.com]
  rules: [{backendRefs: [{name: svc-refused, namespace: eg-backends, port: 8080}]}]
---
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: grant-granted, namespace: eg-backends}
spec:
  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: eg-infra}]
  to: [{group: "", kind: Service, name: svc-granted}]
---
# Two parents: a listener that exists, and one that does not.
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: grpc, namespace: eg-infra}
spec:
  parentRefs:
  - {name: gw-b, sectionName: grpc}
  - {name: gw-a, sectionName: nope}
  rules: [{backendRefs: [{name: svc-grpc, port: 9000}]}]
---
# Envoy Gateway's policies: on a Gateway, overridden on one of its listeners;
# on a listener that does not exist; on a Gateway, overridden on a route; on
# a route; on a route that does not exist.
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: ClientTrafficPolicy
metadata: {name: ctp-gateway, namespace: eg-infra}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: gw-a}]
  timeout: {http: {requestReceivedTimeout: 10s}}
---
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: ClientTrafficPolicy
metadata: {name: ctp-listener, namespace: eg-infra}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: gw-a, sectionName: http}]
  timeout: {http: {requestReceivedTimeout: 20s}}
---
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: ClientTrafficPolicy
metadata: {name: ctp-missing-listener, namespace: eg-infra}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: gw-b, sectionName: nope}]
  timeout: {http: {requestReceivedTimeout: 30s}}
---
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: BackendTrafficPolicy
metadata: {name: btp-gateway, namespace: eg-infra}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: gw-b}]
  timeout: {tcp: {connectTimeout: 5s}}
---
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: BackendTrafficPolicy
metadata: {name: btp-route, namespace: eg-infra}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: xns-granted}]
  timeout: {tcp: {connectTimeout: 7s}}
---
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: SecurityPolicy
metadata: {name: sp-route, namespace: eg-infra}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: direct}]
  cors: {allowOrigins: ["https://example.com"]}
---
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: SecurityPolicy
metadata: {name: sp-missing-route, namespace: eg-infra}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: no-such-route}]
  cors: {allowOrigins: ["https://example.com"]}
`

// The changes made while the controller and both exporters run.
const grantRefusedYAML = `
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: grant-refused, namespace: eg-backends}
spec:
  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: eg-infra}]
  to: [{group: "", kind: Service, name: svc-refused}]
`
