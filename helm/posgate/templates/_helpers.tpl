{{/* Chart name, truncated to 63 characters. */}}
{{- define "posgate.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified app name. */}}
{{- define "posgate.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "posgate.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Standard labels (app.kubernetes.io/* and helm.sh/chart). */}}
{{- define "posgate.labels" -}}
helm.sh/chart: {{ include "posgate.chart" . }}
{{ include "posgate.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: posgate
{{- end }}

{{/* Selector labels: stable across upgrades. */}}
{{- define "posgate.selectorLabels" -}}
app.kubernetes.io/name: {{ include "posgate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "posgate.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "posgate.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The image reference: digest wins over tag; tag defaults to appVersion. */}}
{{- define "posgate.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* The existing Secret; rendering fails without it (secrets are never chart values). */}}
{{- define "posgate.secretName" -}}
{{- required "secrets.existingSecret is required: create a Secret with the keys database-url, admin-token and cards-hmac-key (see README.md) and name it here" .Values.secrets.existingSecret }}
{{- end }}

{{/* Environment variables from the existing Secret, shared by the gateway and the migration Job. */}}
{{- define "posgate.secretEnv" -}}
{{- $secret := include "posgate.secretName" . -}}
- name: POSGATE_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ required "secrets.databaseUrlKey is required" .Values.secrets.databaseUrlKey }}
- name: POSGATE_ADMIN_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ required "secrets.adminTokenKey is required" .Values.secrets.adminTokenKey }}
- name: POSGATE_CARDS_HMAC_KEY
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ required "secrets.cardsHmacKeyKey is required" .Values.secrets.cardsHmacKeyKey }}
{{- if .Values.secrets.mqttPasswordKey }}
- name: POSGATE_MQTT_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ .Values.secrets.mqttPasswordKey }}
      optional: true
{{- end }}
{{- if .Values.secrets.amqpUrlKey }}
- name: POSGATE_AMQP_URL
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ .Values.secrets.amqpUrlKey }}
      optional: true
{{- end }}
{{- end }}

{{/* The TOML file rendered from .Values.config: [section] tables of key = value. Not
toToml: it writes every number as a float (16.0), which posgate's integer settings refuse. */}}
{{- define "posgate.configToml" -}}
{{- range $section, $settings := .Values.config }}
{{- if not (kindIs "map" $settings) }}
{{- fail (printf "config.%s must be a section (a map of settings)" $section) }}
{{- end }}
[{{ $section }}]
{{- range $key, $value := $settings }}
{{ $key }} = {{ include "posgate.tomlValue" $value }}
{{- end }}
{{- end }}
{{- end }}

{{/* One TOML value: integers without a fraction, strings and lists as JSON (valid TOML). */}}
{{- define "posgate.tomlValue" -}}
{{- if or (kindIs "float64" .) (kindIs "int64" .) (kindIs "int" .) }}
{{- if eq (float64 (int64 .)) (float64 .) }}{{ int64 . }}{{ else }}{{ . }}{{ end }}
{{- else if kindIs "bool" . }}{{ . }}
{{- else if or (kindIs "string" .) (kindIs "slice" .) }}{{ toJson . }}
{{- else }}{{ fail (printf "config values must be numbers, booleans, strings or lists, not %s" (kindOf .)) }}
{{- end }}
{{- end }}

{{/* Fails rendering when the grace period does not cover the preStop delay plus the drain. */}}
{{- define "posgate.checkGrace" -}}
{{- $needed := add .Values.preStopSleepSeconds .Values.shutdownTimeoutSeconds }}
{{- if le (int .Values.terminationGracePeriodSeconds) (int $needed) }}
{{- fail (printf "terminationGracePeriodSeconds (%v) must exceed preStopSleepSeconds + shutdownTimeoutSeconds (%v)" .Values.terminationGracePeriodSeconds $needed) }}
{{- end }}
{{- end }}

