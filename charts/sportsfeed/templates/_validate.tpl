{{/* Checks across the umbrella's keys; each service chart checks its own values. */}}
{{- define "sportsfeed.validateValues" -}}
{{- $errors := list }}
{{- if .Values.devSecrets.enabled }}
{{- range $service := list "ingest" "persistence" "stream-processor" "push-gateway" }}
{{- $values := index $.Values $service }}
{{- if and $values.enabled $values.ingress.enabled }}
{{- $errors = append $errors (printf "devSecrets.enabled makes throwaway credentials for a local cluster, but %s.ingress.enabled publishes %s: create real Secrets instead (docs/kubernetes-eks.md)" $service $service) }}
{{- end }}
{{- end }}
{{- end }}
{{- if and .Values.tests.enabled (not (and .Values.ingest.enabled .Values.persistence.enabled)) }}
{{- $errors = append $errors "tests.enabled: the test posts to ingest and reads from persistence; enable both or set tests.enabled to false" }}
{{- end }}
{{- if $errors }}
{{- fail (printf "\nsportsfeed values are not valid:\n  - %s" (join "\n  - " $errors)) }}
{{- end }}
{{- end }}
