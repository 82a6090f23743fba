{{/*
An Ingress for the AWS Load Balancer Controller (className alb) or any other controller.
With alb, the load balancer sends to pod IPs, checks /readyz, listens on HTTPS only, and keeps
idle connections open for ingress.alb.idleTimeoutSeconds: the gateway's WebSockets sit idle
between price changes, and the default 60 s would cut them.
*/}}
{{- define "sportsfeed-lib.ingress" -}}
{{- if .Values.ingress.enabled }}
{{- $alb := .Values.ingress.alb }}
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: {{ include "sportsfeed-lib.fullname" . }}
  labels:
    {{- include "sportsfeed-lib.labels" . | nindent 4 }}
  {{- $annotations := dict }}
  {{- if eq .Values.ingress.className "alb" }}
  {{- $annotations = dict
    "alb.ingress.kubernetes.io/scheme" $alb.scheme
    "alb.ingress.kubernetes.io/target-type" "ip"
    "alb.ingress.kubernetes.io/listen-ports" "[{\"HTTPS\":443}]"
    "alb.ingress.kubernetes.io/certificate-arn" $alb.certificateArn
    "alb.ingress.kubernetes.io/ssl-policy" $alb.sslPolicy
    "alb.ingress.kubernetes.io/backend-protocol" "HTTP"
    "alb.ingress.kubernetes.io/healthcheck-path" "/readyz"
    "alb.ingress.kubernetes.io/load-balancer-attributes" (printf "idle_timeout.timeout_seconds=%v" $alb.idleTimeoutSeconds)
    "alb.ingress.kubernetes.io/target-group-attributes" (printf "deregistration_delay.timeout_seconds=%v" $alb.deregistrationDelaySeconds) }}
  {{- end }}
  {{- $annotations = merge (deepCopy (.Values.ingress.annotations | default dict)) $annotations }}
  {{- with $annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  {{- with .Values.ingress.className }}
  ingressClassName: {{ . }}
  {{- end }}
  rules:
    - host: {{ .Values.ingress.host | quote }}
      http:
        paths:
          - path: {{ .Values.ingress.path }}
            pathType: Prefix
            backend:
              service:
                name: {{ include "sportsfeed-lib.fullname" . }}
                port:
                  name: http
{{- end }}
{{- end }}
