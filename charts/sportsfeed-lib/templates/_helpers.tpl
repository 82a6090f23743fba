{{/*
Names and labels, as `helm create` makes them. Every template here runs with the
calling service chart's context, so .Chart is that chart (ingest, persistence, ...).
*/}}

{{- define "sportsfeed-lib.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
A fully qualified name; the umbrella chart sets fullnameOverride to the chart name, so
the Service of services/ingest is called `ingest` as the project's layout has it.
*/}}
{{- define "sportsfeed-lib.fullname" -}}
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

{{- define "sportsfeed-lib.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "sportsfeed-lib.labels" -}}
helm.sh/chart: {{ include "sportsfeed-lib.chart" . }}
{{ include "sportsfeed-lib.selectorLabels" . }}
{{- if .Chart.AppVersion }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
app.kubernetes.io/part-of: sportsfeed
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "sportsfeed-lib.selectorLabels" -}}
app.kubernetes.io/name: {{ include "sportsfeed-lib.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "sportsfeed-lib.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "sportsfeed-lib.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
An image reference from (dict "image" <image values> "registry" <fallback registry> "appVersion" <tag fallback>).
The registry is put in front of the repository unless the repository already names one
(skaffold's IMAGE_REPO_* values do). A digest pins the image whatever the tag says.
*/}}
{{- define "sportsfeed-lib.imageRef" -}}
{{- $repository := .image.repository }}
{{- $registry := .image.registry | default .registry }}
{{- $first := first (splitList "/" $repository) }}
{{- $named := or (contains "." $first) (contains ":" $first) (eq $first "localhost") }}
{{- if and $registry (not $named) }}
{{- $repository = printf "%s/%s" (trimSuffix "/" $registry) $repository }}
{{- end }}
{{- $reference := printf "%s:%s" $repository (.image.tag | default .appVersion | toString) }}
{{- if .image.digest }}
{{- $reference = printf "%s@%s" $reference .image.digest }}
{{- end }}
{{- $reference }}
{{- end }}

{{/* This chart's image: image.tag defaults to the chart's appVersion. */}}
{{- define "sportsfeed-lib.image" -}}
{{- include "sportsfeed-lib.imageRef" (dict "image" .Values.image "registry" .Values.global.imageRegistry "appVersion" .Chart.AppVersion) }}
{{- end }}
