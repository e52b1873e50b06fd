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
{{- if .Values.image.registry -}}
{{- $repo = printf "%s/%s" .Values.image.registry .Values.image.repository -}}
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
{{- range $k := list "tlsConfig" "relabelings" "metricRelabelings" }}
{{- with index $ $k }}
{{ $k }}:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}
{{- end -}}
