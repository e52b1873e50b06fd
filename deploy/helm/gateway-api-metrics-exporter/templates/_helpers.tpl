{{/* Chart name, truncated for DNS. */}}
{{- define "game.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Fully qualified app name. */}}
{{- define "game.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "game.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "game.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "game.selectorLabels" -}}
app.kubernetes.io/name: {{ include "game.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "game.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "game.selectorLabels" . }}
app.kubernetes.io/component: exporter
app.kubernetes.io/part-of: {{ include "game.name" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- if .Values.releaseLabel }}
release: {{ .Release.Name }}
{{- end }}
{{- with .Values.customLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "game.image" -}}
{{- $repo := .Values.image.repository -}}
{{- $registry := .Values.image.registry -}}
{{- with .Values.global }}{{ with .imageRegistry }}{{ $registry = . }}{{ end }}{{ end -}}
{{- if $registry -}}
{{- $repo = printf "%s/%s" $registry .Values.image.repository -}}
{{- end -}}
{{- if .Values.image.sha -}}
{{- printf "%s@%s" $repo .Values.image.sha -}}
{{- else -}}
{{- printf "%s:%s" $repo (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{- define "game.crsConfigMapName" -}}
{{- default (printf "%s-customresourcestate-config" (include "game.fullname" .)) .Values.customResourceState.name -}}
{{- end -}}

{{/* imagePullSecrets of the pod: the chart's, then global.imagePullSecrets
(names or {name: ...}), as in the kube-state-metrics chart. */}}
{{- define "game.imagePullSecrets" -}}
{{- $out := list -}}
{{- range .Values.imagePullSecrets }}{{ $out = append $out . }}{{ end -}}
{{- with .Values.global }}{{ range .imagePullSecrets }}{{ if kindIs "string" . }}{{ $out = append $out (dict "name" .) }}{{ else }}{{ $out = append $out . }}{{ end }}{{ end }}{{ end -}}
{{- with $out }}{{ toYaml . }}{{ end -}}
{{- end -}}

{{/* A comma-separated flag value from a string or a list. */}}
{{- define "game.csv" -}}
{{- if kindIs "slice" . }}{{ join "," . }}{{ else }}{{ . }}{{ end -}}
{{- end -}}

{{/* --namespaces: namespaces (string or list) and, with releaseNamespace,
the release namespace. */}}
{{- define "game.namespaces" -}}
{{- $ns := list -}}
{{- if kindIs "slice" .Values.namespaces }}{{ $ns = .Values.namespaces }}{{ else if .Values.namespaces }}{{ $ns = splitList "," .Values.namespaces }}{{ end -}}
{{- if .Values.releaseNamespace }}{{ $ns = append $ns .Release.Namespace }}{{ end -}}
{{- join "," (uniq $ns) -}}
{{- end -}}

{{/* One probe: path and port are the exporter's; the values give the
timings and httpGet's httpHeaders and scheme (kube-state-metrics' chart
shape). Arguments: root, probe (values), path, port. */}}
{{- define "game.probe" -}}
{{- $p := .probe -}}
{{- $hg := default dict $p.httpGet -}}
httpGet:
  path: {{ .path }}
  port: {{ .port }}
  {{- if or .root.Values.webConfig.enabled (eq (upper (default "http" $hg.scheme)) "HTTPS") }}
  scheme: HTTPS
  {{- end }}
  {{- with $hg.httpHeaders }}
  httpHeaders:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{ toYaml (omit $p "httpGet" "enabled") }}
{{- end -}}

{{/* Namespace of the ServiceMonitor / PrometheusRule. */}}
{{- define "game.monitorNamespace" -}}
{{- default .Release.Namespace .Values.prometheus.monitor.namespace -}}
{{- end -}}

{{/* ServiceMonitor endpoint settings: only the ones that are set. */}}
{{- define "game.endpointSettings" -}}
honorLabels: {{ .honorLabels }}
{{- range $k := list "interval" "scrapeTimeout" "proxyUrl" "scheme" "bearerTokenFile" }}
{{- with index $ $k }}
{{ $k }}: {{ . }}
{{- end }}
{{- end }}
{{- range $k := list "enableHttp2" "followRedirects" }}
{{- $v := index $ $k }}
{{- if kindIs "bool" $v }}
{{ $k }}: {{ $v }}
{{- end }}
{{- end }}
{{- range $k := list "tlsConfig" "bearerTokenSecret" "relabelings" "metricRelabelings" }}
{{- with index $ $k }}
{{ $k }}:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}
{{- end -}}
