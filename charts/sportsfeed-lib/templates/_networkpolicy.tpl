{{/*
In: only the service port, only from the peers values name. Out: DNS, and the backends the
service's code talks to (connectsTo), by port: Kafka's ports come from the bootstrap list,
DynamoDB's from its endpoint (HTTPS on AWS, which also carries IRSA's calls to STS).
*/}}
{{- define "sportsfeed-lib.networkPolicy" -}}
{{- if .Values.networkPolicy.enabled }}
{{- $global := .Values.global }}
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ include "sportsfeed-lib.fullname" . }}
  labels:
    {{- include "sportsfeed-lib.labels" . | nindent 4 }}
spec:
  podSelector:
    matchLabels:
      {{- include "sportsfeed-lib.selectorLabels" . | nindent 6 }}
  policyTypes:
    - Ingress
    - Egress
  ingress:
    - ports:
        - port: http
          protocol: TCP
      {{- with .Values.networkPolicy.ingressFrom }}
      from:
        {{- toYaml . | nindent 8 }}
      {{- end }}
    {{- with .Values.global.monitoring.scrapeFrom }}
    # The metrics scraper (a Prometheus in another namespace): /metrics is on the service port.
    - ports:
        - port: http
          protocol: TCP
      from:
        {{- toYaml . | nindent 8 }}
    {{- end }}
  egress:
    - ports:
        - port: 53
          protocol: UDP
        - port: 53
          protocol: TCP
    {{- if .Values.connectsTo.kafka }}
    - ports:
        {{- range include "sportsfeed-lib.kafkaPorts" . | splitList " " }}
        - port: {{ atoi . }}
          protocol: TCP
        {{- end }}
    {{- end }}
    {{- if eq $global.kafka.sasl.mechanism "OAUTHBEARER" }}
    # MSK IAM: the pod's IRSA credentials come from STS over HTTPS.
    - ports:
        - port: 443
          protocol: TCP
    {{- end }}
    {{- if .Values.connectsTo.redis }}
    - ports:
        - port: {{ $global.redis.port }}
          protocol: TCP
    {{- end }}
    {{- if .Values.connectsTo.dynamodb }}
    - ports:
        - port: {{ include "sportsfeed-lib.dynamodbPort" . }}
          protocol: TCP
    {{- end }}
    {{- with .Values.networkPolicy.extraEgress }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- end }}
{{- end }}

{{/* The distinct ports of global.kafka.bootstrapServers ("b-1.msk:9094,b-2.msk:9094" gives "9094"). */}}
{{- define "sportsfeed-lib.kafkaPorts" -}}
{{- $ports := list }}
{{- range splitList "," .Values.global.kafka.bootstrapServers }}
{{- $ports = append $ports (last (splitList ":" (trim .))) }}
{{- end }}
{{- $ports | uniq | join " " }}
{{- end }}

{{/* DynamoDB's port: the endpoint's (DynamoDB Local), else HTTPS. */}}
{{- define "sportsfeed-lib.dynamodbPort" -}}
{{- $endpoint := .Values.global.dynamodb.endpoint }}
{{- if $endpoint }}
{{- $url := urlParse $endpoint }}
{{- $hostAndPort := splitList ":" $url.host }}
{{- if gt (len $hostAndPort) 1 }}{{ last $hostAndPort }}{{ else if eq $url.scheme "http" }}80{{ else }}443{{ end }}
{{- else -}}
443
{{- end }}
{{- end }}
