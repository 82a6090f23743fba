{{/* NOTES.txt of a service chart: where the service answers and how to reach it. */}}
{{- define "sportsfeed-lib.notes" -}}
{{- $name := include "sportsfeed-lib.fullname" . -}}
{{ .Chart.Name }} {{ .Chart.AppVersion }} is installed as {{ $name }} in namespace {{ .Release.Namespace }}.

Reach it from your machine:
  kubectl -n {{ .Release.Namespace }} port-forward svc/{{ $name }} {{ .Values.port }}:{{ .Values.port }}
  curl http://127.0.0.1:{{ .Values.port }}/readyz
{{- if .Values.ingress.enabled }}

Through the load balancer: https://{{ .Values.ingress.host }}{{ .Values.ingress.path }}
  kubectl -n {{ .Release.Namespace }} get ingress {{ $name }}   # ADDRESS is the load balancer's DNS name
{{- end }}

Check it: helm test {{ .Release.Name }} -n {{ .Release.Namespace }}
{{- end }}
