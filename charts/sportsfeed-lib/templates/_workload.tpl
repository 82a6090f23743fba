{{/*
The service's workload: a Deployment, or a StatefulSet where the pod's name must survive a
restart (Kafka static membership: see charts/README.md). Values are validated here, once.
*/}}
{{- define "sportsfeed-lib.workload" -}}
{{- include "sportsfeed-lib.validateValues" . }}
{{- if eq .Values.workload.kind "StatefulSet" }}
{{- include "sportsfeed-lib.statefulset" . }}
{{- else }}
{{- include "sportsfeed-lib.deployment" . }}
{{- end }}
{{- end }}

{{- define "sportsfeed-lib.deployment" -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "sportsfeed-lib.fullname" . }}
  labels:
    {{- include "sportsfeed-lib.labels" . | nindent 4 }}
spec:
  {{- if not .Values.autoscaling.enabled }}
  replicas: {{ .Values.replicaCount }}
  {{- end }}
  revisionHistoryLimit: {{ .Values.workload.revisionHistoryLimit }}
  strategy:
    type: RollingUpdate
    rollingUpdate:
      # A new pod is ready before an old one goes: capacity never drops during a rollout.
      maxSurge: 1
      maxUnavailable: 0
  selector:
    matchLabels:
      {{- include "sportsfeed-lib.selectorLabels" . | nindent 6 }}
  template:
    {{- include "sportsfeed-lib.podTemplate" . | nindent 4 }}
{{- end }}

{{- define "sportsfeed-lib.statefulset" -}}
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: {{ include "sportsfeed-lib.fullname" . }}
  labels:
    {{- include "sportsfeed-lib.labels" . | nindent 4 }}
spec:
  {{- if not .Values.autoscaling.enabled }}
  replicas: {{ .Values.replicaCount }}
  {{- end }}
  revisionHistoryLimit: {{ .Values.workload.revisionHistoryLimit }}
  serviceName: {{ include "sportsfeed-lib.fullname" . }}-pods
  # Replicas start and stop together: they share nothing but the consumer group.
  podManagementPolicy: Parallel
  updateStrategy:
    type: RollingUpdate
  selector:
    matchLabels:
      {{- include "sportsfeed-lib.selectorLabels" . | nindent 6 }}
  template:
    {{- include "sportsfeed-lib.podTemplate" . | nindent 4 }}
---
# The StatefulSet's governing Service: gives each pod a stable DNS name beside its stable pod name.
apiVersion: v1
kind: Service
metadata:
  name: {{ include "sportsfeed-lib.fullname" . }}-pods
  labels:
    {{- include "sportsfeed-lib.labels" . | nindent 4 }}
    # Not the service's own Service: the ServiceMonitor leaves it out (each pod is scraped once).
    app.kubernetes.io/component: pod-dns
spec:
  clusterIP: None
  publishNotReadyAddresses: true
  ports:
    - name: http
      port: {{ .Values.port }}
      targetPort: http
      protocol: TCP
  selector:
    {{- include "sportsfeed-lib.selectorLabels" . | nindent 4 }}
{{- end }}
