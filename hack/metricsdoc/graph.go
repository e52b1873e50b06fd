// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package main

// graphSection documents the attachment graph (pkg/graph): its families'
// semantics, its one spec extension (each.graph), and what it costs.
const graphSection = `
## The attachment graph: what lies between objects

Most failures users hit live between objects: a route whose parent Gateway or listener does not exist, or that no
controller has acknowledged; a ` + "`status.parents`" + ` entry left behind after ` + "`spec.parentRefs`" + ` changed; which policies
apply to a route through its Gateway or listener; a policy whose target does not exist; a cross-namespace reference
that no ReferenceGrant permits. No per-object family can say these. The exporter builds the **attachment graph** from
the objects it already reads (no other object, no extra RBAC) and serves what it finds as families of the object they
describe, with that object's ` + "`customresource_*`" + `, ` + "`namespace`" + ` and ` + "`name`" + ` labels. Every mode serves the same lines:
list mode builds the graph from each scrape's LISTs, watch mode keeps it up to date from its watches (a change shows on
the next scrape, with no re-list), and ` + "`render`" + ` builds it from its input. With ` + "`--total-shards`" + `, each shard serves
the graph families of the objects it owns, judged against every object.

References are compared with the API's defaults filled in: a parentRef's group is ` + "`gateway.networking.k8s.io`" + ` and its
kind ` + "`Gateway`" + `; a backendRef's group is the core group (` + "`\"\"`" + `) and its kind ` + "`Service`" + `; a certificateRef's group
is the core group and its kind ` + "`Secret`" + `; a missing namespace is the referring object's. A policy is any kind named
` + "`*Policy`" + ` (every implementation follows GEP-713's naming), its targets its ` + "`spec.targetRef`" + ` or ` + "`spec.targetRefs`" + `; a
target's namespace is the targetRef's ` + "`namespace`" + ` when it has one, else the policy's.

The graph judges existence only where it can: for kinds it reads completely (read in this scrape, or synced in watch
mode; a kind whose CRD is not installed has no objects) and in the namespaces it reads (` + "`--namespaces`" + `,
` + "`--namespaces-denylist`" + `). Anything else is judged from status alone or gets no sample, as each family says.

| family (` + "`<route>`" + ` is httproute, grpcroute, tlsroute, tcproute, udproute) | one sample per | value and labels |
|---|---|---|
| ` + "`gatewayapi_<route>_parent_attachment`" + ` | ` + "`spec.parentRefs`" + ` entry, plus each stale ` + "`status.parents`" + ` entry | 1; ` + "`parent_*`" + ` (the reference, ` + "`parent_port`" + ` and ` + "`parent_section_name`" + ` empty when unset) and ` + "`state`" + `: **` + "`ParentNotFound`" + `** the parent (a Gateway or ListenerSet) does not exist, or has no listener of that ` + "`sectionName`" + ` (and ` + "`port`" + `, when set); this wins over any status. **` + "`Accepted`" + `** some ` + "`status.parents`" + ` entry for exactly this parentRef (group, kind, namespace, name, sectionName, port) has condition ` + "`Accepted`" + ` True. **` + "`NotAccepted`" + `** entries for it carry ` + "`Accepted`" + `, none True. **` + "`Pending`" + `** the parent exists but no entry for it carries ` + "`Accepted`" + `: no controller has acknowledged the route (entries with other conditions only, such as Kuadrant's ` + "`kuadrant.io/*Affected`" + ` ones, do not count). **` + "`Stale`" + `** a ` + "`status.parents`" + ` entry with an ` + "`Accepted`" + ` condition whose parentRef no ` + "`spec.parentRefs`" + ` entry names (labelled with that entry's parentRef). A parent of a kind the exporter does not read (a Service, for mesh), of a kind it could not read in this scrape, or in a namespace it does not read is judged from status alone, never ` + "`ParentNotFound`" + `. |
| ` + "`gatewayapi_<route>_effective_policy_info`" + ` | policy that applies to the route | 1; ` + "`policy_group`" + `, ` + "`policy_kind`" + `, ` + "`policy_namespace`" + `, ` + "`policy_name`" + `, ` + "`via`" + `: **` + "`route`" + `** it targets the route (with or without a ` + "`sectionName`" + `); **` + "`gateway`" + `** it targets, without ` + "`sectionName`" + `, a Gateway that one of the route's parentRefs names, directly or through a ListenerSet whose parentRef is that Gateway; **` + "`listener`" + `** it targets a Gateway listener that a parentRef names by ` + "`sectionName`" + `, or, for a parentRef without one, any listener of that Gateway (on the parentRef's ` + "`port`" + `, if set) whose ` + "`allowedRoutes`" + ` admit the route: its kind (` + "`allowedRoutes.kinds`" + `, or by protocol: HTTP and HTTPS carry HTTPRoute and GRPCRoute, TLS TLSRoute, TCP TCPRoute, UDP UDPRoute) and its namespace (` + "`from: All`" + `, or ` + "`Same`" + `, the default). ` + "`from: Selector`" + ` needs Namespace labels, which the exporter does not read: it counts as admitting. A policy on a Gateway's listener does not apply to routes attached through a ListenerSet; one on the ListenerSet, or on one of its listeners, does, also ` + "`via=\"listener\"`" + `. A parentRef in state ` + "`ParentNotFound`" + ` carries no policies. Every policy kind counts: Kuadrant's, BackendTLSPolicy and XBackendTrafficPolicy where they target routes, and every discovered Policy Attachment kind (Envoy Gateway's ClientTrafficPolicy, SecurityPolicy, ...). |
| ` + "`gatewayapi_<route>_policy_coverage`" + ` | route and policy kind | 1 when ` + "`effective_policy_info`" + ` has a policy of the kind for the route, or a ` + "`status.parents`" + ` entry has condition ` + "`kuadrant.io/<Kind>Affected`" + ` True (Kuadrant's kinds), else 0; ` + "`policy_group`" + `, ` + "`policy_kind`" + `. Kinds: AuthPolicy and RateLimitPolicy whenever their CRDs are installed (the RFC's "routes without an AuthPolicy" is ` + "`gatewayapi_httproute_policy_coverage{policy_kind=\"AuthPolicy\"} == 0`" + `), and every other policy kind while at least one of its policies targets a route, a Gateway or a ListenerSet, so a cluster pays only for the kinds it uses. |
| ` + "`gatewayapi_<route>_backend_ref_info`" + ` | ` + "`spec.rules[].backendRefs[]`" + ` entry | 1; ` + "`rule`" + ` (the rule's name, else its index), ` + "`backend_group`" + `, ` + "`backend_kind`" + `, ` + "`backend_namespace`" + `, ` + "`backend_name`" + `, ` + "`backend_port`" + `, ` + "`permitted`" + `: ` + "`\"true\"`" + ` when the backend is in the route's namespace, or a ReferenceGrant in the backend's namespace lists ` + "`from`" + ` {gateway.networking.k8s.io, the route's kind, its namespace} and ` + "`to`" + ` {the backend's group, kind, and name if the grant names one}; ` + "`\"false\"`" + ` otherwise; ` + "`\"unknown\"`" + ` when the grants of the backend's namespace are not read (ReferenceGrant not in the spec or not readable, or the namespace outside ` + "`--namespaces`" + `). |
| ` + "`gatewayapi_<kind>_target_resolved`" + ` (declared policy kinds), ` + "`gatewayapi_policy_target_resolved`" + ` (discovered) | target of the policy | 1 when the target exists (with a ` + "`sectionName`" + `: the Gateway or ListenerSet has that listener, the route has a rule of that name), 0 when not; the labels of the policy's ` + "`target_info`" + ` for that target (` + "`target_namespace`" + ` and ` + "`target_section_name`" + ` only when the targetRef has them), so the two join. A target of a kind the exporter does not read (a Service), could not read, or in a namespace it does not read gets no sample. |
| ` + "`gatewayapi_gateway_listener_certificate_ref_info`" + `, ` + "`gatewayapi_listenerset_listener_certificate_ref_info`" + ` | listener ` + "`tls.certificateRefs`" + ` entry | 1; ` + "`listener_name`" + `, ` + "`ref_group`" + `, ` + "`ref_kind`" + `, ` + "`ref_namespace`" + `, ` + "`ref_name`" + `, ` + "`permitted`" + ` (as for backends, from {gateway.networking.k8s.io, Gateway or ListenerSet, its namespace}). |

What the graph does not judge, and leaves to the controllers' own conditions (which the per-object families carry):
whether a Gateway's ` + "`allowedListeners`" + ` admit a ListenerSet (a route attached through a ListenerSet gets the
Gateway's policies either way); whether a listener named by ` + "`sectionName`" + ` admits the route's kind and namespace
(` + "`allowedRoutes`" + ` is applied only to choose the listeners of a parentRef without one); hostnames. A policy whose
targetRef names a rule the route does not have still applies ` + "`via=\"route\"`" + ` and its ` + "`target_resolved`" + ` is 0, which is
what to alert on. ` + "`render`" + ` has no ` + "`--namespaces`" + `: its input is the whole world, so a reference into a namespace the
input does not hold is judged missing (` + "`ParentNotFound`" + `, ` + "`permitted=\"false\"`" + `), where a scrape that does not read that
namespace says ` + "`unknown`" + ` or judges from status.

References that cannot be read (not an object, no name, a ` + "`targetRefs`" + ` that is not a list) are skipped and counted in
` + "`gateway_metrics_evaluation_errors_total{family}`" + ` of the family they are missing from; a ListenerSet whose parentRef
names anything but a Gateway leads to no Gateway. ` + "`--metric-denylist`" + ` drops any graph family; with none left, no
graph is built. A kube-state-metrics config (no ` + "`each.graph`" + ` family) builds no graph and reads nothing more.

**What it costs.** GRAPH_COST

**The spec extension.** A graph family names a relation instead of paths, and takes the resource's ` + "`labelsFromPath`" + `
only (it is rendered again, without its object, when another object changes):

` + "```yaml" + `
- name: parent_attachment
  help: "..."
  each:
    type: Gauge          # or Info
    graph: ParentAttachment   # EffectivePolicy, PolicyCoverage, BackendRefs, TargetResolved, ListenerCertificateRefs
` + "```" + `
`
