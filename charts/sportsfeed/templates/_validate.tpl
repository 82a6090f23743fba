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
{{- $gateway := index .Values "push-gateway" }}
{{- $persistence := .Values.persistence }}
{{- if and $gateway.enabled $persistence.enabled }}
{{- $gatewayAuth := eq (toString $gateway.env.AUTH_ENABLED | lower) "true" }}
{{- $persistenceAuth := eq (toString $persistence.env.AUTH_ENABLED | lower) "true" }}
{{- if and $gatewayAuth (not $persistenceAuth) }}
{{- $errors = append $errors "push-gateway.env.AUTH_ENABLED is true but persistence.env.AUTH_ENABLED is not: the read API would answer without a token; turn it on in both (with the same secretEnv.JWT_SECRET)" }}
{{- end }}
{{- if and $gatewayAuth $persistenceAuth }}
{{- $gatewayKey := $gateway.secretEnv.JWT_SECRET | default dict }}
{{- $persistenceKey := $persistence.secretEnv.JWT_SECRET | default dict }}
{{- /* A missing reference is each chart's own error (env.AUTH_ENABLED is true but ...). */}}
{{- if and $gatewayKey $persistenceKey (or (ne (toString $gatewayKey.secret) (toString $persistenceKey.secret)) (ne (toString $gatewayKey.key) (toString $persistenceKey.key))) }}
{{- $errors = append $errors "persistence.secretEnv.JWT_SECRET must name the same Secret key as push-gateway.secretEnv.JWT_SECRET: the gateway's /api forwards the analyst's token to the read API, which must accept the same tokens" }}
{{- end }}
{{- if ne (toString ($gateway.env.JWT_AUDIENCE | default "")) (toString ($persistence.env.JWT_AUDIENCE | default "")) }}
{{- $errors = append $errors "persistence.env.JWT_AUDIENCE differs from push-gateway.env.JWT_AUDIENCE: the read API would refuse the tokens the gateway forwards" }}
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
