{{/* The release's name for its objects, at most 63 characters. */}}
{{- define "rater.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "rater.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "rater.selector" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* The Secret the secret files come from: the one named, or the one the chart makes. */}}
{{- define "rater.secretName" -}}
{{- default (printf "%s-secrets" (include "rater.fullname" .)) .Values.secrets.existingSecret -}}
{{- end -}}

{{/* The keys of that Secret, sorted. */}}
{{- define "rater.secretKeys" -}}
{{- if .Values.secrets.existingSecret -}}
{{- .Values.secrets.keys | sortAlpha | join "," -}}
{{- else -}}
{{- keys .Values.secrets.values | sortAlpha | join "," -}}
{{- end -}}
{{- end -}}

{{/* The settings every role gets, each secret as its <NAME>_FILE. */}}
{{- define "rater.env" -}}
{{- range $name, $value := .Values.config }}
{{- if ne $name "RATER_ROLES" }}
{{- if ne (toString $value) "" }}
- name: {{ $name }}
  value: {{ toString $value | quote }}
{{- end }}
{{- end }}
{{- end }}
{{- range $key := splitList "," (include "rater.secretKeys" .) }}
{{- if $key }}
- name: {{ $key }}_FILE
  value: /run/secrets/rater/{{ $key }}
{{- end }}
{{- end }}
{{- end -}}
