{{/*
A service's environment: the settings every service shares (from .Values.global), then the
chart's own `env`, all non-secret, in one ConfigMap; secrets only as secretKeyRef to
existing Secrets; the pod's name from the downward API where a setting wants it.
*/}}

{{/* The names a secret goes by: never accepted as a plain value (validateValues enforces it). */}}
{{- define "sportsfeed-lib.secretNames" -}}
API_KEYS ADMIN_TOKEN JWT_SECRET REDIS_URL KAFKA_SASL_PASSWORD AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN
{{- end }}

{{/* The ConfigMap's data as YAML: shared settings first, so a chart's `env` can override them. */}}
{{- define "sportsfeed-lib.configData" -}}
{{- $global := .Values.global }}
{{- $data := dict
  "KAFKA_BOOTSTRAP_SERVERS" $global.kafka.bootstrapServers
  "KAFKA_SECURITY_PROTOCOL" $global.kafka.securityProtocol
  "TOPIC_REPLICATION_FACTOR" (toString $global.kafka.replicationFactor)
  "AWS_REGION" $global.aws.region
  "LOG_LEVEL" $global.logLevel
  "PORT" (toString .Values.port) }}
{{- with $global.kafka.sasl.mechanism }}
{{- $_ := set $data "KAFKA_SASL_MECHANISM" . }}
{{- end }}
{{- if .Values.connectsTo.dynamodb }}
{{- $_ := set $data "DYNAMODB_TABLE" $global.dynamodb.table }}
{{- with $global.dynamodb.endpoint }}
{{- $_ := set $data "DYNAMODB_ENDPOINT" . }}
{{- end }}
{{- end }}
{{- if and .Values.connectsTo.redis (not $global.redis.existingSecret) }}
{{- $_ := set $data "REDIS_URL" $global.redis.url }}
{{- end }}
{{- with .Values.dataDir.path }}
{{- $_ := set $data "DATA_DIR" . }}
{{- end }}
{{- range $name, $value := .Values.env }}
{{- if not (kindIs "invalid" $value) }}{{/* null unsets a setting an earlier values file made */}}
{{- $_ := set $data $name (toString $value) }}
{{- end }}
{{- end }}
{{- toYaml $data }}
{{- end }}

{{/* Env entries that cannot live in the ConfigMap: secret references and the pod's own name. */}}
{{- define "sportsfeed-lib.env" -}}
{{- range .Values.podNameEnv }}
- name: {{ . }}
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
{{- end }}
{{- include "sportsfeed-lib.kafkaSaslEnv" .Values.global.kafka.sasl }}
{{- if and .Values.connectsTo.redis .Values.global.redis.existingSecret }}
- name: REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.global.redis.existingSecret }}
      key: {{ .Values.global.redis.existingSecretKey }}
{{- end }}
{{- range $name, $ref := .Values.secretEnv }}
{{- if $ref }}
- name: {{ $name }}
  valueFrom:
    secretKeyRef:
      name: {{ $ref.secret }}
      key: {{ $ref.key }}
{{- end }}
{{- end }}
{{- end }}

{{/* SCRAM's user and password, from global.kafka.sasl's Secret (given the sasl values); nothing otherwise. */}}
{{- define "sportsfeed-lib.kafkaSaslEnv" -}}
{{- if eq .mechanism "SCRAM-SHA-512" }}
{{- range $name := list "KAFKA_SASL_USERNAME" "KAFKA_SASL_PASSWORD" }}
- name: {{ $name }}
  valueFrom:
    secretKeyRef:
      name: {{ $.existingSecret }}
      key: {{ $name }}
{{- end }}
{{- end }}
{{- end }}
